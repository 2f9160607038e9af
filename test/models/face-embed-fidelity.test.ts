// The built face-embed.onnx against the model it was converted from, run in its own runtime: face-api's
// FaceRecognitionNet (@vladmandic/face-api's node-wasm build on @tensorflow/tfjs 4.22 with the wasm
// backend; devDependencies, never loaded by the product), on real face crops: frames of the shared clips
// decoded by ffmpeg to raw RGB, faces found by our BlazeFace full-range detector, aligned to dlib's
// 150x150 chip by models/face/align-face.ts. Both runtimes get the same chip. Then a sanity check of the
// embeddings: the same person in different frames is closer than two people known to differ.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DLIB_CHIP_150, alignDetectedFace } from '../../models/face/align-face.ts';
import type { FaceDetection } from '../../models/face/decode.ts';
import { closeFaceDetector, detectFacesInImage, openFaceDetector, type FaceImageDetector } from '../../models/face/detect-image.ts';
import { cosineSimilarity, FACE_EMBEDDING_LENGTH, openFaceEmbedder, type FaceEmbedder } from '../../models/face/face-embedder.ts';
import { sourceModelPath } from '../../models/registry.ts';
import type { RgbImage } from '../../models/segmentation/rgb-image.ts';
import { decodeFramesRgb } from './helpers/decode-frames.ts';
import { seededRandom } from './helpers/seeded-random.ts';
import { mediaSkipReason } from './helpers/shared-media.ts';

const MIN_COSINE = 0.999;

// Clips with faces towards the camera (../shared/media/SOURCES.md) and how many frames per second to take.
// one-by-one-person-detection.mp4 is filmed from above (BlazeFace finds a face in 2 of 28 frames at 0.2 fps)
// and car-detection.mp4 has no person, so neither gives crops worth comparing.
const CLIPS = [
  { file: 'sister.mkv', fps: 4 },
  { file: 'again.mkv', fps: 4 },
  { file: 'head-pose-face-detection-female.gif', fps: 4 },
  { file: 'face-demographics-walking-and-pause.gif', fps: 3 },
] as const;

// SOURCES.md: again.mkv is "a second young man" beside sister.mkv's; other clips may share actors, so
// only this pair and people seen in the same frame count as different people.
const DIFFERENT_CLIPS: readonly (readonly [string, string])[] = [['sister.mkv', 'again.mkv']];

/** The part of face-api's node-wasm build this test uses. */
interface FaceApiTensor {
  dispose(): void;
}
interface FaceApi {
  version: string;
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    version_core: string;
    tensor3d(values: Float32Array, shape: [number, number, number], dtype: 'float32'): FaceApiTensor;
  };
  nets: {
    faceRecognitionNet: {
      loadFromDisk(dir: string): Promise<void>;
      computeFaceDescriptor(input: FaceApiTensor): Promise<Float32Array | Float32Array[]>;
      dispose(): void;
    };
  };
}

/** Crop is one aligned face: where it came from, the track it belongs to and the chip. */
interface Crop {
  clip: string;
  frame: number;
  track: string;
  eyeDistanceToBoxWidth: number;
  chip: RgbImage;
}

interface Track {
  id: string;
  clip: string;
  centre: { x: number; y: number };
  frames: Set<number>;
}

const centreOf = (f: FaceDetection) => ({ x: f.xMin + f.width / 2, y: f.yMin + f.height / 2 });

// Faces of one clip are joined into tracks by box centre: a face continues the unclaimed track whose last
// centre is nearest, if within half the box width, else starts a track (sampled frames are 0.25-0.33 s apart).
function assignTrack(tracks: Track[], clip: string, frame: number, face: FaceDetection): Track {
  const c = centreOf(face);
  let best: Track | undefined;
  let bestDistance = face.width / 2;
  for (const t of tracks) {
    const d = Math.hypot(t.centre.x - c.x, t.centre.y - c.y);
    if (t.clip === clip && !t.frames.has(frame) && d <= bestDistance) [best, bestDistance] = [t, d];
  }
  const track = best ?? { id: `${clip}:${tracks.filter((t) => t.clip === clip).length}`, clip, centre: c, frames: new Set<number>() };
  if (!best) tracks.push(track);
  track.centre = c;
  track.frames.add(frame);
  return track;
}

