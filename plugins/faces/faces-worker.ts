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
import type { FacesOptions } from './faces-options.ts';

/**
 * The mosaic reaches this much further than the margin (fraction of the face size): a flat patch
 * with a sharp edge the shape of a head is still a face to BlazeFace (measured on the corridor
 * clip: 1 frame in 24 at margin 0.2, none at 0.4), so the mosaic takes in the hair around it.
 */
export const PIXELATE_EXTRA_MARGIN = 0.2;

/** FacesState is a stream's tracker state plus the frame index of the last detector run (-1: none). */
export interface FacesState extends TrackerState {
  lastRunIndex: number;
}

/** shouldDetect is true when the detector runs on frame `index`: always, except that load shedding (`interval` > 1) skips frames after a run. */
export function shouldDetect(state: FacesState, index: number, interval: number): boolean {
  return interval <= 1 || state.lastRunIndex < 0 || index < state.lastRunIndex || index - state.lastRunIndex >= interval;
}

function annotation(track: FaceTrack, index: number): FaceAnnotation {
  return {
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

function draw(frame: YuvFrame, options: FacesOptions, tracks: readonly FaceTrack[], covers: readonly CoverRegion[]): void {
  if (options.mode === 'blur') for (const r of covers) blurRegion(frame, r, options.blurStrength);
  else if (options.mode === 'pixelate') {
    for (const r of covers) {
      blurRegion(frame, r, options.blurStrength);
      pixelateRegion(frame, r, options.mosaicBlocks);
    }
  }
  else if (options.mode === 'box') for (const r of covers) fillRegion(frame, r, hexToYuv(options.color));
  else if (options.mode === 'mark') for (const t of tracks) markBox(frame, trackPixelBox(t), hexToYuv(options.color), t.score.toFixed(2));
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
    const faces = state.tracks.map((t) => annotation(t, frame.index));
    ctx.annotations.faces = [...(ctx.annotations.faces ?? []), ...faces];
    const detections: Detection[] = faces.map((f) => ({ kind: 'face', trackId: f.trackId, score: f.score, box: f.box, confirmed: f.confirmed, detected: f.detected }));
    return { state, timings, detections, gauges: { faces: faces.filter((f) => f.confirmed).length } };
  },

  async process(ctx) {
    const state = ctx.state!;
    const t0 = performance.now();
    const { mode } = ctx.options;
    const covers = mode === 'mark' || mode === 'detect' ? [] : regions(ctx, state.tracks, mode === 'pixelate' ? PIXELATE_EXTRA_MARGIN : 0);
    draw(ctx.frame, ctx.options, state.tracks, covers);
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
