/**
 * The event tracker (main thread): turns each frame's detections into events, one per
 * (stream, kind, track id). A track becomes an event once a plugin says it is confirmed; it is
 * updated on every frame it is seen on and ends when it has been absent for longer than
 * `trackLostMs` of the stream's timeline, or when its stream ends. A plugin's tracker may give up
 * on an object sooner than that (the faces plugin after its `holdMs`, 400 ms, and sooner still
 * when load shedding thins its detector runs) and then sees it again under a new track id: a new
 * track id that appears near where an open event's track was last seen (boxes overlapping, or
 * centres within RELINK_MAX_CENTRE_DISTANCE of the larger box size), same kind, while that track
 * has been absent no longer than `trackLostMs`, continues that event instead of starting another
 * (measured on sister.mkv with a second stream beside it: 600 ms gaps split one face into two
 * events). The tracker only keeps state and answers what changed: it writes nothing and never waits.
 */
import type { DetectionsEvent, Detection } from '../pipeline/detections-event.ts';
import type { PixelBox } from '../../plugins/plugin-api.ts';
import { EventIdFactory } from './event-id.ts';
import { copyEvent, relativeBox, type EndReason, type EventChange, type EventRecord } from './event-record.ts';

/** EventTrackerOptions tune the tracker. */
export interface EventTrackerOptions {
  /** A track absent for longer than this (ms of the stream's PTS) has ended: `track_lost`. */
  trackLostMs: number;
  /**
   * At most one `update` per event per this many ms of wall clock (the store and the live feed
   * need no more; each update carries the whole event). Default 1000.
   */
  updateIntervalMs?: number;
  /** Id factory (tests pass their own). */
  ids?: EventIdFactory;
}

/** TrackerOutput is what one frame changed. */
export interface TrackerOutput {
  /** Events started, updated (throttled) or ended on this frame. */
  changes: EventChange[];
  /** Open events whose top score rose on this frame: the frame is their new best moment. */
  improved: EventRecord[];
}

interface Track {
  /** Set once the track is confirmed. */
  event?: EventRecord;
  /** The record being built, before and after confirmation. */
  record: EventRecord;
  lastUpdateAt: number;
  /** Box at the last sighting, px (where a new track id may take the event over). */
  lastBox: PixelBox;
}

/** RELINK_MIN_IOU: a new track id whose box overlaps a lost track's last box this much continues its event. */
export const RELINK_MIN_IOU = 0.1;
/** RELINK_MAX_CENTRE_DISTANCE: ... or whose centre is within this share of the larger box side (fast motion). */
export const RELINK_MAX_CENTRE_DISTANCE = 1;

/** nearness scores how well box `b` continues box `a`: lower is nearer, undefined when too far to be the same object. */
function nearness(a: PixelBox, b: PixelBox): number | undefined {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  const iou = union > 0 ? inter / union : 0;
  const distance = Math.hypot(a.x + a.width / 2 - b.x - b.width / 2, a.y + a.height / 2 - b.y - b.height / 2) / Math.max(a.width, a.height, b.width, b.height, 1);
  if (iou < RELINK_MIN_IOU && distance > RELINK_MAX_CENTRE_DISTANCE) return undefined;
  return distance;
}

const trackKey = (kind: string, trackId: number) => `${kind}:${trackId}`;

/** better is true when detection `d` beats the event's best moment: a higher score, or the same score and a larger box. */
function better(d: Detection, r: EventRecord): boolean {
  if (d.score !== r.topScore) return d.score > r.topScore;
  return d.box.width * d.box.height > r.box.width * r.box.height;
}

/** EventTracker keeps the open tracks of every stream. */
export class EventTracker {
  private readonly streams = new Map<string, Map<string, Track>>();
  private readonly ids: EventIdFactory;
  private readonly updateIntervalMs: number;

  constructor(private readonly options: EventTrackerOptions) {
    this.ids = options.ids ?? new EventIdFactory();
    this.updateIntervalMs = options.updateIntervalMs ?? 1000;
  }

  /** open lists the events that have started and not ended (copies). */
  open(streamKey?: string): EventRecord[] {
    const out: EventRecord[] = [];
    for (const [key, tracks] of this.streams) {
      if (streamKey !== undefined && key !== streamKey) continue;
      for (const t of tracks.values()) if (t.event) out.push(copyEvent(t.event));
    }
    return out;
  }

  /** isOpen is true while event `id` lasts. */
  isOpen(id: string): boolean {
    for (const tracks of this.streams.values()) for (const t of tracks.values()) if (t.event?.id === id) return true;
    return false;
  }

