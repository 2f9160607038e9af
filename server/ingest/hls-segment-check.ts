/**
 * Whether an HLS segment on disk is whole. A segment cut short by a full or failing disk is still
 * listed by ffmpeg's HLS muxer, which prints nothing about it (measured on a full tmpfs: 0-byte
 * segments and ones of 245760 and 253952 bytes, all in the playlist). An MPEG-TS file is a run of
 * 188-byte packets, each starting with the sync byte 0x47, so a whole segment is non-empty, a
 * multiple of 188 bytes long, and has the sync byte at its first and its last packet.
 */
import { open } from 'node:fs/promises';

/** TS_PACKET_BYTES is the size of one MPEG-TS packet. */
export const TS_PACKET_BYTES = 188;
const SYNC_BYTE = 0x47;

/** SegmentVerdict says whether a segment file is whole, and if not why ('missing', 'empty', 'truncated'). */
export type SegmentVerdict = { ok: true; bytes: number } | { ok: false; bytes: number; reason: 'missing' | 'empty' | 'truncated' };

/**
 * SegmentChecker checks segment files and remembers each verdict by path, size and modification
 * time, so a playlist served to many players reads each segment's two sync bytes once.
 */
export class SegmentChecker {
  private readonly verdicts = new Map<string, { size: number; mtimeMs: number; verdict: SegmentVerdict }>();

  /** check resolves with the verdict on the segment at `path` (never rejects: an unreadable file is 'missing'). */
  async check(path: string): Promise<SegmentVerdict> {
    let file;
    try {
      file = await open(path, 'r');
    } catch {
      this.verdicts.delete(path);
      return { ok: false, bytes: 0, reason: 'missing' };
    }
    try {
      const { size, mtimeMs } = await file.stat();
      const known = this.verdicts.get(path);
      if (known && known.size === size && known.mtimeMs === mtimeMs) return known.verdict;
      const verdict = await judge(file, size);
      this.verdicts.set(path, { size, mtimeMs, verdict });
      return verdict;
    } catch {
      return { ok: false, bytes: 0, reason: 'missing' };
    } finally {
      await file.close().catch(() => {});
    }
  }

  /** forget drops the remembered verdicts of paths under `dir` (a stream folder that was removed). */
  forget(dir: string): void {
    for (const path of this.verdicts.keys()) if (path.startsWith(dir)) this.verdicts.delete(path);
  }
}

async function judge(file: import('node:fs/promises').FileHandle, size: number): Promise<SegmentVerdict> {
  if (size === 0) return { ok: false, bytes: 0, reason: 'empty' };
  if (size % TS_PACKET_BYTES !== 0) return { ok: false, bytes: size, reason: 'truncated' };
  const byte = Buffer.alloc(1);
  for (const at of [0, size - TS_PACKET_BYTES]) {
    await file.read(byte, 0, 1, at);
    if (byte[0] !== SYNC_BYTE) return { ok: false, bytes: size, reason: 'truncated' };
  }
  return { ok: true, bytes: size };
}
