/**
 * Per-stream load shedding: how often the plugins may run their models. The interval rises by one
 * frame as soon as the stream's queue backs up or a frame is dropped, and falls back by one after
 * a run of frames with an empty queue, so a lone stream keeps full quality while many streams
 * share the CPU instead of dropping frames.
 */

const CALM_FRAMES_TO_RELAX = 60;

/** LoadShedder tracks one stream's model interval (frames between model runs). */
export class LoadShedder {
  private interval = 1;
  private calmFrames = 0;

  constructor(private readonly maxInterval: number) {}

  /** modelIntervalFrames is the current interval, 1..maxInterval. */
  get modelIntervalFrames(): number {
    return this.interval;
  }

  /** observe takes the queue depth after a frame was queued (and whether frames were dropped). */
  observe(queued: number, droppedSinceLast: boolean): void {
    if (droppedSinceLast || queued >= 2) {
      this.interval = Math.min(this.maxInterval, this.interval + (droppedSinceLast ? 1 : 0) + (queued >= 2 ? 1 : 0));
      this.calmFrames = 0;
      return;
    }
    if (queued === 0 && ++this.calmFrames >= CALM_FRAMES_TO_RELAX && this.interval > 1) {
      this.interval -= 1;
      this.calmFrames = 0;
    }
  }
}
