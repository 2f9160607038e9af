/**
 * The frame rate of WebRTC video, estimated from its RTP timestamps (a 90 kHz clock, one
 * timestamp per frame): WebRTC declares none, and a browser sends what its camera and its
 * bandwidth estimate allow.
 */

/** DEFAULT_FPS is the rate assumed until enough frames were seen (a webcam's usual rate). */
export const DEFAULT_FPS = 30;
const CLOCK_HZ = 90_000;
/** Frames measured over: about two seconds at 30 fps. */
const WINDOW_FRAMES = 60;
const MIN_FRAMES = 10;

/** RtpFrameRate estimates fps from the first WINDOW_FRAMES distinct video RTP timestamps. */
export class RtpFrameRate {
  private first?: number;
  private last?: number;
  private frames = 0;

  /** observe takes one video RTP packet's timestamp (packets of one frame share it). */
  observe(timestamp: number): void {
    if (this.frames >= WINDOW_FRAMES || timestamp === this.last) return;
    // A timestamp behind the last one is a reordered packet of an earlier frame.
    if (this.last !== undefined && ((timestamp - this.last) >>> 0) > 0x80000000) return;
    this.first ??= timestamp;
    this.last = timestamp;
    this.frames += 1;
  }

  /** fps is the estimate, rounded to 0.01 and bounded to 1..60, or DEFAULT_FPS before MIN_FRAMES frames. */
  fps(): number {
    if (this.frames < MIN_FRAMES || this.first === undefined || this.last === undefined) return DEFAULT_FPS;
    const span = (this.last - this.first) >>> 0;
    if (span === 0) return DEFAULT_FPS;
    const fps = ((this.frames - 1) * CLOCK_HZ) / span;
    return Math.min(60, Math.max(1, Math.round(fps * 100) / 100));
  }
}
