/**
 * The start-up sweep of the HLS media root: a stream folder left by an earlier run of the server
 * (killed, crashed, the machine restarted) has no live stream and no removal timer any more, so its
 * playlist would be served as live forever and such folders would pile up across restarts.
 *
 * The sweep ends each leftover playlist (`#EXT-X-ENDLIST`, so players stop waiting for segments)
 * and hands the folder back to the stream registry, which removes it after `hls.retentionMs` like
 * the folder of any finished stream (a publisher of the same key back within that time continues
 * the playlist, as after a reconnect).
 */
import { appendFile, lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OUTPUT_PREFIX, isValidStreamKey } from './stream-key.ts';

/** PLAYLIST_NAME is the file name of a stream's HLS playlist inside its folder. */
export const PLAYLIST_NAME = 'index.m3u8';
const ENDLIST = '#EXT-X-ENDLIST';

/** LeftoverFolder is one stream folder the sweep found. */
export interface LeftoverFolder {
  /** The stream key the folder belongs to (`live/stream-<key>`). */
  key: string;
  /** Absolute path of the folder. */
  dir: string;
  /** True when the sweep appended `#EXT-X-ENDLIST` (the playlist was left unended). */
  ended: boolean;
}

/**
 * endPlaylist appends `#EXT-X-ENDLIST` to an HLS playlist that does not have it; resolves true
 * when it appended, false when the playlist already ended or does not exist.
 * @throws (rejects) on read or write errors other than a missing file.
 */
export async function endPlaylist(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (text.split(/\r?\n/).some((line) => line.trim() === ENDLIST)) return false;
  await appendFile(path, `${text.length === 0 || text.endsWith('\n') ? '' : '\n'}${ENDLIST}\n`);
  return true;
}

/**
 * sweepHlsRoot ends the playlist of every stream folder (`stream-<key>`, a real folder, not a
 * symlink) under `hlsRoot` (`<mediaRoot>/live`) whose key `isOwned` does not claim, and lists
 * them; anything else in the folder is left alone. A missing `hlsRoot` gives an empty list.
 * @throws (rejects) when `hlsRoot` exists but cannot be read, or a playlist cannot be ended.
 */
export async function sweepHlsRoot(hlsRoot: string, isOwned: (key: string) => boolean): Promise<LeftoverFolder[]> {
  let names: string[];
  try {
    names = await readdir(hlsRoot);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const leftovers: LeftoverFolder[] = [];
  for (const name of names.sort()) {
    const key = name.slice(OUTPUT_PREFIX.length);
    if (!name.startsWith(OUTPUT_PREFIX) || !isValidStreamKey(key) || isOwned(key)) continue;
    const dir = join(hlsRoot, name);
    if (!(await lstat(dir)).isDirectory()) continue;
    leftovers.push({ key, dir, ended: await endPlaylist(join(dir, PLAYLIST_NAME)) });
  }
  return leftovers;
}
