/**
 * Face tracking across frames: each face keeps a track id while it stays in view.
 *
 * Association is greedy by overlap (IoU of the predicted box and the detection), then by centre
 * distance for fast motion; the box is smoothed (alpha-beta filter: position and size move part of
 * the way to each measurement, so boxes do not jitter) and predicted with a constant velocity
 * between detector runs and while the detector misses the face. A track lives `holdMs` after its
 * last detection and until at least MIN_MISSED_RUNS detector runs have missed it, then ends (so
 * under load shedding, when the detector runs seldom, one missed run does not end a track). A track counts as confirmed after `confirmRuns` detector runs saw it.
 * The state is plain data: it travels with the frame between worker threads.
 */
import type { FaceDetection } from '../../models/face/decode.ts';
import type { PixelBox } from '../plugin-api.ts';

/** CentreBox is a box by its centre and size, px. */
export interface CentreBox {
  cx: number;
  cy: number;
  w: number;
  h: number;
}

/** FaceTrack is one tracked face. */
export interface FaceTrack {
  /** Track id, unique within the stream (counts up from 1). */
  id: number;
  /** Smoothed (or predicted) box at `frameIndex`, px. */
  box: CentreBox;
  /** Smoothed box at the last detection: predictions start from it, px. */
  anchor: CentreBox;
  /** Motion per frame of centre and size, px. */
  velocity: CentreBox;
  /** The detector's own box when it saw the face on `frameIndex` (null: predicted), px. */
  measured: PixelBox | null;
  /** The detection the velocity is measured from (last matched detection), px. */
  lastMeasured: CentreBox;
  /** Score 0..1 of the last detection. */
  score: number;
  /** 6 keypoints of the last detection, px (right eye, left eye, nose tip, mouth, right ear, left ear). */
  keypoints: [number, number][];
  /** Detector runs that saw the face. */
  hits: number;
  /** True from the `confirmRuns`-th detector run that saw it. */
  confirmed: boolean;
  /** Frame index the box belongs to. */
  frameIndex: number;
  /** Frame index and PTS (ms) of the last detection. */
  lastDetectedIndex: number;
  lastDetectedMs: number;
  /** Detector runs since the last detection that did not find the face (absent: 0). */
  missedRuns?: number;
  /**
   * Frame index of the last detection that continued this track without a clear-cut match (by
   * centre distance after a jump, or overlapping another track or detection too): where two faces
   * may have swapped tracks. Recognition checks such a track's identity again at once.
   */
  ambiguousAt?: number;
}

/** TrackerState is a stream's tracks and the next track id. */
export interface TrackerState {
  nextId: number;
  tracks: FaceTrack[];
  /** Frame index of the last update or prediction (-1: none). */
  frameIndex: number;
}

/** TrackerSettings: hold time after the last detection (ms) and detector runs to confirm. */
export interface TrackerSettings {
  holdMs: number;
  confirmRuns: number;
}

/** Share of a measurement the smoothed centre (and size) moves to. */
const POSITION_GAIN = 0.7;
const SIZE_GAIN = 0.5;
/** Share of a new velocity measurement in the velocity estimate. */
const VELOCITY_GAIN = 0.5;
/** Past PREDICTION_GRACE_FRAMES frames without a detection, the motion decays by this factor per frame, so a lost face's box does not fly away. */
const VELOCITY_DECAY = 0.85;
const PREDICTION_GRACE_FRAMES = 2;
/** Overlap from which a detection continues a track; below, a centre within this share of the size does. */
const MIN_IOU = 0.1;
const MAX_CENTRE_DISTANCE = 0.75;
/** A track ends only once this many detector runs in a row have missed it (and `holdMs` has passed). */
export const MIN_MISSED_RUNS = 2;
/** At most this many tracks per stream (the lowest scores are dropped first). */
export const MAX_TRACKS = 64;

/** createTrackerState returns the state of a stream with no tracks yet. */
export function createTrackerState(): TrackerState {
  return { nextId: 1, tracks: [], frameIndex: -1 };
}

