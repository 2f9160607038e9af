// The still-image CLI writes a grayscale mask at the input size, a composite, and fails in one line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { extractFrame, mediaSkipReason, repoRoot } from './helpers/shared-media.ts';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', path.join(repoRoot, 'models', 'segment-cli.ts')];

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], { cwd: repoRoot, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('segment CLI', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'segment-cli-'));
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'models', 'build.ts')], { cwd: repoRoot, timeout: 120_000 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes an 8-bit grayscale mask at the input resolution and a composite', { skip: mediaSkipReason }, async () => {
    const frame = await extractFrame('sister.mkv', 0.5, path.join(dir, 'sister.png'));
    const mask = path.join(dir, 'mask.png');
    const out = path.join(dir, 'out.png');
    const r = await cli([frame, '--mask', mask, '--out', out, '--background', '00ff00']);
    assert.equal(r.code, 0, r.stderr);
    const meta = await sharp(mask).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.depth], ['png', 640, 480, 1, 'uchar']);
    const { data } = await sharp(mask).raw().toBuffer({ resolveWithObject: true });
    const person = data.filter((v) => v > 127).length / data.length;
    assert.ok(person > 0.1 && person < 0.6, `person area ${person}`);
    const composite = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([composite.info.width, composite.info.height, composite.info.channels], [640, 480, 3]);
    // The top-left corner is office background: it must now be the chosen green.
    assert.deepEqual([...composite.data.subarray(0, 3)], [0, 255, 0]);
  });

  test('landscape model on a JPEG input', { skip: mediaSkipReason }, async () => {
    const frame = await extractFrame('again.mkv', 1.2, path.join(dir, 'again.jpg'));
    const mask = path.join(dir, 'again-mask.png');
    const r = await cli([frame, '--mask', mask, '--model', 'landscape']);
    assert.equal(r.code, 0, r.stderr);
    const meta = await sharp(mask).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [640, 480, 1]);
  });

  const failures: Array<{ name: string; args: (d: string) => string[]; expect: RegExp }> = [
    { name: 'missing input file', args: (d) => [path.join(d, 'nope.png'), '--mask', path.join(d, 'm.png')], expect: /cannot read image/ },
    { name: 'not an image', args: (d) => [path.join(d, 'text.png'), '--mask', path.join(d, 'm.png')], expect: /cannot read image/ },
    { name: 'no --mask', args: (d) => [path.join(d, 'text.png')], expect: /--mask/ },
    { name: 'unknown model', args: (d) => [path.join(d, 'text.png'), '--mask', path.join(d, 'm.png'), '--model', 'huge'], expect: /--model/ },
    { name: 'bad colour', args: (d) => [path.join(d, 'text.png'), '--mask', path.join(d, 'm.png'), '--background', 'red'], expect: /colour/ },
  ];
  for (const f of failures) {
    test(`error: ${f.name} -> exit 1 with one line on stderr`, async () => {
      await writeFile(path.join(dir, 'text.png'), 'this is not an image\n');
      const r = await cli(f.args(dir));
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
      assert.match(lines[0]!, f.expect);
    });
  }
});
