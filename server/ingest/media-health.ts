/**
 * Watches what the encoders write to the media root: its free space (statfs every
 * `intervalMs`, 2 s by default) and the segments each live stream's playlist lists (see
 * hls-segment-check.ts). ffmpeg's HLS muxer goes on listing cut-off segments on a full disk and
 * prints nothing, so this is how a full or failing disk is seen: logged once when it starts (per
 * stream for broken segments) and once when it is over, shown by `/healthz` as `degraded`, and
 * counted in metrics. It only reads: the encoders recover on their own when space returns.
 */
import { readFile, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../logger.ts';
import { SegmentChecker, type SegmentVerdict } from './hls-segment-check.ts';
import { PlaylistServer, guardPlaylist, isWholePlaylist } from './hls-playlist-guard.ts';

/** MediaHealthOptions configures the watch. */
export interface MediaHealthOptions {
  /** The media root (its file system is the one statfs reads). */
  mediaRoot: string;
  /** Free bytes below which the media root counts as low (`hls.minFreeBytes`; 0 = never). */
  minFreeBytes: number;
  /** ms between checks (default 2000). */
  intervalMs?: number;
  /** The playlists of the live streams now, by stream key. */
  playlists: () => ReadonlyMap<string, string>;
}

/** StreamMediaHealth is one stream's record of broken segments. */
interface StreamRecord {
  /** Segment URIs already judged (a segment is judged once, after it is listed). */
  judged: Set<string>;
  broken: number;
  /** True from a broken segment until the next whole one. */
  failing: boolean;
}

/** MediaHealthSnapshot is what `/healthz` and the metrics read. */
export interface MediaHealthSnapshot {
  /** Bytes free for the server on the media root's file system (undefined before the first check or when statfs fails). */
  freeBytes?: number;
  /** True while freeBytes is below minFreeBytes. */
  low: boolean;
  /** Keys of streams whose newest listed segment was broken. */
  failingStreams: string[];
  /** Broken segments seen since the server started, all streams. */
  brokenSegments: number;
}

/** MediaHealth runs the checks on a timer (unref'd) between start() and stop(). */
export class MediaHealth {
  readonly checker = new SegmentChecker();
  /** Serves the playlists to players, through the same segment verdicts. */
  readonly playlists = new PlaylistServer(this.checker);
  private readonly streams = new Map<string, StreamRecord>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private freeBytes?: number;
  private low = false;
  private brokenTotal = 0;
  private statfsFailed = false;

  constructor(private readonly options: MediaHealthOptions, private readonly log: Logger) {}

  /** start begins the periodic checks (idempotent). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => { void this.check(); }, this.options.intervalMs ?? 2000);
    this.timer.unref();
    void this.check();
  }

  /** stop ends the checks and waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** forget drops what is remembered of a stream folder that was removed. */
  forget(dir: string): void {
    this.checker.forget(dir);
    this.playlists.forget(dir);
  }

  /** brokenSegments is the number of broken segments seen in a stream's playlist since it started (0 for an unknown key). */
  brokenSegments(key: string): number {
    return this.streams.get(key)?.broken ?? 0;
  }

  /** snapshot is the state as of the last check. */
  snapshot(): MediaHealthSnapshot {
    return {
      freeBytes: this.freeBytes, low: this.low, brokenSegments: this.brokenTotal,
      failingStreams: [...this.streams].filter(([, r]) => r.failing).map(([key]) => key),
    };
  }

  /** check runs one round now (the timer's work); concurrent calls share one round. */
  check(): Promise<void> {
    this.running ??= this.round().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async round(): Promise<void> {
    await this.checkSpace();
    const playlists = this.options.playlists();
    for (const key of this.streams.keys()) if (!playlists.has(key)) this.streams.delete(key);
    for (const [key, path] of playlists) await this.checkPlaylist(key, path);
  }

  private async checkSpace(): Promise<void> {
    const { mediaRoot, minFreeBytes } = this.options;
    try {
      const s = await statfs(mediaRoot);
      this.freeBytes = s.bavail * s.bsize;
      this.statfsFailed = false;
    } catch (err) {
      if (!this.statfsFailed) this.log.warn({ mediaRoot, err: (err as Error).message }, 'free space of the media root could not be read');
      this.statfsFailed = true;
      this.freeBytes = undefined;
      return;
    }
    const low = minFreeBytes > 0 && this.freeBytes < minFreeBytes;
    if (low && !this.low) {
      this.log.warn({ mediaRoot, freeBytes: this.freeBytes, minFreeBytes }, 'media root low on space: HLS segments may be cut short (hls.minFreeBytes)');
    } else if (!low && this.low) {
      this.log.info({ mediaRoot, freeBytes: this.freeBytes, minFreeBytes }, 'media root has space again');
    }
    this.low = low;
  }

  private async checkPlaylist(key: string, path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return; // not written yet, or the stream just ended
    }
    if (!isWholePlaylist(text)) return; // emptied by a full disk: judged when written whole again
    const record = this.streams.get(key) ?? { judged: new Set<string>(), broken: 0, failing: false };
    this.streams.set(key, record);
    const { gaps } = await guardPlaylist(text, dirname(path), this.checker);
    const listed = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const broken = new Map(gaps.map((g) => [g.uri, g.verdict]));
    for (const uri of listed) {
      if (record.judged.has(uri)) continue;
      record.judged.add(uri);
      const verdict = broken.get(uri);
      if (verdict) this.onBroken(key, record, uri, verdict);
      else if (record.failing) {
        record.failing = false;
        this.log.info({ stream: key, segment: uri, brokenSegments: record.broken }, 'HLS segments written whole again');
      }
    }
    // Forget URIs that left the playlist, so the set stays as small as the playlist.
    for (const uri of record.judged) if (!listed.includes(uri)) record.judged.delete(uri);
  }

  private onBroken(key: string, record: StreamRecord, uri: string, verdict: SegmentVerdict): void {
    record.broken += 1;
    this.brokenTotal += 1;
    if (record.failing) return;
    record.failing = true;
    this.log.warn({ stream: key, segment: uri, bytes: verdict.bytes, reason: verdict.ok ? undefined : verdict.reason, freeBytes: this.freeBytes },
      'HLS segment written incomplete (media root full or failing?): served as a gap, logged once until segments are whole again');
  }
}

/**
 * mediaHealthReport words a snapshot for `/healthz`: `media` always, and `status: 'degraded'`
 * with `problems` (sentences) while the media root is low or a stream's segments are broken.
 */
export function mediaHealthReport(s: MediaHealthSnapshot): Record<string, unknown> {
  const problems: string[] = [];
  if (s.low) problems.push(`media root low on space: ${s.freeBytes} bytes free`);
  for (const key of s.failingStreams) problems.push(`stream '${key}': HLS segments written incomplete`);
  const media = { freeBytes: s.freeBytes ?? null, low: s.low, brokenSegments: s.brokenSegments };
  return problems.length ? { status: 'degraded', problems, media } : { media };
}
