// `npm run faces` on real frames (one face, three faces, none, and a 1/20-height face in a padded
// 1080p frame) with both models, its JSON contract, the human summary and one-line errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { extractFrame, mediaDir, mediaSkipReason, repoRoot } from './helpers/shared-media.ts';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', path.join(repoRoot, 'models', 'face-cli.ts')];

interface FacesJson {
  width: number;
  height: number;
  detections: Array<{ x: number; y: number; width: number; height: number; score: number; keypoints: number[][] }>;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], { cwd: repoRoot, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function faces(args: string[]): Promise<FacesJson> {
  const r = await cli([...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as FacesJson;
  assert.deepEqual(Object.keys(out), ['width', 'height', 'detections']);
  for (const d of out.detections) {
    assert.deepEqual(Object.keys(d), ['x', 'y', 'width', 'height', 'score', 'keypoints']);
    assert.equal(d.keypoints.length, 6);
    assert.ok(d.score >= 0 && d.score <= 1);
    assert.ok(d.x > -d.width / 2 && d.y > -d.height / 2 && d.x + d.width / 2 < out.width && d.y + d.height / 2 < out.height, `box centre inside the image: ${JSON.stringify(d)}`);
  }
  return out;
}

describe('faces CLI', () => {
  let dir = '';
  const frames = { headPose: '', demographics: '', cars: '', small1080p: '' };
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'face-cli-'));
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'models', 'build.ts')], { cwd: repoRoot, timeout: 120_000 });
    if (mediaSkipReason) return;
    frames.headPose = await extractFrame('head-pose-face-detection-female.gif', 0.5, path.join(dir, 'head-pose.png'));
    frames.demographics = await extractFrame('face-demographics-walking-and-pause.gif', 2, path.join(dir, 'demographics.png'));
    frames.cars = await extractFrame('car-detection.mp4', 16, path.join(dir, 'cars.png'));
    // The 480x270 head-pose frame shrunk by 54/70 (face box 70 -> 54 px = 1/20 of 1080) on a grey 1920x1080 canvas.
    frames.small1080p = path.join(dir, 'small-face-1080p.png');
    await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', path.join(mediaDir, 'head-pose-face-detection-female.gif'), '-ss', '0.5', '-frames:v', '1',
      '-vf', 'scale=370:208:flags=lanczos,pad=1920:1080:775:436:color=0x808080', '-pix_fmt', 'rgb24', frames.small1080p], { timeout: 60_000 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const model of ['short', 'full']) {
    test(`${model}: one face in head-pose-face-detection-female.gif, in px of the 480x270 frame`, { skip: mediaSkipReason }, async (t) => {
      const out = await faces([frames.headPose, '--model', model]);
      assert.deepEqual([out.width, out.height], [480, 270]);
      assert.equal(out.detections.length, 1, JSON.stringify(out.detections));
      const d = out.detections[0]!;
      t.diagnostic(`box ${d.width}x${d.height} px at (${d.x}, ${d.y}), score ${d.score}`);
      // head and shoulders, face in the upper middle: about 70 px high
      assert.ok(d.height > 50 && d.height < 100, `height ${d.height}`);
      assert.ok(d.x + d.width / 2 > 160 && d.x + d.width / 2 < 320 && d.y + d.height / 2 < 160, `centre (${d.x + d.width / 2}, ${d.y + d.height / 2})`);
      const [rightEye, leftEye, nose] = d.keypoints as [number[], number[], number[]];
      assert.ok(rightEye[1]! < nose[1]! && leftEye[1]! < nose[1]!, 'eyes above the nose tip');
    });
  }

  test('full: the three people of face-demographics-walking-and-pause.gif, left to right', { skip: mediaSkipReason }, async () => {
    const out = await faces([frames.demographics, '--model', 'full']);
    assert.equal(out.detections.length, 3, JSON.stringify(out.detections));
    const xs = out.detections.map((d) => d.x + d.width / 2).sort((a, b) => a - b);
    assert.ok(xs[0]! < 160 && xs[1]! > 160 && xs[1]! < 320 && xs[2]! > 320, `centres ${xs}`);
  });

  test('short: faces of 1/5 of the frame height need tiles (none without, all three with --tiles auto)', { skip: mediaSkipReason }, async () => {
    assert.ok((await faces([frames.demographics, '--model', 'short'])).detections.length < 3);
    assert.equal((await faces([frames.demographics, '--model', 'short', '--tiles', 'auto'])).detections.length, 3);
  });

  test('no face in a car-detection.mp4 frame with either model, tiles on', { skip: mediaSkipReason }, async () => {
    for (const model of ['short', 'full']) assert.deepEqual((await faces([frames.cars, '--model', model, '--tiles', 'auto'])).detections, [], model);
  });

  test('full at 1080p: a face of 1/20 of the frame height is missed by the whole frame and found with --tiles auto', { skip: mediaSkipReason }, async () => {
    assert.equal((await faces([frames.small1080p, '--model', 'full'])).detections.length, 0);
    const tiled = await faces([frames.small1080p, '--model', 'full', '--tiles', 'auto']);
    assert.deepEqual([tiled.width, tiled.height], [1920, 1080]);
    assert.equal(tiled.detections.length, 1, JSON.stringify(tiled.detections));
    const d = tiled.detections[0]!;
    // where the shrunk face was pasted: face centre in the 480x270 frame (~205, ~110) x 54/70 + (775, 436)
    assert.ok(Math.abs(d.x + d.width / 2 - (775 + 205 * (54 / 70))) < 20 && Math.abs(d.y + d.height / 2 - (436 + 110 * (54 / 70))) < 20 && Math.abs(d.height - 54) < 15, JSON.stringify(d));
  });

  test('--min-score above the face score leaves nothing; the human summary counts faces', { skip: mediaSkipReason }, async () => {
    assert.deepEqual((await faces([frames.headPose, '--min-score', '0.99'])).detections, []);
    const r = await cli([frames.headPose, '--model', 'full']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /480x270 px, 1 face \(full range, tiles off, \d+ ms\)\n {2}1\. score 0\.\d\d {2}box \d+x\d+ px at \(\d+, \d+\)\n$/);
  });

  const failures: Array<{ name: string; args: (d: string) => string[]; expect: RegExp }> = [
    { name: 'missing image', args: (d) => [path.join(d, 'nope.png')], expect: /^faces: cannot read image '.*nope\.png'/ },
    { name: 'not an image', args: (d) => [path.join(d, 'text.png'), '--json'], expect: /^faces: cannot read image/ },
    { name: 'no image argument', args: () => ['--json'], expect: /missing required argument/ },
    { name: 'unknown model', args: (d) => [path.join(d, 'text.png'), '--model', 'huge'], expect: /--model must be short or full/ },
    { name: 'score out of range', args: (d) => [path.join(d, 'text.png'), '--min-score', '1.5'], expect: /0\.\.1/ },
    { name: 'unknown tiles mode', args: (d) => [path.join(d, 'text.png'), '--tiles', 'many'], expect: /--tiles must be off or auto/ },
  ];
  for (const f of failures) {
    test(`error: ${f.name} -> exit 2 with one line on stderr`, async () => {
      await writeFile(path.join(dir, 'text.png'), 'this is not an image\n');
      const r = await cli(f.args(dir));
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
      assert.match(lines[0]!, f.expect);
    });
  }
});
