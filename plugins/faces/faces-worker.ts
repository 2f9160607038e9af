/**
 * Worker part of the `faces` plugin, run once per frame in the inference pool.
 *
 * `analyse` (on the decoded frame, before any plugin edits it): run the face detector on this
 * frame (or, under load shedding, on every `modelIntervalFrames`-th frame), update the stream's
 * tracks (predicted on frames without a detector run), publish them as `annotations.faces` and
 * as detections. `process` (after the plugins before it, e.g. the background): draw over every
 * track, confirmed or not, grown while it is only predicted. `cover` (the plugin fails closed):
 * when drawing failed, the frame's tracks are filled solid; when detection failed, nothing is
 * known about this frame's faces and the host covers the whole frame.
 */
import { defineFramePluginWorker, type Detection, type FaceAnnotation, type FrameContext, type YuvFrame } from '../plugin-api.ts';
import { FACE_MODELS } from '../../models/face/face-models.ts';
import { hexToYuv } from '../yuv-color.ts';
import { blurRegion, fillRegion, markBox, pixelateRegion } from './anonymise-yuv.ts';
import { detectFrameFaces } from './face-detector.ts';
import { coverRegion, type CoverRegion } from './face-regions.ts';
import { createTrackerState, isTrackerState, predictTracks, trackPixelBox, updateTracks, type FaceTrack, type TrackerState } from './face-tracker.ts';
import { MATCH_DEFAULTS, type PreparedFacesOptions as FacesOptions } from './faces-options.ts';
import { FaceEmbedder } from '../../models/face/face-embedder.ts';
import { frameFaceChip } from './face-chip.ts';
import { matchEmbedding } from './face-matching.ts';
import {
  addVote, checkAgain, createIdentityState, DEFAULT_IDENTITY_SETTINGS, identityLabel, isIdentityState, isShown, pickForEmbedding, syncIdentities,
  type IdentityState,
} from './face-identity.ts';

/**
 * The mosaic reaches this much further than the margin (fraction of the face size): a flat patch
 * with a sharp edge the shape of a head is still a face to BlazeFace (measured on the corridor
 * clip: 1 frame in 24 at margin 0.2, none at 0.4), so the mosaic takes in the hair around it.
 */
export const PIXELATE_EXTRA_MARGIN = 0.2;

/** FacesState is a stream's tracker state plus the frame index of the last detector run (-1: none). */
export interface FacesState extends TrackerState {
  lastRunIndex: number;
  /** Identities of the tracks (recognition on), else absent. */
  identity?: IdentityState;
}

/** MIN_RECOGNITION_FACE_PX is the smallest face box width (frame px) that is embedded: a smaller face stays unrecognised (and hidden with `anonymise: unknown`). */
export const MIN_RECOGNITION_FACE_PX = 24;

/** recognising is true when the options ask for identities. */
export function recognising(options: Pick<FacesOptions, 'recognise' | 'anonymise'>): boolean {
  return options.recognise || options.anonymise === 'unknown';
}

/** shouldDetect is true when the detector runs on frame `index`: always, except that load shedding (`interval` > 1) skips frames after a run. */
export function shouldDetect(state: FacesState, index: number, interval: number): boolean {
  return interval <= 1 || state.lastRunIndex < 0 || index < state.lastRunIndex || index - state.lastRunIndex >= interval;
}

function annotation(track: FaceTrack, index: number, label?: string | null): FaceAnnotation {
  return {
    ...(label !== undefined && { label }),
    trackId: track.id,
    box: trackPixelBox(track),
    score: track.score,
    keypoints: track.lastDetectedIndex === index ? track.keypoints : [],
    confirmed: track.confirmed,
    detected: track.lastDetectedIndex === index,
  };
}

function regions(ctx: FrameContext<FacesOptions, FacesState>, tracks: readonly FaceTrack[], extraMargin = 0): CoverRegion[] {
  const { frame, options } = ctx;
  return tracks.map((t) => coverRegion(t, frame.index, frame.width, frame.height, options.margin + extraMargin, options.shape)).filter((r): r is CoverRegion => r !== null);
}

