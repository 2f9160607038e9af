/**
 * Finds the ffmpeg binary: the configured path, else the stream ffmpeg built by
 * `npm run build:ffmpeg` (build/ffmpeg/ffmpeg: Debian's ffmpeg source with only what the server
 * uses, ~25 MB RSS per process instead of ~70), else ffmpeg on PATH, else the static build that the
 * npm package `@ffmpeg-installer/ffmpeg` ships.
 */
import { accessSync, chmodSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { MediaServerError } from '../errors.ts';
import { PROJECT_ROOT } from '../project-root.ts';

/** Where `npm run build:ffmpeg` (scripts/build-ffmpeg.sh) puts the stream ffmpeg. */
export const STREAM_FFMPEG_PATH = join(PROJECT_ROOT, 'build', 'ffmpeg', 'ffmpeg');

function isExecutable(path: string): boolean {
  if (!path) return false;
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

/** listsAll tells whether an ffmpeg lists every name in the output of `-<list>` (demuxers, encoders, ...). */
function listsAll(ffmpegPath: string, list: string, names: string[]): boolean {
  const out = spawnSync(ffmpegPath, ['-hide_banner', `-${list}`], { encoding: 'utf8', timeout: 10_000 });
  if (out.status !== 0) return false;
  return names.every((name) => new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(out.stdout));
}

/**
 * resolveWebrtcFfmpegPath returns an ffmpeg that can repackage WebRTC media: the configured one,
 * else ffmpeg on PATH, else @ffmpeg-installer's (the stream build lacks RTP); it must have the sdp
 * and rtp demuxers, the Opus decoder, the AAC encoder and the libopus encoder (WHEP audio).
 * @param configured `webrtc.ffmpegPath` ('' = search).
 * @throws MediaServerError `ERR_FFMPEG_MISSING` when none is found or it lacks one of those.
 */
export function resolveWebrtcFfmpegPath(configured = ''): string {
  const path = resolveFfmpegPath(configured, '');
  const ok = listsAll(path, 'demuxers', ['sdp', 'rtp']) && listsAll(path, 'decoders', ['opus']) && listsAll(path, 'encoders', ['aac', 'libopus']);
  if (!ok) {
    throw new MediaServerError('ERR_FFMPEG_MISSING', 'config', `${path} can not repackage WebRTC media (it needs the sdp and rtp demuxers, the opus decoder, the aac and libopus encoders): set webrtc.ffmpegPath to a full ffmpeg, or webrtc.enabled false`, { fatal: true });
  }
  return path;
}
