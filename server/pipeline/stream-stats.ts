/**
 * Per-stream counters and recent timings, read by the API, the player and the metrics.
 */

const WINDOW = 300;

/** RollingSamples keeps the last WINDOW samples of a duration for percentiles. */
export class RollingSamples {
  private readonly values: number[] = [];
  private next = 0;

  /** add records one sample. */
  add(value: number): void {
    if (this.values.length < WINDOW) this.values.push(value);
    else this.values[this.next] = value;
    this.next = (this.next + 1) % WINDOW;
  }

  /** percentile returns the p-th percentile (0..100) of the kept samples, or 0 when empty. */
  percentile(p: number): number {
    if (this.values.length === 0) return 0;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }

  /** mean of the kept samples, or 0. */
  mean(): number {
    return this.values.length ? this.values.reduce((a, b) => a + b, 0) / this.values.length : 0;
  }
}

/** RateMeter counts events and gives a rate per second over the last few seconds. */
export class RateMeter {
  private readonly stamps: number[] = [];
  total = 0;

  /** mark records one event now. */
  mark(now = performance.now()): void {
    this.total += 1;
    this.stamps.push(now);
    while (this.stamps.length > 0 && now - this.stamps[0] > 3000) this.stamps.shift();
  }

  /** perSecond is the event rate over the last 3 s (0 when idle). */
  perSecond(now = performance.now()): number {
    while (this.stamps.length > 0 && now - this.stamps[0] > 3000) this.stamps.shift();
    if (this.stamps.length < 2) return 0;
    return ((this.stamps.length - 1) * 1000) / Math.max(1, now - this.stamps[0]);
  }
}

/** StreamStatsSnapshot is what `GET /api/streams` reports for one processed stream. */
export interface StreamStatsSnapshot {
  framesIn: number;
  framesOut: number;
  droppedFrames: number;
  pluginErrors: number;
  restarts: number;
  fpsIn: number;
  fpsOut: number;
  queueDepth: number;
  /**
   * Video waiting for the decoder to read it, ms at the stream's recent bitrate: 0 while it keeps
   * up; past ~1 s, input is dropped to the next keyframe.
   */
  decoderBacklogMs: number;
  /** Video tags the decoder was not given because it was too far behind (since the stream started). */
  decoderSkippedTags: number;
  /** Frames written to the encoder that it has not taken yet (its input queue, bounded at ~1 s). */
  encoderBacklogFrames: number;
  /** Load shedding: frames between model runs now (1 = every frame). */
  modelIntervalFrames: number;
  /**
   * Frame buffers (one decoded frame each, e.g. 1.4 MB at 1280x720) allocated since the stream
   * started; it stops rising once the stream's pool covers its load. Steady growth means churn.
   */
  frameBuffersAllocated: number;
  /** Mean worker time per frame over the last samples, ms. */
  processMs: number;
  /** Mean model inference time per frame, ms (sum of every plugin's `inferenceMs`). */
  inferenceMs: number;
  /** Decoder output to encoder input per frame, ms. */
  latencyMs: { p50: number; p95: number; p99: number };
  /** Mean worker-side stage times per processed frame, ms, keyed `<plugin>.<stage>` (e.g. `background.inferenceMs`). */
  stageMs: Record<string, number>;
  /** The latest processed frame's plugin gauges, keyed `<plugin>.<name>` (e.g. `faces.faces`: faces in view). */
  gauges: Record<string, number>;
  /** Frames a fail-closed plugin failed on and that were covered instead, by plugin (since the stream started). */
  coveredFrames: Record<string, number>;
}

/** StreamStats accumulates one stream's counters. */
export class StreamStats {
  readonly in = new RateMeter();
  readonly out = new RateMeter();
  dropped = 0;
  pluginErrors = 0;
  restarts = 0;
  queueDepth = 0;
  encoderBacklogFrames = 0;
  modelIntervalFrames = 1;
  decoderSkippedTags = 0;
  /** Reads how many frame buffers the stream has allocated (set by the pipeline that owns the pool). */
  readFrameBuffersAllocated: () => number = () => 0;
  /** Reads the decoder's current backlog in ms (set by the pipeline that owns the decoder). */
  readDecoderBacklogMs: () => number = () => 0;
  readonly latency = new RollingSamples();
  readonly process = new RollingSamples();
  readonly inference = new RollingSamples();
  private readonly stages = new Map<string, RollingSamples>();
  /** The latest processed frame's plugin gauges (`<plugin>.<name>`). */
  gauges: Record<string, number> = {};
  private readonly covered = new Map<string, number>();

  /** countCovered counts one frame a fail-closed plugin failed on (covered instead of shown). */
  countCovered(plugin: string): void {
    this.covered.set(plugin, (this.covered.get(plugin) ?? 0) + 1);
  }

  /** addStages records one frame's worker timings (ms by stage name). */
  addStages(timings: Record<string, number>): void {
    for (const [name, ms] of Object.entries(timings)) {
      let samples = this.stages.get(name);
      if (!samples) this.stages.set(name, (samples = new RollingSamples()));
      samples.add(ms);
    }
  }

  /** snapshot returns the current figures. */
  snapshot(): StreamStatsSnapshot {
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      framesIn: this.in.total,
      framesOut: this.out.total,
      droppedFrames: this.dropped,
      pluginErrors: this.pluginErrors,
      restarts: this.restarts,
      fpsIn: r(this.in.perSecond()),
      fpsOut: r(this.out.perSecond()),
      queueDepth: this.queueDepth,
      decoderBacklogMs: Math.round(Math.min(1e6, this.readDecoderBacklogMs())),
      decoderSkippedTags: this.decoderSkippedTags,
      encoderBacklogFrames: this.encoderBacklogFrames,
      modelIntervalFrames: this.modelIntervalFrames,
      frameBuffersAllocated: this.readFrameBuffersAllocated(),
      processMs: r(this.process.mean()),
      inferenceMs: r(this.inference.mean()),
      latencyMs: { p50: r(this.latency.percentile(50)), p95: r(this.latency.percentile(95)), p99: r(this.latency.percentile(99)) },
      stageMs: Object.fromEntries([...this.stages].map(([k, v]) => [k, r(v.mean())])),
      gauges: { ...this.gauges },
      coveredFrames: Object.fromEntries(this.covered),
    };
  }
}