function draw(frame: YuvFrame, options: FacesOptions, tracks: readonly FaceTrack[], covers: readonly CoverRegion[], labels: ReadonlyMap<number, string | null>): void {
  if (options.mode === 'blur') for (const r of covers) blurRegion(frame, r, options.blurStrength);
  else if (options.mode === 'pixelate') {
    for (const r of covers) {
      blurRegion(frame, r, options.blurStrength);
      pixelateRegion(frame, r, options.mosaicBlocks);
    }
  }
  else if (options.mode === 'box') for (const r of covers) fillRegion(frame, r, hexToYuv(options.color));
  else if (options.mode === 'mark') {
    for (const t of tracks) {
      const label = labels.get(t.id);
      markBox(frame, trackPixelBox(t), hexToYuv(options.color), label === undefined ? t.score.toFixed(2) : label ?? 'unknown');
    }
  }
}

/** The faces plugin's worker part (default export). */
export default defineFramePluginWorker<FacesOptions, FacesState>({
  async analyse(ctx) {
    const { frame, options } = ctx;
    const previous: FacesState = isTrackerState(ctx.state) && Number.isInteger(ctx.state.lastRunIndex) ? ctx.state : { ...createTrackerState(), lastRunIndex: -1 };
    const settings = { holdMs: options.holdMs, confirmRuns: options.confirmRuns };
    const timings: Record<string, number> = {};
    let state: FacesState;
    if (shouldDetect(previous, frame.index, Math.floor(ctx.modelIntervalFrames ?? 1))) {
      const spec = FACE_MODELS[options.model];
      const pass = await detectFrameFaces(frame, spec, await ctx.model(spec.modelId), options.minScore, options.tiles);
      state = { ...updateTracks(previous, pass.faces, frame.index, frame.ptsMs, settings), lastRunIndex: frame.index };
      timings.preprocessMs = pass.preprocessMs;
      timings.inferenceMs = pass.inferenceMs;
      timings.detectorRuns = pass.runs;
    } else {
      state = { ...predictTracks(previous, frame.index, frame.ptsMs, settings), lastRunIndex: previous.lastRunIndex };
    }
    const gallery = ctx.shared?.gallery;
    if (recognising(options)) {
      const recognised = await recognise(ctx, state, previous.identity);
      state = { ...state, identity: recognised.identity };
      timings.embedMs = recognised.embedMs;
      timings.embeddings = recognised.embeddings;
    } else state = { ...state, identity: undefined };
    const identities = new Map(state.identity?.identities.map((i) => [i.trackId, i]));
    const faces = state.tracks.map((t) => annotation(t, frame.index, state.identity && identityLabel(identities.get(t.id), gallery)));
    ctx.annotations.faces = [...(ctx.annotations.faces ?? []), ...faces];
    const detections: Detection[] = faces.map((f) => {
      const score = identities.get(f.trackId)?.settled?.score;
      return {
        kind: 'face', trackId: f.trackId, score: f.score, box: f.box, confirmed: f.confirmed, detected: f.detected,
        ...(f.label !== undefined && { label: f.label }), ...(f.label != null && score !== undefined && { labelScore: Math.round(score * 1000) / 1000 }),
      };
    });
    return { state, timings, detections, gauges: { faces: faces.filter((f) => f.confirmed).length } };
  },

  async process(ctx) {
    const state = ctx.state!;
    const t0 = performance.now();
    const { mode, anonymise } = ctx.options;
    const identities = new Map(state.identity?.identities.map((i) => [i.trackId, i]));
    // anonymise 'unknown': a face is left visible only while its track is settled as an enrolled person.
    const hidden = anonymise === 'unknown' ? state.tracks.filter((t) => !isShown(identities.get(t.id))) : state.tracks;
    const covers = mode === 'mark' || mode === 'detect' ? [] : regions(ctx, hidden, mode === 'pixelate' ? PIXELATE_EXTRA_MARGIN : 0);
    const labels = new Map<number, string | null>();
    if (state.identity) {
      for (const t of state.tracks) {
        const label = identityLabel(identities.get(t.id), ctx.shared?.gallery);
        if (label !== undefined) labels.set(t.id, label);
      }
    }
    draw(ctx.frame, ctx.options, state.tracks, covers, labels);
    return { state, timings: { anonymiseMs: performance.now() - t0 } };
  },

  async cover(ctx, error) {
    const { frame, options } = ctx;
    // 'mark' and 'detect' hide nothing: the frame goes on as it is.
    if (options.mode === 'mark' || options.mode === 'detect') return { state: ctx.state };
    // When only drawing failed, `analyse` has published this frame's faces: fill them solid, grown
    // further. When detection failed nothing is known about this frame: the host covers all of it.
    const faces = ctx.annotations.faces;
    if (faces === undefined) throw error;
    const black = hexToYuv('000000');
    for (const f of faces) {
      const box = { cx: f.box.x + f.box.width / 2, cy: f.box.y + f.box.height / 2, w: f.box.width, h: f.box.height };
      const region = coverRegion({ box, measured: null, lastDetectedIndex: frame.index }, frame.index, frame.width, frame.height, options.margin + 0.2, options.shape);
      if (region !== null) fillRegion(frame, region, black);
    }
    return { state: ctx.state };
  },
});