/** isTrackerState is true when `value` is a usable tracker state (a state lost with a dying worker is not). */
export function isTrackerState(value: unknown): value is TrackerState {
  const s = value as TrackerState | undefined;
  return typeof s === 'object' && s !== null && Array.isArray(s.tracks) && Number.isInteger(s.nextId) && Number.isInteger(s.frameIndex);
}

/**
 * predictTracks moves every track to `frameIndex` at its velocity and ends those whose last
 * detection is older than `holdMs` at `ptsMs` and that MIN_MISSED_RUNS detector runs have missed. A frame index that went backwards (a new decoder
 * timeline) starts over with no tracks, keeping the id counter.
 */
export function predictTracks(state: TrackerState, frameIndex: number, ptsMs: number, settings: TrackerSettings): TrackerState {
  if (frameIndex < state.frameIndex) return { nextId: state.nextId, tracks: [], frameIndex };
  const tracks: FaceTrack[] = [];
  for (const t of state.tracks) {
    if (ptsMs - t.lastDetectedMs > settings.holdMs && (t.missedRuns ?? 0) >= MIN_MISSED_RUNS) continue;
    if (frameIndex === t.frameIndex) {
      tracks.push(t);
      continue;
    }
    const travel = predictedTravel(frameIndex - t.lastDetectedIndex);
    const a = t.anchor;
    const v = t.velocity;
    const box = { cx: a.cx + v.cx * travel, cy: a.cy + v.cy * travel, w: Math.max(1, a.w + v.w * travel), h: Math.max(1, a.h + v.h * travel) };
    tracks.push({ ...t, box, measured: null, frameIndex });
  }
  return { nextId: state.nextId, tracks, frameIndex };
}

/** predictedTravel is how many frames of motion `frames` frames after a detection stand for: 1 each for the grace frames, then decaying. */
function predictedTravel(frames: number): number {
  let travel = 0;
  for (let k = 0; k < frames; k++) travel += VELOCITY_DECAY ** Math.max(0, k - PREDICTION_GRACE_FRAMES);
  return travel;
}

/**
 * updateTracks predicts the tracks to `frameIndex`, matches `detections` (frame px, from a detector
 * run on this frame) to them, updates the matched ones, starts a track for each unmatched
 * detection, and returns the new state (tracks sorted by id).
 */
export function updateTracks(state: TrackerState, detections: readonly FaceDetection[], frameIndex: number, ptsMs: number, settings: TrackerSettings): TrackerState {
  const predicted = predictTracks(state, frameIndex, ptsMs, settings);
  const tracks = predicted.tracks;
  const boxes = detections.map(toCentreBox);
  const pairs: { t: number; d: number; iou: number; distance: number }[] = [];
  for (let t = 0; t < tracks.length; t++) {
    for (let d = 0; d < boxes.length; d++) {
      const a = tracks[t]!.box;
      const b = boxes[d]!;
      const distance = Math.hypot(a.cx - b.cx, a.cy - b.cy) / Math.max(a.w, a.h, b.w, b.h);
      pairs.push({ t, d, iou: iou(a, b), distance });
    }
  }
  const trackTaken = new Set<number>();
  const detectionTaken = new Set<number>();
  const matches: [number, number, boolean][] = [];
  const overlapsOfTrack = new Map<number, number>();
  const overlapsOfDetection = new Map<number, number>();
  for (const p of pairs) {
    if (p.iou < MIN_IOU) continue;
    overlapsOfTrack.set(p.t, (overlapsOfTrack.get(p.t) ?? 0) + 1);
    overlapsOfDetection.set(p.d, (overlapsOfDetection.get(p.d) ?? 0) + 1);
  }
  const take = (list: typeof pairs, byOverlap: boolean) => {
    for (const p of list) {
      if (trackTaken.has(p.t) || detectionTaken.has(p.d)) continue;
      trackTaken.add(p.t);
      detectionTaken.add(p.d);
      matches.push([p.t, p.d, !byOverlap || overlapsOfTrack.get(p.t)! > 1 || overlapsOfDetection.get(p.d)! > 1]);
    }
  };
  take(pairs.filter((p) => p.iou >= MIN_IOU).sort((a, b) => b.iou - a.iou), true);
  take(pairs.filter((p) => p.distance <= MAX_CENTRE_DISTANCE).sort((a, b) => a.distance - b.distance), false);

  const next: FaceTrack[] = tracks.map((t, i) => (trackTaken.has(i) ? t : { ...t, missedRuns: (t.missedRuns ?? 0) + 1 }));
  for (const [t, d, ambiguous] of matches) {
    next[t] = correct(tracks[t]!, detections[d]!, boxes[d]!, frameIndex, ptsMs, settings);
    if (ambiguous) next[t] = { ...next[t]!, ambiguousAt: frameIndex };
  }
  let nextId = predicted.nextId;
  for (let d = 0; d < detections.length; d++) {
    if (detectionTaken.has(d)) continue;
    const det = detections[d]!;
    const box = boxes[d]!;
    next.push({
      id: nextId++,
      box,
      anchor: box,
      velocity: { cx: 0, cy: 0, w: 0, h: 0 },
      measured: toPixelBox(det),
      lastMeasured: box,
      score: det.score,
      keypoints: det.keypoints.map((k) => [k.x, k.y]),
      hits: 1,
      confirmed: settings.confirmRuns <= 1,
      frameIndex,
      lastDetectedIndex: frameIndex,
      lastDetectedMs: ptsMs,
      missedRuns: 0,
    });
  }
  if (next.length > MAX_TRACKS) next.sort((a, b) => b.score - a.score).length = MAX_TRACKS;
  next.sort((a, b) => a.id - b.id);
  return { nextId, tracks: next, frameIndex };
}

