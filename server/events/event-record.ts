/**
 * The shape of a detection event as the tracker makes it, the store keeps it and the API returns
 * it: one row per tracked appearance of an object (Frigate's `Event`), not one per frame.
 */
import type { PixelBox } from '../../plugins/plugin-api.ts';

/** EventKind is what was seen (the `Detection.kind` of the plugins). */
export type EventKind = 'face' | 'person';

/** EVENT_KINDS lists every EventKind, for schemas and metrics. */
export const EVENT_KINDS: readonly EventKind[] = ['face', 'person'];

/**
 * EndReason says why an event ended: its track was absent for longer than `events.trackLostMs`
 * (`track_lost`), its stream ended (`stream_ended`), the server stopped without ending it
 * (`server_restart`, set when the store opens next), or, in a cluster sharing one store, its node
 * died and another node closed it (`node_lost`, server/cluster/dead-node-sweeper.ts).
 */
export type EndReason = 'track_lost' | 'stream_ended' | 'server_restart' | 'node_lost';

/** END_REASONS lists every EndReason. */
export const END_REASONS: readonly EndReason[] = ['track_lost', 'stream_ended', 'server_restart', 'node_lost'];

/** RelativeBox is a box in fractions 0..1 of the frame's width and height. */
export interface RelativeBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** EventRecord is one event: times are Unix epoch ms (UTC), PTS are ms of the stream's timeline. */
export interface EventRecord {
  /** Sortable id: 26 Crockford base32 characters, the first 10 the start time (ULID layout). */
  id: string;
  /** Stream key, e.g. `demo` for `live/demo`. */
  streamKey: string;
  kind: EventKind;
  /** Identity once a recognition plugin settled it; null = unknown. */
  label: string | null;
  /** Similarity 0..1 behind `label` (recognition's mean over the votes that settled it); null without a name. */
  labelScore: number | null;
  /**
   * The plugin's track id when the event started (unique within stream and kind while the object
   * stays in view; a new id that took the event over after a short loss, see EventTracker, does
   * not change it).
   */
  trackId: number;
  /** First sighting of the track (wall clock, ms), before it was confirmed. */
  startMs: number;
  /** When the object was last seen (wall clock, ms) once the event ended; null while it lasts. */
  endMs: number | null;
  /** Why it ended; null while it lasts. */
  endReason: EndReason | null;
  /** PTS of the first and the last frame the track was seen on, ms. */
  firstPtsMs: number;
  lastPtsMs: number;
  /** Wall clock of the last frame the track was seen on, ms. */
  lastSeenMs: number;
  /** Frames the track was seen on (detected or predicted). */
  frameCount: number;
  /** Highest score 0..1 over the event (ties: the larger box). */
  topScore: number;
  /** PTS of the frame with the top score, ms (the snapshot's frame). */
  topPtsMs: number;
  /** Box at the top score, px of the frame. */
  box: PixelBox;
  /** The same box in 0..1 of the frame. */
  boxRelative: RelativeBox;
  /** Frame size in px. */
  frameWidth: number;
  frameHeight: number;
  /** Snapshot file relative to `<dataDir>/snapshots` and its size in bytes; null until written. */
  snapshot: { path: string; bytes: number } | null;
}

/** EventChange is one thing that happened to an event (what the live feed sends). */
export interface EventChange {
  type: 'start' | 'update' | 'end';
  event: EventRecord;
}

/** relativeBox turns a px box into 0..1 of a `width` x `height` frame (clamped to the frame, 6 decimals). */
export function relativeBox(box: PixelBox, width: number, height: number): RelativeBox {
  const clamp = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e6) / 1e6;
  const x0 = clamp(box.x / width);
  const y0 = clamp(box.y / height);
  const x1 = clamp((box.x + box.width) / width);
  const y1 = clamp((box.y + box.height) / height);
  return { x: x0, y: y0, width: clamp(x1 - x0), height: clamp(y1 - y0) };
}

/** copyEvent is a deep copy of an event (its boxes and snapshot too), cheaper than structuredClone on the frame path. */
export function copyEvent(e: EventRecord): EventRecord {
  return { ...e, box: { ...e.box }, boxRelative: { ...e.boxRelative }, snapshot: e.snapshot && { ...e.snapshot } };
}
