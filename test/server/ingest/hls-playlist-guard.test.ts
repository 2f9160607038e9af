import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentChecker, TS_PACKET_BYTES } from '../../../server/ingest/hls-segment-check.ts';
import { PlaylistServer } from '../../../server/ingest/hls-playlist-guard.ts';

const dir = mkdtempSync(join(tmpdir(), 'hls-guard-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** packets makes `n` MPEG-TS packets (sync byte first, the rest filler). */
function packets(n: number): Buffer {
  const b = Buffer.alloc(n * TS_PACKET_BYTES, 0xff);
  for (let i = 0; i < n; i++) b[i * TS_PACKET_BYTES] = 0x47;
  return b;
}

const playlist = (uris: string[]) => ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:7',
  ...uris.flatMap((u) => ['#EXTINF:2.000000,', u]), ''].join('\n');

test('segments: whole, empty, cut off between or inside packets, missing, not MPEG-TS', async () => {
  writeFileSync(join(dir, 'whole.ts'), packets(10));
  writeFileSync(join(dir, 'empty.ts'), Buffer.alloc(0));
  writeFileSync(join(dir, 'cut.ts'), packets(30).subarray(0, 4096));
  const lastPacketBroken = packets(10); lastPacketBroken[9 * TS_PACKET_BYTES] = 0;
  writeFileSync(join(dir, 'zeroed.ts'), lastPacketBroken);
  const c = new SegmentChecker();
  assert.deepEqual(await c.check(join(dir, 'whole.ts')), { ok: true, bytes: 1880 });
  assert.deepEqual(await c.check(join(dir, 'empty.ts')), { ok: false, bytes: 0, reason: 'empty' });
  assert.deepEqual(await c.check(join(dir, 'cut.ts')), { ok: false, bytes: 4096, reason: 'truncated' });
  assert.deepEqual(await c.check(join(dir, 'zeroed.ts')), { ok: false, bytes: 1880, reason: 'truncated' });
  assert.deepEqual(await c.check(join(dir, 'none.ts')), { ok: false, bytes: 0, reason: 'missing' });
  // A verdict is redone when the file changes.
  writeFileSync(join(dir, 'empty.ts'), packets(3));
  assert.equal((await c.check(join(dir, 'empty.ts'))).ok, true);
});

test('the served playlist marks broken segments as gaps and keeps their places; an emptied playlist is served as last read whole', async () => {
  writeFileSync(join(dir, 'segment-7.ts'), packets(5));
  writeFileSync(join(dir, 'segment-8.ts'), Buffer.alloc(0));
  writeFileSync(join(dir, 'segment-9.ts'), packets(5).subarray(0, 700));
  writeFileSync(join(dir, 'segment-10.ts'), packets(5));
  const path = join(dir, 'index.m3u8');
  const text = playlist(['segment-7.ts', 'segment-8.ts', 'segment-9.ts', 'segment-10.ts']);
  writeFileSync(path, text);
  const server = new PlaylistServer(new SegmentChecker());
  const served = (await server.read(path))!;
  assert.deepEqual(served.gaps.map((g) => g.uri), ['segment-8.ts', 'segment-9.ts']);
  const lines = served.text.split('\n');
  assert.deepEqual(lines.filter((l) => l.endsWith('.ts')), ['segment-7.ts', 'segment-8.ts', 'segment-9.ts', 'segment-10.ts'], 'every segment keeps its place');
  for (const uri of ['segment-8.ts', 'segment-9.ts']) assert.equal(lines[lines.indexOf(uri) - 1], '#EXT-X-GAP', `${uri} marked`);
  for (const uri of ['segment-7.ts', 'segment-10.ts']) assert.notEqual(lines[lines.indexOf(uri) - 1], '#EXT-X-GAP', `${uri} not marked`);
  assert.ok(lines.includes('#EXT-X-MEDIA-SEQUENCE:7'));

  writeFileSync(path, '');
  assert.equal((await server.read(path))!.text, served.text, 'emptied: the last whole one');
  writeFileSync(path, text.slice(0, 60));
  assert.equal((await server.read(path))!.text, served.text, 'cut off: the last whole one');
  rmSync(path);
  assert.equal(await server.read(path), undefined, 'removed: none');
  writeFileSync(path, '');
  assert.equal(await server.read(path), undefined, 'empty and never whole: none');
});
