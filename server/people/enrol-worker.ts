/**
 * The enrolment worker (the one thread of the enrolment pool, or called in-process by the enrol
 * CLI): decodes a JPEG or PNG with sharp (or converts a stream's I420 frame), finds faces with
 * BlazeFace full range (tiles on, so a small second face is counted too), aligns the chosen one
 * to dlib's 150x150 chip by its eyes, embeds it (face-embed, L2-normalised 128-d) and encodes the
 * chip as a JPEG. The models are opened once per thread, on the first task.
 */
import { Piscina } from 'piscina';
import sharp, { type Metadata } from 'sharp';
import { closeFaceDetector, detectFacesInImage, openFaceDetector, type FaceImageDetector } from '../../models/face/detect-image.ts';
import { openFaceEmbedder, type FaceEmbedder } from '../../models/face/face-embedder.ts';
import { alignDetectedFace } from '../../models/face/align-face.ts';
import type { FaceDetection } from '../../models/face/decode.ts';
import type { RgbImage } from '../../models/segmentation/rgb-image.ts';
import { i420ToRgb } from '../events/snapshot-worker.ts';

/** MAX_IMAGE_PIXELS bounds a decoded upload (40 Mpx: a phone photo fits, a decompression bomb does not). */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** MIN_FACE_PX is the smallest face (box width, image px) enrolled: below it the chip is mostly upscaled blur. */
export const MIN_FACE_PX = 32;
/** CHIP_JPEG_QUALITY is the quality of the stored reference chip (1..100). */
export const CHIP_JPEG_QUALITY = 90;

/** EnrolTask is one image to enrol from: encoded bytes (JPEG or PNG), or an I420 frame; `pick` 'only' needs exactly one face, 'largest' takes the largest. */
export type EnrolTask =
  | { kind: 'image'; bytes: Uint8Array; pick: 'only' | 'largest' }
  | { kind: 'i420'; yuv: ArrayBuffer; width: number; height: number; pick: 'only' | 'largest' };

/** FoundFace is one detected face: box in image px and detector confidence 0..1. */
export interface FoundFace {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** EnrolRejection is why nothing was enrolled (errors as data: they cross the thread boundary intact). */
export type EnrolRejection =
  | { code: 'ERR_IMAGE_UNREADABLE'; message: string }
  | { code: 'ERR_IMAGE_FORMAT'; message: string }
  | { code: 'ERR_IMAGE_TOO_LARGE'; message: string }
  | { code: 'ERR_FACE_COUNT'; message: string }
  | { code: 'ERR_FACE_TOO_SMALL'; message: string };

/** EnrolResult is the image size, every face found, and either the chosen face's embedding (Float32Array(128), L2-normalised) and chip JPEG, or the rejection. */
export interface EnrolResult {
  width: number;
  height: number;
  faces: FoundFace[];
  chosen?: { face: FoundFace; embedding: Float32Array; chipJpeg: Uint8Array };
  rejected?: EnrolRejection;
}

const workerData = (Piscina.isWorkerThread ? Piscina.workerData : undefined) as { modelsDir?: string } | undefined;
let models: Promise<{ detector: FaceImageDetector; embedder: FaceEmbedder }> | undefined;

function loadModels(modelsDir = workerData?.modelsDir): Promise<{ detector: FaceImageDetector; embedder: FaceEmbedder }> {
  models ??= Promise.all([openFaceDetector('full', modelsDir || undefined), openFaceEmbedder(modelsDir || undefined)])
    .then(([detector, embedder]) => ({ detector, embedder }));
  models.catch(() => { models = undefined; });
  return models;
}

/** warmUp opens the models in this thread (the pool's `warmUp` task); rejects when one can not be opened. */
export async function warmUp(): Promise<void> {
  await loadModels();
}

/** closeModels releases the models of this thread or process (the CLI, before exiting). */
export async function closeModels(): Promise<void> {
  const loaded = await models?.catch(() => undefined);
  models = undefined;
  if (loaded) {
    await closeFaceDetector(loaded.detector);
    await loaded.embedder.close();
  }
}

async function decode(bytes: Uint8Array): Promise<RgbImage | EnrolRejection> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    return { code: 'ERR_IMAGE_UNREADABLE', message: `the image can not be decoded: ${(err as Error).message.split('\n')[0]}` };
  }
  if (meta.format !== 'jpeg' && meta.format !== 'png') return { code: 'ERR_IMAGE_FORMAT', message: `the image is ${meta.format ?? 'of an unknown format'}, not JPEG or PNG` };
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_IMAGE_PIXELS) {
    return { code: 'ERR_IMAGE_TOO_LARGE', message: `the image is ${meta.width}x${meta.height} px, more than ${MAX_IMAGE_PIXELS / 1e6} Mpx` };
  }
  try {
    // rotate(): a phone photo's EXIF orientation, so the face is upright for the detector.
    const { data, info } = await sharp(bytes).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    return { code: 'ERR_IMAGE_UNREADABLE', message: `the image can not be decoded: ${(err as Error).message.split('\n')[0]}` };
  }
}

const round = (v: number) => Math.round(v * 10) / 10;
const found = (f: FaceDetection): FoundFace => ({ x: round(f.xMin), y: round(f.yMin), width: round(f.width), height: round(f.height), score: Math.round(f.score * 1000) / 1000 });
const plural = (n: number) => `${n} face${n === 1 ? '' : 's'}`;

/** enrolImage runs one EnrolTask (the pool's default task); resolves with the faces and the embedding or a rejection, rejects only when a model fails. */
export default async function enrolImage(task: EnrolTask, modelsDir?: string): Promise<EnrolResult> {
  const image = task.kind === 'image'
    ? await decode(task.bytes)
    : { data: i420ToRgb(new Uint8Array(task.yuv), task.width, task.height, { x: 0, y: 0, width: task.width, height: task.height }), width: task.width, height: task.height, channels: 3 as const };
  if ('code' in image) return { width: 0, height: 0, faces: [], rejected: image };
  const { detector, embedder } = await loadModels(modelsDir);
  const detections = await detectFacesInImage(detector, image, { tiles: 'auto' });
  const result: EnrolResult = { width: image.width, height: image.height, faces: detections.map(found) };
  if (detections.length === 0 || (task.pick === 'only' && detections.length > 1)) {
    const message = task.pick === 'only'
      ? `${plural(detections.length)} found; the image must show exactly one face`
      : '0 faces found in the frame';
    return { ...result, rejected: { code: 'ERR_FACE_COUNT', message } };
  }
  const face = detections.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  if (face.width < MIN_FACE_PX) {
    return { ...result, rejected: { code: 'ERR_FACE_TOO_SMALL', message: `the face is ${Math.round(face.width)} px wide, at least ${MIN_FACE_PX} px are needed` } };
  }
  const aligned = alignDetectedFace(image, face);
  const embedding = await embedder.embed(aligned.chip);
  const chipJpeg = await sharp(aligned.chip.data, { raw: { width: aligned.chip.width, height: aligned.chip.height, channels: 3 } }).jpeg({ quality: CHIP_JPEG_QUALITY }).toBuffer();
  return { ...result, chosen: { face: found(face), embedding, chipJpeg: new Uint8Array(chipJpeg.buffer, chipJpeg.byteOffset, chipJpeg.byteLength) } };
}
