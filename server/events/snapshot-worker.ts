/**
 * The snapshot worker (a worker thread of the snapshot pool): I420 -> RGB (BT.601, limited
 * range, as ffmpeg decodes) -> JPEG with sharp, optionally cropped, written atomically (a temp
 * file in the same folder, then rename) or returned. A file that can not be written (disk full,
 * read-only) does not fail the task: the result carries the error's code and the JPEG, so the
 * caller can keep it and write it again later (a task with `jpeg` and no frame only writes).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PixelBox } from '../../plugins/plugin-api.ts';
import { i420RegionToRgb } from '../../plugins/yuv-color.ts';

/** SnapshotTask is one JPEG to make. */
export interface SnapshotTask {
  /** I420 frame, `width * height * 3 / 2` bytes (transferred); absent when `jpeg` is given. */
  yuv?: ArrayBuffer;
  /** An encoded JPEG to write as it is (a retry of a failed write); needs `path`. */
  jpeg?: Uint8Array;
  width: number;
  height: number;
  /** Part of the frame to keep, px (clamped to the frame, even-aligned); undefined = the whole frame. */
  crop?: PixelBox;
  /** JPEG quality 1..100. */
  quality: number;
  /** Absolute file to write; undefined = return the bytes. */
  path?: string;
}

/**
 * SnapshotResult is the JPEG's size, its pixel size, and its bytes when no path was given or the
 * file could not be written; then `writeError` says why (`code`: the system's, e.g. `ENOSPC`,
 * `EROFS`, `EACCES`; `other` when there is none).
 */
export interface SnapshotResult {
  bytes: number;
  width: number;
  height: number;
  jpeg?: Uint8Array;
  writeError?: { code: string; message: string };
}

type SharpFactory = typeof import('sharp').default;
let sharpModule: Promise<SharpFactory> | undefined;
// sharp (libvips) is loaded on the first task: a pool that never makes a snapshot never pays for it.
const loadSharp = () => (sharpModule ??= import('sharp').then(({ default: sharp }) => {
  sharp.cache(false);
  sharp.concurrency(1);
  return sharp;
}));

/** i420ToRgb converts a region of an I420 frame (`width` x `height`, planes back to back) to packed RGB24 (BT.601 limited range; plugins/yuv-color.ts). */
export function i420ToRgb(yuv: Uint8Array, width: number, height: number, region: PixelBox): Uint8Array {
  const ySize = width * height;
  const cSize = (width >> 1) * (height >> 1);
  return i420RegionToRgb({ width, height, y: yuv.subarray(0, ySize), u: yuv.subarray(ySize, ySize + cSize), v: yuv.subarray(ySize + cSize, ySize + 2 * cSize) }, region);
}

/** cropRegion clamps a box to the frame and aligns it to even px (chroma pairs), at least 2x2. */
export function cropRegion(box: PixelBox | undefined, width: number, height: number): PixelBox {
  if (!box) return { x: 0, y: 0, width, height };
  const x0 = Math.max(0, Math.floor(box.x / 2) * 2);
  const y0 = Math.max(0, Math.floor(box.y / 2) * 2);
  const x1 = Math.min(width, Math.max(x0 + 2, Math.ceil((box.x + box.width) / 2) * 2));
  const y1 = Math.min(height, Math.max(y0 + 2, Math.ceil((box.y + box.height) / 2) * 2));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** encodeSnapshot makes one JPEG (the pool's default task). */
export default async function encodeSnapshot(task: SnapshotTask): Promise<SnapshotResult> {
  let jpeg: Uint8Array;
  let region: PixelBox;
  if (task.jpeg) {
    jpeg = task.jpeg;
    region = { x: 0, y: 0, width: task.width, height: task.height };
  } else {
    if (!task.yuv) throw new TypeError('a snapshot task needs a frame (yuv) or a JPEG');
    const sharp = await loadSharp();
    region = cropRegion(task.crop, task.width, task.height);
    const rgb = i420ToRgb(new Uint8Array(task.yuv), task.width, task.height, region);
    jpeg = await sharp(rgb, { raw: { width: region.width, height: region.height, channels: 3 } })
      .jpeg({ quality: task.quality, mozjpeg: false })
      .toBuffer();
  }
  const size = { bytes: jpeg.byteLength, width: region.width, height: region.height };
  if (!task.path) return { ...size, jpeg };
  try {
    await writeAtomically(task.path, jpeg);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ...size, jpeg, writeError: { code: e.code ?? 'other', message: e.message } };
  }
  return size;
}

/** writeAtomically writes `path` through a temp file in its folder and a rename (the folder made first). */
async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => {});
    throw err;
  }
}