function correct(track: FaceTrack, det: FaceDetection, m: CentreBox, frameIndex: number, ptsMs: number, settings: TrackerSettings): FaceTrack {
  const p = track.box;
  const box = {
    cx: p.cx + POSITION_GAIN * (m.cx - p.cx),
    cy: p.cy + POSITION_GAIN * (m.cy - p.cy),
    w: p.w + SIZE_GAIN * (m.w - p.w),
    h: p.h + SIZE_GAIN * (m.h - p.h),
  };
  const dt = Math.max(1, frameIndex - track.lastDetectedIndex);
  const last = track.lastMeasured;
  const v = track.velocity;
  const velocity = {
    cx: v.cx + VELOCITY_GAIN * ((m.cx - last.cx) / dt - v.cx),
    cy: v.cy + VELOCITY_GAIN * ((m.cy - last.cy) / dt - v.cy),
    w: v.w + VELOCITY_GAIN * ((m.w - last.w) / dt - v.w),
    h: v.h + VELOCITY_GAIN * ((m.h - last.h) / dt - v.h),
  };
  const hits = track.hits + 1;
  return {
    ...track,
    box,
    anchor: box,
    velocity,
    measured: toPixelBox(det),
    lastMeasured: m,
    score: det.score,
    keypoints: det.keypoints.map((k) => [k.x, k.y]),
    hits,
    confirmed: track.confirmed || hits >= settings.confirmRuns,
    frameIndex,
    lastDetectedIndex: frameIndex,
    lastDetectedMs: ptsMs,
    missedRuns: 0,
  };
}

/** trackPixelBox is a track's smoothed box as a top-left PixelBox, px. */
export function trackPixelBox(track: FaceTrack): PixelBox {
  const { cx, cy, w, h } = track.box;
  return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
}

function toCentreBox(d: FaceDetection): CentreBox {
  return { cx: d.xMin + d.width / 2, cy: d.yMin + d.height / 2, w: d.width, h: d.height };
}

function toPixelBox(d: FaceDetection): PixelBox {
  return { x: d.xMin, y: d.yMin, width: d.width, height: d.height };
}

function iou(a: CentreBox, b: CentreBox): number {
  const ix = Math.max(0, Math.min(a.cx + a.w / 2, b.cx + b.w / 2) - Math.max(a.cx - a.w / 2, b.cx - b.w / 2));
  const iy = Math.max(0, Math.min(a.cy + a.h / 2, b.cy + b.h / 2) - Math.max(a.cy - a.h / 2, b.cy - b.h / 2));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}
