/**
 * Per-stream load shedding: how often the plugins may run their models (frames between runs).
 *
 * The interval rises by one frame when a frame is dropped, or when the stream's queue has stayed
 * backed up: its depth, smoothed over about half a second of frames, reaches BACKLOG_FRAMES. A
 * single burst of two decoded frames (a pipe read that brought both at once, another process's
 * short CPU spike) does not shed: that made even a lone stream on an idle machine run at interval
 * 2. After a rise the shedder waits SETTLE_FRAMES before it may rise again, so the lower model
 * load has time to drain the queue: the burst of frames a stream's start brings (a few dropped
 * while the workers' code is still cold) is one step, not four. It falls back by one after
 * CALM_FRAMES_TO_RELAX frames in a row with the smoothed depth under CALM_BELOW and no drop, so a
 * lone stream keeps full quality while many streams share the CPU instead of dropping frames.
 */

/** Weight of the newest observation in the smoothed queue depth (~15 frames, 0.5 s at 30 fps). */
const SMOOTHING = 1 / 15;
/** Smoothed queue depth (frames) that counts as a sustained backlog. */
const BACKLOG_FRAMES = 1.5;
/** Frames after a rise before a backlog may raise the interval again. */
const SETTLE_FRAMES = 30;
/** Smoothed queue depth (frames) under which a frame counts as calm. */
const CALM_BELOW = 0.5;
/** Calm frames in a row before the interval falls by one. */
const CALM_FRAMES_TO_RELAX = 60;

/** LoadShedder tracks one stream's model interval (frames between model runs). */
export class LoadShedder {
  private interval = 1;
  private calmFrames = 0;
  private smoothedDepth = 0;
  private framesSinceRise = SETTLE_FRAMES;

  constructor(private readonly maxInterval: number) {}

  /** modelIntervalFrames is the current interval, 1..maxInterval. */
  get modelIntervalFrames(): number {
    return this.interval;
  }

  /** backlogFrames is the smoothed queue depth (frames) the shedder acts on. */
  get backlogFrames(): number {
    return this.smoothedDepth;
  }

  /**
   * observe takes the queue depth (frames waiting) after a frame was queued, and whether frames
   * were dropped since the last call. Called once per frame.
   */
  observe(queued: number, droppedSinceLast: boolean): void {
    this.smoothedDepth += (queued - this.smoothedDepth) * SMOOTHING;
    this.framesSinceRise += 1;
    if (droppedSinceLast || this.smoothedDepth >= BACKLOG_FRAMES) {
      this.calmFrames = 0;
      if (this.interval < this.maxInterval && this.framesSinceRise >= SETTLE_FRAMES) {
        this.interval += 1;
        this.framesSinceRise = 0;
      }
      return;
    }
    if (this.smoothedDepth >= CALM_BELOW) {
      this.calmFrames = 0;
      return;
    }
    if (++this.calmFrames >= CALM_FRAMES_TO_RELAX && this.interval > 1) {
      this.interval -= 1;
      this.calmFrames = 0;
    }
  }
}
