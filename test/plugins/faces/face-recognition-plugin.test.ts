/**
 * Recognition in the faces plugin on real frames, through the plugin test host: sister.mkv's young
 * man (enrolled from one JPEG frame of his clip at 1 s, by the enrolment worker) and again.mkv's
 * man (a stranger, enrolled nowhere) side by side, 1280x480, frames 0.5-2.5 s at 10 fps. With
 * `anonymise: unknown` the enrolled face must come out in the clear and labelled, the stranger's
 * never (the plugin's own detector at MediaPipe's threshold finds no face on his half, on any
 * frame, from the first), and nobody is shown before their track is settled. Also: the gallery
 * changing under a live track (deleted: hidden again at once), no gallery (everyone hidden and
 * unknown), recognition off (no labels), and `mark` writing names.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import faces from '../../../plugins/faces/index.ts';
import type { FacesState } from '../../../plugins/faces/faces-worker.ts';
import type { FacesOptions } from '../../../plugins/faces/faces-options.ts';
import type { FaceGalleryMeta, SharedData, SharedDatum } from '../../../plugins/plugin-api.ts';
import { createPluginTestHost, loadRgbImage, type RgbImage } from '../../../plugins/plugin-test-host.ts';
import enrolImage, { closeModels } from '../../../server/people/enrol-worker.ts';
import { decodeSharedBlob, encodeSharedBlob } from '../../../server/pipeline/plugin-shared-data.ts';
import { mediaFile, mediaSkip } from '../../helpers/e2e-media.ts';

const WIDTH = 1280;
const HALF = 640;
let work: string;
const frames: RgbImage[] = [];
let gallery: SharedDatum<FaceGalleryMeta>;

/** galleryOf builds the shared datum the server's gallery publisher would publish. */
function galleryOf(version: number, people: { id: string; name: string }[], references: { owner: number; embedding: Float32Array }[]): SharedDatum<FaceGalleryMeta> {
  const data = new Float32Array(references.length * 128);
  references.forEach((r, i) => data.set(r.embedding, i * 128));
  return decodeSharedBlob<FaceGalleryMeta>(encodeSharedBlob(version, { dims: 128, people, owners: references.map((r) => r.owner) }, data));
}

before(async () => {
  if (mediaSkip) return;
  work = mkdtempSync(join(tmpdir(), 'face-recognition-'));
  const reference = join(work, 'sister-1s.jpg');
  execFileSync('ffmpeg', ['-v', 'error', '-ss', '1', '-i', mediaFile('sister.mkv'), '-frames:v', '1', reference]);
  execFileSync('ffmpeg', ['-v', 'error', '-ss', '0.5', '-i', mediaFile('sister.mkv'), '-ss', '0.5', '-i', mediaFile('again.mkv'),
    '-filter_complex', '[0:v]fps=10,scale=640:480[a];[1:v]fps=10,scale=640:480[b];[a][b]hstack', '-frames:v', '20', join(work, 'f%02d.png')]);
  for (let i = 1; i <= 20; i++) frames.push(await loadRgbImage(join(work, `f${String(i).padStart(2, '0')}.png`)));
  const enrolled = await enrolImage({ kind: 'image', bytes: readFileSync(reference), pick: 'only' });
  assert.ok(enrolled.chosen, `the reference frame enrols: ${enrolled.rejected?.message}`);
  gallery = galleryOf(1, [{ id: 'p-sister', name: 'Sam' }, { id: 'p-nobody', name: 'Nobody' }], [{ owner: 0, embedding: enrolled.chosen.embedding }]);
});