  /** observe takes one frame's detections of one stream and returns what changed. */
  observe(d: DetectionsEvent): TrackerOutput {
    let tracks = this.streams.get(d.streamKey);
    if (!tracks) {
      tracks = new Map();
      this.streams.set(d.streamKey, tracks);
    }
    const out: TrackerOutput = { changes: [], improved: [] };
    const seen = new Set<string>();
    const present = new Set(d.detections.map((x) => trackKey(x.kind, x.trackId)));
    for (const det of d.detections) {
      const key = trackKey(det.kind, det.trackId);
      if (seen.has(key)) continue;
      seen.add(key);
      let t = tracks.get(key);
      if (!t) {
        const lost = this.lostNear(tracks, present, d, det);
        if (lost) {
          tracks.delete(lost.key);
          t = lost.track;
          this.extend(t.record, d, det);
        } else {
          t = { record: this.newRecord(d, det), lastUpdateAt: d.wallClockMs, lastBox: det.box };
        }
        tracks.set(key, t);
      } else {
        this.extend(t.record, d, det);
      }
      t.lastBox = { ...det.box };
      if (!t.event && det.confirmed) {
        t.record.id = this.ids.next(t.record.startMs);
        t.event = t.record;
        t.lastUpdateAt = d.wallClockMs;
        out.changes.push({ type: 'start', event: copyEvent(t.event) });
        out.improved.push(copyEvent(t.event));
        continue;
      }
      if (!t.event) continue;
      if (t.record.topPtsMs === d.ptsMs) out.improved.push(copyEvent(t.event));
      if (d.wallClockMs - t.lastUpdateAt >= this.updateIntervalMs) {
        t.lastUpdateAt = d.wallClockMs;
        out.changes.push({ type: 'update', event: copyEvent(t.event) });
      }
    }
    for (const [key, t] of tracks) {
      if (seen.has(key) || d.ptsMs - t.record.lastPtsMs <= this.options.trackLostMs) continue;
      tracks.delete(key);
      if (t.event) out.changes.push({ type: 'end', event: this.finish(t.event, 'track_lost') });
    }
    return out;
  }

  /**
   * lostNear finds the open event a new track id continues: same kind, its track absent from this
   * frame (not seen on it, not reported in it) and last seen where `det` is now; the nearest wins.
   */
  private lostNear(tracks: Map<string, Track>, present: ReadonlySet<string>, d: DetectionsEvent, det: Detection): { key: string; track: Track } | undefined {
    let best: { key: string; track: Track; score: number } | undefined;
    for (const [key, t] of tracks) {
      if (!t.event || t.record.kind !== det.kind || present.has(key) || t.record.lastPtsMs >= d.ptsMs) continue;
      if (d.ptsMs - t.record.lastPtsMs > this.options.trackLostMs) continue;
      const score = nearness(t.lastBox, det.box);
      if (score !== undefined && (!best || score < best.score)) best = { key, track: t, score };
    }
    return best;
  }

  /** endStream ends every open event of a stream (`stream_ended` by default) and forgets its tracks. */
  endStream(streamKey: string, reason: EndReason = 'stream_ended'): EventChange[] {
    const tracks = this.streams.get(streamKey);
    this.streams.delete(streamKey);
    if (!tracks) return [];
    return [...tracks.values()].filter((t) => t.event).map((t) => ({ type: 'end' as const, event: this.finish(t.event!, reason) }));
  }

  /** endAll ends the open events of every stream. */
  endAll(reason: EndReason = 'stream_ended'): EventChange[] {
    return [...this.streams.keys()].flatMap((key) => this.endStream(key, reason));
  }

  private finish(e: EventRecord, reason: EndReason): EventRecord {
    e.endMs = e.lastSeenMs;
    e.endReason = reason;
    return copyEvent(e);
  }

  private newRecord(d: DetectionsEvent, det: Detection): EventRecord {
    return {
      id: '', streamKey: d.streamKey, kind: det.kind, label: det.label ?? null, labelScore: det.label != null ? det.labelScore ?? null : null, trackId: det.trackId,
      startMs: d.wallClockMs, endMs: null, endReason: null,
      firstPtsMs: d.ptsMs, lastPtsMs: d.ptsMs, lastSeenMs: d.wallClockMs, frameCount: 1,
      topScore: det.score, topPtsMs: d.ptsMs, box: { ...det.box }, boxRelative: relativeBox(det.box, d.width, d.height),
      frameWidth: d.width, frameHeight: d.height, snapshot: null,
    };
  }

  private extend(r: EventRecord, d: DetectionsEvent, det: Detection): void {
    r.lastPtsMs = d.ptsMs;
    r.lastSeenMs = d.wallClockMs;
    r.frameCount += 1;
    // A settled identity sticks; `undefined` (not asked) keeps what there is.
    if (det.label !== undefined && (det.label !== null || r.label === null)) {
      r.label = det.label;
      r.labelScore = det.label !== null ? det.labelScore ?? r.labelScore ?? null : null;
    }
    if (better(det, r)) {
      r.topScore = det.score;
      r.topPtsMs = d.ptsMs;
      r.box = { ...det.box };
      r.boxRelative = relativeBox(det.box, d.width, d.height);
      r.frameWidth = d.width;
      r.frameHeight = d.height;
    }
  }
}