function differentPeople(a: Track, b: Track): boolean {
  if (a === b) return false;
  if (a.clip === b.clip) return [...a.frames].some((f) => b.frames.has(f));
  return DIFFERENT_CLIPS.some(([x, y]) => (a.clip === x && b.clip === y) || (a.clip === y && b.clip === x));
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

function centroid(vectors: Float32Array[]): Float32Array {
  const c = new Float32Array(FACE_EMBEDDING_LENGTH);
  for (const v of vectors) for (let i = 0; i < c.length; i++) c[i]! += v[i]! / vectors.length;
  return c;
}

describe('face-embed ONNX vs face-api FaceRecognitionNet (tfjs wasm)', () => {
  let faceapi: FaceApi;
  let embedder: FaceEmbedder;
  let detector: FaceImageDetector | undefined;
  const crops: Crop[] = [];
  const tracks: Track[] = [];
  const sampledFrames = new Map<string, number>();

  async function original(chip: RgbImage): Promise<Float32Array> {
    const input = faceapi.tf.tensor3d(Float32Array.from(chip.data), [chip.height, chip.width, 3], 'float32');
    try {
      const out = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input);
      assert.ok(out instanceof Float32Array, 'one descriptor for one chip');
      return out;
    } finally {
      input.dispose();
    }
  }

  before(async () => {
    faceapi = createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    assert.ok(await faceapi.tf.setBackend('wasm'), 'tfjs wasm backend');
    await faceapi.tf.ready();
    // face-api's own loader reads the same manifest and shard the build converts.
    await faceapi.nets.faceRecognitionNet.loadFromDisk(path.dirname(sourceModelPath('face-embed')));
    embedder = await openFaceEmbedder();
    if (mediaSkipReason) return;
    detector = await openFaceDetector('full');
    for (const { file, fps } of CLIPS) {
      const frames = await decodeFramesRgb(file, fps);
      sampledFrames.set(file, frames.length);
      for (const { index, image } of frames) {
        for (const face of await detectFacesInImage(detector, image)) {
          const aligned = alignDetectedFace(image, face);
          crops.push({ clip: file, frame: index, track: assignTrack(tracks, file, index, face).id, eyeDistanceToBoxWidth: aligned.eyeDistanceToBoxWidth, chip: aligned.chip });
        }
      }
    }
  });

  after(async () => {
    faceapi?.nets.faceRecognitionNet.dispose();
    await embedder?.close();
    if (detector) await closeFaceDetector(detector);
  });

  test(`a synthetic chip: cosine >= ${MIN_COSINE}`, async (t) => {
    const rand = seededRandom(21);
    const chip: RgbImage = { data: Uint8Array.from({ length: 150 * 150 * 3 }, () => Math.floor(rand() * 256)), width: 150, height: 150, channels: 3 };
    const [ours, theirs] = [await embedder.descriptor(chip), await original(chip)];
    assert.equal(ours.length, FACE_EMBEDDING_LENGTH);
    const cos = cosineSimilarity(ours, theirs);
    t.diagnostic(`cosine ${cos.toFixed(7)}, max |difference| ${Math.max(...ours.map((v, i) => Math.abs(v - theirs[i]!))).toExponential(2)}`);
    assert.ok(cos >= MIN_COSINE, `cosine ${cos}`);
  });

  test(`real face crops from the shared clips: cosine >= ${MIN_COSINE} on every crop`, { skip: mediaSkipReason }, async (t) => {
    for (const { file } of CLIPS) {
      const found = new Set(crops.filter((c) => c.clip === file).map((c) => c.frame)).size;
      t.diagnostic(`${file}: faces in ${found} of ${sampledFrames.get(file)} sampled frames, ${crops.filter((c) => c.clip === file).length} crops`);
      // A detector or alignment that stopped producing crops must not pass as "no crop disagrees".
      assert.ok(found >= sampledFrames.get(file)! / 2, `${file}: faces in only ${found} of ${sampledFrames.get(file)} frames`);
    }
    await embedder.descriptor(crops[0]!.chip);
    await original(crops[0]!.chip);
    const cosines: number[] = [];
    const onnxMs: number[] = [];
    const tfjsMs: number[] = [];
    let maxAbsDiff = 0;
    const failures: string[] = [];
    for (const crop of crops) {
      const t0 = performance.now();
      const ours = await embedder.descriptor(crop.chip);
      const t1 = performance.now();
      const theirs = await original(crop.chip);
      const t2 = performance.now();
      onnxMs.push(t1 - t0);
      tfjsMs.push(t2 - t1);
      const cos = cosineSimilarity(ours, theirs);
      cosines.push(cos);
      for (let i = 0; i < ours.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ours[i]! - theirs[i]!));
      if (!(cos >= MIN_COSINE)) failures.push(`${crop.clip} frame ${crop.frame} (${crop.track}): cosine ${cos}`);
    }
    t.diagnostic(`${crops.length} crops (${DLIB_CHIP_150.size}x${DLIB_CHIP_150.size}); cosine min ${Math.min(...cosines).toFixed(7)} (1 - min ${(1 - Math.min(...cosines)).toExponential(1)}), mean ${mean(cosines).toFixed(7)}; max |difference| ${maxAbsDiff.toExponential(2)}`);
    t.diagnostic(`ms per embedding, median / mean: onnxruntime-node (1 thread) ${median(onnxMs).toFixed(1)} / ${mean(onnxMs).toFixed(1)}; face-api ${faceapi.version} on tfjs ${faceapi.tf.version_core} ${faceapi.tf.getBackend()} ${median(tfjsMs).toFixed(1)} / ${mean(tfjsMs).toFixed(1)} (median ratio ${(median(tfjsMs) / median(onnxMs)).toFixed(1)}, interleaved)`);
    assert.deepEqual(failures, []);
  });

  test('the same person in other frames is closer than people known to differ', { skip: mediaSkipReason }, async (t) => {
    const embeddings = new Map<Crop, Float32Array>();
    for (const crop of crops) embeddings.set(crop, await embedder.embed(crop.chip));
    const of = (track: string) => crops.filter((c) => c.track === track).map((c) => embeddings.get(c)!);
    const pairCosines = (a: Float32Array[], b: Float32Array[], same: boolean) => a.flatMap((x, i) => b.filter((_, j) => !same || j > i).map((y) => cosineSimilarity(x, y)));
    const people = tracks.filter((tr) => of(tr.id).length >= 3);
    for (const tr of people) {
      const within = pairCosines(of(tr.id), of(tr.id), true);
      const frontal = crops.filter((c) => c.track === tr.id).map((c) => c.eyeDistanceToBoxWidth);
      t.diagnostic(`${tr.id}: ${of(tr.id).length} crops, same-person cosine mean ${mean(within).toFixed(3)}, min ${Math.min(...within).toFixed(3)}; eye distance / box width ${Math.min(...frontal).toFixed(2)}..${Math.max(...frontal).toFixed(2)}`);
    }
    const pairs = people.flatMap((a, i) => people.slice(i + 1).map((b) => [a, b] as const));
    const different = pairs.filter(([a, b]) => differentPeople(a, b));
    assert.ok(different.length >= 1, `no pair of tracks known to be different people among ${people.map((p) => p.id).join(', ')}`);
    for (const [a, b] of pairs) {
      const cross = pairCosines(of(a.id), of(b.id), false);
      const label = differentPeople(a, b) ? 'different people' : 'not known to differ, not asserted';
      t.diagnostic(`${a.id} vs ${b.id} (${label}): cosine mean ${mean(cross).toFixed(3)}, max ${Math.max(...cross).toFixed(3)}`);
    }
    const problems: string[] = [];
    for (const [a, b] of different) {
      const cross = mean(pairCosines(of(a.id), of(b.id), false));
      for (const tr of [a, b]) {
        const within = mean(pairCosines(of(tr.id), of(tr.id), true));
        if (!(within > cross)) problems.push(`${tr.id}: same-person mean ${within.toFixed(3)} <= ${cross.toFixed(3)} against ${tr === a ? b.id : a.id}`);
      }
    }
    // Each crop, as a query against a gallery of the other crops: nearer its own person's mean embedding
    // (itself left out) than the mean of anyone known to be someone else.
    let worstMargin = Infinity;
    for (const crop of crops) {
      const track = tracks.find((tr) => tr.id === crop.track)!;
      const others = people.filter((p) => differentPeople(track, p));
      if (others.length === 0 || of(track.id).length < 3) continue;
      const e = embeddings.get(crop)!;
      const own = cosineSimilarity(e, centroid(crops.filter((c) => c.track === track.id && c !== crop).map((c) => embeddings.get(c)!)));
      for (const other of others) {
        const margin = own - cosineSimilarity(e, centroid(of(other.id)));
        worstMargin = Math.min(worstMargin, margin);
        if (!(margin > 0)) problems.push(`${crop.clip} frame ${crop.frame}: nearer ${other.id} than its own ${track.id} (margin ${margin.toFixed(4)})`);
      }
    }
    t.diagnostic(`nearest-mean check: smallest margin (own - other cosine) ${worstMargin.toFixed(4)}`);
    assert.deepEqual(problems, []);
  });
});
