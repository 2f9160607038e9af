/**
 * Per-stream background options: server config, then the publisher's query on the stream key
 * (`live/demo?bg=blur`, `?bg=color&color=00ff00`, `?bg=image&image=beach`), then live changes.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import type { ServerConfig } from '../config.ts';
import { MediaServerError } from '../errors.ts';
import type { BackgroundOptions } from '../../plugins/background/index.ts';

const IMAGE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

/** BackgroundRequest is what a user may set: the config's keys, the image by name. */
export type BackgroundRequest = Partial<Omit<BackgroundOptions, 'imagePath'> & { image: string }>;

/**
 * resolveImagePath finds `<imagesDir>/<name>.<ext>` for a plain name (no paths, no dots).
 * @throws MediaServerError `ERR_BACKGROUND_IMAGE` when the name is invalid or no file exists.
 */
export function resolveImagePath(imagesDir: string, name: string): string {
  if (!IMAGE_NAME.test(name)) {
    throw new MediaServerError('ERR_BACKGROUND_IMAGE', 'plugin', `background image name '${name.slice(0, 80)}' must be 1-64 of A-Z a-z 0-9 _ -`);
  }
  for (const ext of IMAGE_EXTENSIONS) {
    const path = resolve(join(imagesDir, name + ext));
    if (existsSync(path)) return path;
  }
  throw new MediaServerError('ERR_BACKGROUND_IMAGE', 'plugin', `no background image '${name}' (${IMAGE_EXTENSIONS.join('|')}) in ${resolve(imagesDir)}`);
}

/** listBackgroundImages returns the image names usable as `image` (files in imagesDir); [] when the folder is absent. */
export async function listBackgroundImages(imagesDir: string): Promise<string[]> {
  const files = await readdir(imagesDir).catch(() => [] as string[]);
  const names = files.filter((f) => IMAGE_EXTENSIONS.some((ext) => f.endsWith(ext)))
    .map((f) => f.replace(/\.[^.]+$/, '')).filter((n) => IMAGE_NAME.test(n));
  return [...new Set(names)].sort();
}

/** queryToRequest maps stream-key query parameters to a request (`bg` is short for `mode`). */
export function queryToRequest(query: Record<string, string | undefined>): BackgroundRequest {
  const out: Record<string, unknown> = {};
  const mode = query.bg ?? query.mode;
  if (mode !== undefined) out.mode = mode;
  for (const key of ['color', 'image', 'blurRadiusPx', 'threshold', 'edgeSoftness', 'smoothing', 'model'] as const) {
    if (query[key] !== undefined) out[key] = query[key];
  }
  if (query.blur !== undefined) out.blurRadiusPx = query.blur;
  return out as BackgroundRequest;
}

/**
 * backgroundOptions merges config defaults with a request into plugin options (not yet validated
 * by the plugin schema; the chain does that).
 * @throws MediaServerError `ERR_BACKGROUND_IMAGE` for an image mode without a usable image.
 */
export function backgroundOptions(config: ServerConfig['background'], ...requests: BackgroundRequest[]): Record<string, unknown> {
  const { image: defaultImage, imagesDir, ...defaults } = config;
  const merged: Record<string, unknown> = { ...defaults, image: defaultImage };
  for (const r of requests) Object.assign(merged, Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
  const { image, ...options } = merged;
  if (options.mode === 'image') {
    if (!image) throw new MediaServerError('ERR_BACKGROUND_IMAGE', 'plugin', "mode 'image' needs an image name (?image=<name>)");
    options.imagePath = resolveImagePath(imagesDir, String(image));
  } else {
    options.imagePath = '';
  }
  return options;
}