after(async () => {
  await closeModels();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** facesBySide runs the plain detector (MediaPipe's full-range threshold 0.6) on an output frame: faces found on the left and right halves. */
async function facesBySide(check: Awaited<ReturnType<typeof createPluginTestHost<FacesOptions, FacesState>>>, image: RgbImage): Promise<{ left: number; right: number }> {
  check.resetState();
  const found = (await check.processRgb(image)).result.detections!;
  return { left: found.filter((d) => d.box.x + d.box.width / 2 < HALF).length, right: found.filter((d) => d.box.x + d.box.width / 2 >= HALF).length };
}

test('anonymise unknown: the enrolled face is shown and named once settled, the stranger is never shown', { skip: mediaSkip }, async (t) => {
  const host = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'pixelate', anonymise: 'unknown' }, { fps: 10, shared: () => ({ gallery }) });
  const check = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'detect', minScore: 0.6 });
  const shownFrom: number[] = [];
  let embeddings = 0;
  for (const [i, image] of frames.entries()) {
    const { output, result } = await host.processRgb(image);
    embeddings += result.timings!.embeddings ?? 0;
    const left = result.detections!.filter((d) => d.box.x < HALF);
    const right = result.detections!.filter((d) => d.box.x >= HALF);
    assert.equal(right.length, 1, `frame ${i}: one stranger track`);
    assert.ok(right[0]!.label === undefined || right[0]!.label === null, `frame ${i}: the stranger is never named (${right[0]!.label})`);
    const seen = await facesBySide(check, output);
    assert.equal(seen.right, 0, `frame ${i}: the stranger's face is found in the output`);
    const settled = left.length === 1 && left[0]!.label === 'Sam';
    if (seen.left > 0) {
      assert.ok(settled, `frame ${i}: a face is shown on the enrolled side before its track settled as the enrolled person`);
      shownFrom.push(i);
    }
    if (settled) assert.ok(left[0]!.labelScore! >= 0.96, `labelScore ${left[0]!.labelScore} is the similarity`);
  }
  t.diagnostic(`enrolled face found in the output on frames ${shownFrom.join(',')}; ${embeddings} embeddings for ${frames.length} frames x 2 faces`);
  assert.ok(shownFrom.length >= 14, `the enrolled face is shown on most frames (${shownFrom.join(',')})`);
  assert.ok(shownFrom[0]! <= 4, `settled within the first frames (first shown ${shownFrom[0]})`);
  const last = host.state!;
  const stranger = last.identity!.identities.find((x) => x.trackId === last.tracks.find((t) => t.box.cx >= HALF)!.id)!;
  assert.equal(stranger.settled?.personId, null, 'the stranger settles as unknown');
  assert.ok(embeddings < frames.length * 2 * 0.6, `embeddings only when a track needs one (${embeddings} for ${frames.length} frames x 2 faces)`);
  await host.close();
  await check.close();
});

test('the enrolled person deleted while in view: hidden again from the next frame, label gone', { skip: mediaSkip }, async () => {
  let current: SharedData = { gallery };
  const host = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'blur', anonymise: 'unknown' }, { fps: 10, shared: () => current });
  const check = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'detect', minScore: 0.6 });
  for (const image of frames.slice(0, 8)) await host.processRgb(image);
  assert.ok((await facesBySide(check, (await host.processRgb(frames[8]!)).output)).left > 0, 'shown before the deletion');
  current = { gallery: galleryOf(2, [{ id: 'p-nobody', name: 'Nobody' }], []) };
  for (const image of frames.slice(9)) {
    const { output, result } = await host.processRgb(image);
    assert.deepEqual(await facesBySide(check, output), { left: 0, right: 0 }, 'nobody is shown after the deletion');
    assert.ok(result.detections!.every((d) => d.label !== 'Sam'), 'the deleted name is not used');
  }
  await host.close();
  await check.close();
});

test('no gallery published: every face stays hidden and settles as unknown without an embedding', { skip: mediaSkip }, async () => {
  const host = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'pixelate', anonymise: 'unknown' }, { fps: 10 });
  const check = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'detect', minScore: 0.6 });
  let embeddings = 0;
  let labels: (string | null | undefined)[] = [];
  for (const image of frames.slice(0, 6)) {
    const { output, result } = await host.processRgb(image);
    embeddings += result.timings!.embeddings ?? 0;
    labels = result.detections!.map((d) => d.label);
    assert.deepEqual(await facesBySide(check, output), { left: 0, right: 0 });
  }
  assert.equal(embeddings, 0);
  assert.deepEqual(labels, [null, null]);
  await host.close();
  await check.close();
});

test('recognition off: no labels and no embeddings; mark with recognise names the enrolled face', { skip: mediaSkip }, async () => {
  const plain = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'detect' }, { fps: 10, shared: () => ({ gallery }) });
  for (const image of frames.slice(0, 4)) {
    const { result } = await plain.processRgb(image);
    assert.ok(result.detections!.every((d) => d.label === undefined) && result.timings!.embeddings === undefined);
  }
  await plain.close();
  const mark = await createPluginTestHost<FacesOptions, FacesState>(faces, { mode: 'mark', recognise: true, color: 'ffffff' }, { fps: 10, shared: () => ({ gallery }) });
  let last;
  for (const image of frames.slice(0, 6)) last = await mark.processRgb(image);
  assert.deepEqual(last!.result.detections!.map((d) => d.label).sort(), [null, 'Sam'].sort());
  // The label is drawn above the box: white glyph pixels on a dark backing, left of the box's right edge.
  const sam = last!.result.detections!.find((d) => d.label === 'Sam')!;
  const y = Math.round(sam.box.y) - 8;
  let white = 0;
  for (let x = Math.round(sam.box.x); x < Math.round(sam.box.x) + 40; x++) if (last!.output.rgb[(y * WIDTH + x) * 3]! > 230) white++;
  assert.ok(white > 0, 'name glyphs drawn above the box');
  await mark.close();
});
