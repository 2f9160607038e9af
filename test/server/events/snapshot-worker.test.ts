import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { cropRegion, i420ToRgb } from '../../../server/events/snapshot-worker.ts';
import { SnapshotPool } from '../../../server/events/snapshot-pool.ts';

/** i420 makes a w x h frame of one colour (limited-range Y, U, V). */
function i420(w: number, h: number, y: number, u: number, v: number): Uint8Array {
  const f = new Uint8Array((w * h * 3) / 2);
  f.fill(y, 0, w * h);
  f.fill(u, w * h, w * h + (w * h) / 4);
  f.fill(v, w * h + (w * h) / 4);
  return f;
}

describe('snapshot worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snapshots-'));
  const pool = new SnapshotPool();
  after(async () => { await pool.close(); rmSync(dir, { recursive: true, force: true }); });

  it('converts BT.601 limited-range I420 to RGB, saturating instead of wrapping', () => {
    const cases: [string, [number, number, number], [number, number, number]][] = [
      ['black', [16, 128, 128], [0, 0, 0]],
      ['white', [235, 128, 128], [255, 255, 255]],
      ['red', [81, 90, 240], [255, 0, 0]],
      ['below black', [0, 128, 128], [0, 0, 0]],
    ];
    for (const [name, yuv, rgb] of cases) {
      const out = i420ToRgb(i420(4, 4, ...yuv), 4, 4, { x: 0, y: 0, width: 4, height: 4 });
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(out[c]! - rgb[c]!) <= 2, `${name}: ${[...out.slice(0, 3)]} vs ${rgb}`);
    }
  });

  it('clamps crops to the frame on even px', () => {
    const cases: [Parameters<typeof cropRegion>[0], ReturnType<typeof cropRegion>][] = [
      [undefined, { x: 0, y: 0, width: 64, height: 48 }],
      [{ x: 3, y: 5, width: 10, height: 10 }, { x: 2, y: 4, width: 12, height: 12 }],
      [{ x: -10, y: -10, width: 30, height: 30 }, { x: 0, y: 0, width: 20, height: 20 }],
      [{ x: 60, y: 40, width: 30, height: 30 }, { x: 60, y: 40, width: 4, height: 8 }],
    ];
    for (const [box, want] of cases) assert.deepEqual(cropRegion(box, 64, 48), want);
  });

  it('encodes on its worker thread: a JPEG of the frame (or crop) size, written atomically', async () => {
    const path = join(dir, 'cam', '2025-01-02', 'x.jpg');
    const written = await pool.encode({ yuv: i420(64, 48, 81, 90, 240).buffer as ArrayBuffer, width: 64, height: 48, quality: 80, path });
    const file = readFileSync(path);
    assert.equal(written.bytes, file.byteLength);
    const meta = await sharp(file).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 64, 48]);
    const { dominant } = await sharp(file).stats();
    assert.ok(dominant.r > 200 && dominant.g < 60 && dominant.b < 60, JSON.stringify(dominant));
    assert.deepEqual(readdirSync(join(dir, 'cam', '2025-01-02')), ['x.jpg'], 'no temp file left');
    const cropped = await pool.encode({ yuv: i420(64, 48, 16, 128, 128).buffer as ArrayBuffer, width: 64, height: 48, quality: 80, crop: { x: 10, y: 10, width: 20, height: 16 } });
    assert.deepEqual([cropped.width, cropped.height], [20, 16]);
    assert.deepEqual([(await sharp(Buffer.from(cropped.jpeg!)).metadata()).width], [20]);
  });

  it('a file that can not be written: resolves with the error code and the JPEG, which a later task writes as it is', async () => {
    const blocker = join(dir, 'file');
    await pool.encode({ yuv: i420(8, 8, 16, 128, 128).buffer as ArrayBuffer, width: 8, height: 8, quality: 80, path: blocker });
    const failed = await pool.encode({ yuv: i420(16, 8, 81, 90, 240).buffer as ArrayBuffer, width: 16, height: 8, quality: 80, path: join(blocker, 'x.jpg') });
    assert.match(failed.writeError?.code ?? '', /^(EEXIST|ENOTDIR)$/);
    assert.ok(failed.writeError!.message);
    assert.equal(failed.jpeg?.byteLength, failed.bytes);
    assert.deepEqual([failed.width, failed.height], [16, 8]);
    const path = join(dir, 'retry', 'x.jpg');
    const retried = await pool.encode({ jpeg: failed.jpeg, width: failed.width, height: failed.height, quality: 80, path });
    assert.equal(retried.writeError, undefined);
    assert.equal(retried.bytes, failed.bytes);
    assert.deepEqual(readFileSync(path), Buffer.from(failed.jpeg!));
    const meta = await sharp(path).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 16, 8]);
  });

  it('rejects a task with neither a frame nor a JPEG', async () => {
    await assert.rejects(pool.encode({ width: 8, height: 8, quality: 80 }), /needs a frame/);
  });
});
