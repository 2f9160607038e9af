/**
 * The `detections` event: what the plugins of one stream reported for one processed frame, as the
 * stream registry emits it on the main thread (after the frame left the pool; nothing on the frame
 * path waits for a listener).
 */
import type { Detection } from '../../plugins/plugin-api.ts';

export type { Detection } from '../../plugins/plugin-api.ts';

/** DetectionsEvent is one frame's detections on one stream. */
export interface DetectionsEvent {
  /** Stream key, e.g. `demo` for `live/demo`. */
  streamKey: string;
  /** The publisher's stream path, e.g. `/live/demo`. */
  streamPath: string;
  /** Zero-based frame index on the stream's decoded constant-frame-rate timeline. */
  frameIndex: number;
  /** Frame presentation time, ms from the stream's first decoded frame. */
  ptsMs: number;
  /** Wall-clock time (Unix epoch, ms) at which the frame's processing finished. */
  wallClockMs: number;
  /** Frame size in px (the boxes are in px of this size). */
  width: number;
  height: number;
  /** Every object the plugins reported on the frame (may be empty: nothing in view). */
  detections: Detection[];
}
