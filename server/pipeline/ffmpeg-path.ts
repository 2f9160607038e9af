/**
 * Finds the ffmpeg binary: the configured path, else the stream ffmpeg built by
 * `npm run build:ffmpeg` (build/ffmpeg/ffmpeg: Debian's ffmpeg source with only what the server
 * uses, ~25 MB RSS per process instead of ~70), else ffmpeg on PATH, else the static build that the
 * npm package `@ffmpeg-installer/ffmpeg` ships.
 */
import { accessSync, chmodSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { MediaServerError } from '../errors.ts';
import { PROJECT_ROOT } from '../project-root.ts';

/** Where `npm run build:ffmpeg` (scripts/build-ffmpeg.sh) puts the stream ffmpeg. */
export const STREAM_FFMPEG_PATH = join(PROJECT_ROOT, 'build', 'ffmpeg', 'ffmpeg');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * resolveFfmpegPath returns an executable ffmpeg path.
 * @param configured `ffmpegPath` from the configuration ('' = search).
 * @param streamBuild where to look for the stream ffmpeg (default STREAM_FFMPEG_PATH).
 * @throws MediaServerError `ERR_FFMPEG_MISSING` when none is found.
 */
export function resolveFfmpegPath(configured = '', streamBuild = STREAM_FFMPEG_PATH): string {
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new MediaServerError('ERR_FFMPEG_MISSING', 'config', `'ffmpegPath' ${configured} is not an executable file`, { fatal: true });
  }
  if (isExecutable(streamBuild)) return streamBuild;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'ffmpeg'))) return join(dir, 'ffmpeg');
  }
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    // npm may skip the package's own chmod script; the binary ships without the x bit then.
    if (!isExecutable(installer.path)) chmodSync(installer.path, 0o755);
    return installer.path;
  } catch (cause) {
    throw new MediaServerError('ERR_FFMPEG_MISSING', 'config', 'no ffmpeg found: install it (apt-get install ffmpeg) or set ffmpegPath', { fatal: true, cause });
  }
}
