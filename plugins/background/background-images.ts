/**
 * The `background` plugin's main-thread side: the stream-key query keys kept from before plugins
 * had their own options (`live/demo?bg=blur`, `?bg=color&color=00ff00`, `?bg=image&image=beach`),
 * and background images by name, resolved inside the configured images folder only.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { PluginOptionsError, type QueryOptions } from '../plugin-api.ts';
import type { BackgroundOptions } from './background-options.ts';

const IMAGE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

/**
 * resolveImagePath finds `<imagesDir>/<name>.<ext>` for a plain name (no paths, no dots).
 * @throws PluginOptionsError `ERR_BACKGROUND_IMAGE` when the name is invalid or no file exists.
 */
export function resolveImagePath(imagesDir: string, name: string): string {
  if (!IMAGE_NAME.test(name)) {
    throw new PluginOptionsError('ERR_BACKGROUND_IMAGE', `background image name '${name.slice(0, 80)}' must be 1-64 of A-Z a-z 0-9 _ -`);
  }
  for (const ext of IMAGE_EXTENSIONS) {
    const path = resolve(join(imagesDir, name + ext));
    if (existsSync(path)) return path;
  }
  throw new PluginOptionsError('ERR_BACKGROUND_IMAGE', `no background image '${name}' (${IMAGE_EXTENSIONS.join('|')}) in ${resolve(imagesDir)}`);
}

/** listBackgroundImages returns the image names usable as `image` (files in imagesDir); [] when the folder is absent. */
export async function listBackgroundImages(imagesDir: string): Promise<string[]> {
  const files = await readdir(imagesDir).catch(() => [] as string[]);
  const names = files.filter((f) => IMAGE_EXTENSIONS.some((ext) => f.endsWith(ext)))
    .map((f) => f.replace(/\.[^.]+$/, '')).filter((n) => IMAGE_NAME.test(n));
  return [...new Set(names)].sort();
}

/** QUERY_KEYS are the option names a stream key's query may set directly (`?color=00ff00`). */
const QUERY_KEYS = ['color', 'image', 'blurRadiusPx', 'threshold', 'edgeSoftness', 'smoothing', 'model'] as const;

/**
 * backgroundFromQuery maps stream-key query parameters to options: `bg` (or `mode`) is the mode,
 * `blur` is short for `blurRadiusPx`, and the option names themselves (`color`, `image`, ...).
 */
export function backgroundFromQuery(query: Readonly<Record<string, string | undefined>>): QueryOptions {
  const options: Record<string, unknown> = {};
  const mode = query.bg ?? query.mode;
  if (mode !== undefined) options.mode = mode;
  for (const key of QUERY_KEYS) if (query[key] !== undefined) options[key] = query[key];
  if (query.blur !== undefined) options.blurRadiusPx = query.blur;
  return { options };
}

/**
 * prepareBackground resolves the image name to a checked file path for the worker (`imagePath`).
 * @throws PluginOptionsError `ERR_BACKGROUND_IMAGE` for mode 'image' without a usable image.
 */
export function prepareBackground(options: BackgroundOptions, imagesDir: string): BackgroundOptions {
  if (options.mode !== 'image') return { ...options, imagePath: '' };
  if (!options.image) throw new PluginOptionsError('ERR_BACKGROUND_IMAGE', "mode 'image' needs an image name (?image=<name>)");
  return { ...options, imagePath: resolveImagePath(imagesDir, options.image) };
}