const embedders = new WeakMap<object, FaceEmbedder>();

/**
 * recognise brings the identities up to date with this frame's tracks and the gallery, embeds the
 * tracks due for it (detected on this frame, eyes known, at least MIN_RECOGNITION_FACE_PX wide) and
 * records their votes. With no gallery, or one without reference faces, every due track votes
 * unknown without an embedding.
 */
async function recognise(ctx: FrameContext<FacesOptions, FacesState>, state: FacesState, previous: IdentityState | undefined): Promise<{ identity: IdentityState; embedMs: number; embeddings: number }> {
  const { frame, options } = ctx;
  const gallery = ctx.shared?.gallery;
  const settings = DEFAULT_IDENTITY_SETTINGS;
  let identity = syncIdentities(isIdentityState(previous) ? previous : createIdentityState(), state.tracks.map((t) => t.id), gallery);
  identity = checkAgain(identity, state.tracks.filter((t) => t.ambiguousAt === frame.index).map((t) => t.id));
  const candidates = state.tracks.filter((t) => t.lastDetectedIndex === frame.index && t.keypoints.length >= 2 && t.box.w >= MIN_RECOGNITION_FACE_PX);
  const due = pickForEmbedding(identity, candidates.map((t) => t.id), frame.ptsMs, settings);
  const t0 = performance.now();
  let embeddings = 0;
  const empty = !gallery || gallery.meta.owners.length === 0;
  if (due.length > 0 && !empty) {
    const runner = await ctx.model('face-embed');
    let embedder = embedders.get(runner);
    if (!embedder) embedders.set(runner, (embedder = new FaceEmbedder(runner)));
    for (const id of due) {
      const track = candidates.find((t) => t.id === id)!;
      const [[rx, ry], [lx, ly]] = track.keypoints as [[number, number], [number, number]];
      const embedding = await embedder.embed(frameFaceChip(frame, { x: rx, y: ry }, { x: lx, y: ly }));
      embeddings++;
      const match = matchEmbedding(embedding, gallery, { threshold: options.matchThreshold ?? MATCH_DEFAULTS.matchThreshold, margin: options.matchMargin ?? MATCH_DEFAULTS.matchMargin });
      identity = addVote(identity, id, { personId: match.personId, score: match.best }, frame.ptsMs, settings);
    }
  } else {
    for (const id of due) identity = addVote(identity, id, { personId: null, score: 0 }, frame.ptsMs, settings);
  }
  return { identity, embedMs: performance.now() - t0, embeddings };
}
