/**
 * Image backgrounds: a file loaded with sharp, scaled to cover the frame (centre crop), converted to
 * I420 with the BT.601 limited-range matrix, and cached per worker by (path, width, height).
 */
import { rgbToI420, type YuvPlanes } from '../yuv-color.ts';

/** Most (path, size) entries kept per worker thread; the least recently used one is dropped first. */
export const IMAGE_CACHE_ENTRIES = 4;

// Module-level cache: keyed by file and frame size, not by stream, so sharing it across streams is safe.
const cache = new Map<string, Promise<YuvPlanes>>();
const failures = new Map<string, { at: number; error: Error }>();
/** FAILED_IMAGE_RETRY_MS is how long a failed decode is answered from memory before the file is read again. */
export const FAILED_IMAGE_RETRY_MS = 5000;

type SharpFactory = typeof import('sharp').default;
let sharpModule: Promise<SharpFactory> | undefined;

/**
 * loadSharp imports sharp on first use: libvips and its thread pool cost each worker thread about
 * 6 MB (17 MB for the process with two workers), which a server with no image backgrounds never
 * needs. Its operation cache is off: decoded backgrounds are cached here, as I420.
 */
function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  });
  return sharpModule;
}

/**
 * decodeImageBackground loads `imagePath` with sharp, resizes it to cover width x height (fit
 * 'cover', centre crop) and returns its I420 planes; rejects with an Error naming the file when it
 * is missing or unreadable.
 */
export async function decodeImageBackground(imagePath: string, width: number, height: number): Promise<YuvPlanes> {
  if (imagePath === '') throw new Error("background image: 'imagePath' is empty");
  let rgb: Buffer;
  try {
    const sharp = await loadSharp();
    rgb = await sharp(imagePath)
      .rotate()
      .resize(width, height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer();
  } catch (cause) {
    throw new Error(`background image '${imagePath}' could not be read: ${(cause as Error).message}`, { cause });
  }
  if (rgb.length !== width * height * 3) {
    throw new Error(`background image '${imagePath}' decoded to ${rgb.length} bytes, expected ${width * height * 3}`);
  }
  return rgbToI420(new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length), width, height);
}

/**
 * loadImageBackground returns the cached I420 planes of `imagePath` covering width x height, decoding
 * on first use (concurrent callers share one decode). A failure rejects with an Error naming the
 * file and is remembered for FAILED_IMAGE_RETRY_MS (so a broken file is not re-read every frame),
 * outside the LRU entries.
 */
export function loadImageBackground(imagePath: string, width: number, height: number): Promise<YuvPlanes> {
  const key = `${width}x${height}:${imagePath}`;
  const failed = failures.get(key);
  if (failed && performance.now() - failed.at < FAILED_IMAGE_RETRY_MS) return Promise.reject(failed.error);
  failures.delete(key);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const pending = decodeImageBackground(imagePath, width, height);
  cache.set(key, pending);
  pending.catch((error: Error) => {
    if (cache.get(key) === pending) cache.delete(key);
    failures.set(key, { at: performance.now(), error });
    if (failures.size > IMAGE_CACHE_ENTRIES) failures.delete(failures.keys().next().value as string);
  });
  while (cache.size > IMAGE_CACHE_ENTRIES) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
  }
  return pending;
}

/** imageCacheKeys lists the cached entries, least recently used first (for tests and stats). */
export function imageCacheKeys(): string[] {
  return [...cache.keys()];
}

/** clearImageCache empties this worker's image cache (e.g. after the file changed on disk). */
export function clearImageCache(): void {
  cache.clear();
  failures.clear();
}
