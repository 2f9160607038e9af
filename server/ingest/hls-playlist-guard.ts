/**
 * Keeps broken segments out of a served HLS playlist. A segment that is not whole on disk (see
 * hls-segment-check.ts) is marked `#EXT-X-GAP` (RFC 8216bis 4.4.4.7): players skip it instead of
 * fetching a cut-off file. It stays in the list, because a media playlist numbers its segments by
 * position from `#EXT-X-MEDIA-SEQUENCE`: removing one would renumber the ones after it.
 * On a full disk ffmpeg also leaves the playlist itself empty (measured: 0 bytes for as long as the
 * disk stayed full); then the last whole version read is served, so players wait instead of failing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SegmentChecker, SegmentVerdict } from './hls-segment-check.ts';

/** GuardedPlaylist is a playlist as served, and the segments it marked as gaps. */
export interface GuardedPlaylist {
  text: string;
  /** The broken segments (URI as listed, and the verdict), oldest first. */
  gaps: { uri: string; verdict: SegmentVerdict }[];
}

const GAP_TAG = '#EXT-X-GAP';
/** A segment URI the encoders write: a plain file name inside the stream's folder. */
const LOCAL_SEGMENT = /^[A-Za-z0-9_.-]+\.ts$/;

/**
 * guardPlaylist checks every segment `text` lists (names relative to `dir`, the stream folder) and
 * marks the broken ones `#EXT-X-GAP`. Lines it does not understand are kept as they are.
 */
export async function guardPlaylist(text: string, dir: string, checker: SegmentChecker): Promise<GuardedPlaylist> {
  const lines = text.split('\n');
  const gaps: GuardedPlaylist['gaps'] = [];
  const out: string[] = [];
  let tagsOfSegment: string[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || trimmed === '') {
      tagsOfSegment.push(line);
      continue;
    }
    if (LOCAL_SEGMENT.test(trimmed)) {
      const verdict = await checker.check(join(dir, trimmed));
      if (!verdict.ok) {
        gaps.push({ uri: trimmed, verdict });
        if (!tagsOfSegment.some((t) => t.trim() === GAP_TAG)) tagsOfSegment.push(GAP_TAG);
      }
    }
    out.push(...tagsOfSegment, line);
    tagsOfSegment = [];
  }
  out.push(...tagsOfSegment);
  return { text: out.join('\n'), gaps };
}

/** isWholePlaylist is true for a playlist as ffmpeg writes it whole: the header first, a line end last. */
export const isWholePlaylist = (text: string) => text.startsWith('#EXTM3U') && text.endsWith('\n');

/**
 * PlaylistServer reads a stream's playlist for players: segments checked (guardPlaylist), and the
 * last whole version served while the file on disk is empty or cut off.
 */
export class PlaylistServer {
  private readonly lastWhole = new Map<string, string>();

  constructor(private readonly checker: SegmentChecker) {}

  /**
   * read gives the playlist at `path` (segments named relative to its folder) as served, or
   * undefined when there is none (never written, or removed: a 404).
   */
  async read(path: string): Promise<GuardedPlaylist | undefined> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      this.lastWhole.delete(path);
      return undefined;
    }
    if (isWholePlaylist(text)) this.lastWhole.set(path, text);
    else text = this.lastWhole.get(path);
    return text === undefined ? undefined : guardPlaylist(text, path.replace(/\/[^/]*$/, ''), this.checker);
  }

  /** forget drops what is remembered of playlists under `dir`. */
  forget(dir: string): void {
    for (const path of this.lastWhole.keys()) if (path.startsWith(dir)) this.lastWhole.delete(path);
  }
}
