/**
 * Prometheus metrics for `GET /metrics`: default Node process metrics plus one series per live
 * stream (label `stream` = stream key), read from the stream registry at scrape time so the
 * frame path is untouched. A stream's series disappear at the first scrape after it ends.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PUBLISH_REFUSAL_REASONS, type StreamInfo, type StreamRegistry } from '../ingest/stream-registry.ts';
import { FRAME_PLUGINS } from '../../plugins/index.ts';
import { EVENT_METRICS } from '../events/event-metrics.ts';
import type { EventMetricsSource } from '../events/event-service.ts';
import { PEOPLE_METRICS } from '../people/people-metrics.ts';
import type { PeopleMetricsSource } from '../people/people-service.ts';
import { PLAY_REFUSAL_REASONS, type PlayPolicy } from '../security/play-policy.ts';
import { FORWARD_OUTCOMES, type StreamForwarder } from '../cluster/stream-forwarding.ts';

/** METRIC_PREFIX starts the name of every live-matte metric. */
export const METRIC_PREFIX = 'livematte_';

/** StreamMetricSpec is one per-stream metric: its name, type, help text and how it reads a stream. */
export interface StreamMetricSpec {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  /** Extra labels beside `stream`. */
  labels?: string[];
  /** read returns the values for one stream, each with its extra labels. */
  read(stream: StreamInfo): { labels?: Record<string, string>; value: number }[];
}

const one = (value: number) => [{ value }];
const seconds = (ms: number) => ms / 1000;

/**
 * PLUGIN_GAUGES are the per-stream gauges plugins declare (a stream has them while it runs the plugin) (`gauges` in a definition, e.g. faces'
 * `livematte_faces`), read from the latest processed frame of streams that run the plugin.
 */
export const PLUGIN_GAUGES: readonly StreamMetricSpec[] = Object.values(FRAME_PLUGINS).flatMap((def) =>
  Object.entries(def.gauges ?? {}).map(([name, help]) => ({
    name, type: 'gauge' as const, help: `${help} (plugin ${def.name})`,
    read: (s: StreamInfo) => {
      const value = s.stats.gauges[`${def.name}.${name}`];
      return def.name in s.plugins && value !== undefined ? one(value) : [];
    },
  })));

/**
 * STREAM_METRICS lists the per-stream metrics. Counters are a stream's running totals since its
 * pipeline started; they start again at 0 when the publisher reconnects (Prometheus' `rate()`
 * handles that as a counter reset).
 */
export const STREAM_METRICS: readonly StreamMetricSpec[] = [
  { name: 'fps_in', type: 'gauge', help: 'Decoded frames per second entering the pipeline (last 3 s).', read: (s) => one(s.stats.fpsIn) },
  { name: 'fps_out', type: 'gauge', help: 'Frames per second written to the encoder (last 3 s).', read: (s) => one(s.stats.fpsOut) },
  { name: 'frames_in_total', type: 'counter', help: 'Frames decoded since the stream started.', read: (s) => one(s.stats.framesIn) },
  { name: 'frames_out_total', type: 'counter', help: 'Frames written to the encoder since the stream started.', read: (s) => one(s.stats.framesOut) },
  { name: 'dropped_frames_total', type: 'counter', help: 'Frames dropped because the inference queue was full (the last output repeated).', read: (s) => one(s.stats.droppedFrames) },
  { name: 'plugin_errors_total', type: 'counter', help: 'Frames a plugin failed on (passed unprocessed, covered, or the last frame repeated).', read: (s) => one(s.stats.pluginErrors) },
  {
    name: 'frames_covered_total',
    type: 'counter',
    labels: ['plugin'],
    help: 'Frames a fail-closed plugin (e.g. faces) failed on that left covered instead (its last known regions, or the whole frame), by plugin in the stream\'s chain (always 0 for pass-through plugins).',
    read: (s) => Object.keys(s.plugins).map((plugin) => ({ labels: { plugin }, value: s.stats.coveredFrames[plugin] ?? 0 })),
  },
  { name: 'ffmpeg_restarts_total', type: 'counter', help: 'Restarts of the stream\'s ffmpeg children.', read: (s) => one(s.stats.restarts) },
  { name: 'queue_depth_frames', type: 'gauge', help: 'Frames waiting for the inference pool.', read: (s) => one(s.stats.queueDepth) },
  { name: 'process_seconds', type: 'gauge', help: 'Mean worker time per frame over the last 300 frames, seconds.', read: (s) => one(seconds(s.stats.processMs)) },
  { name: 'inference_seconds', type: 'gauge', help: 'Mean model inference time per frame over the last 300 frames, seconds.', read: (s) => one(seconds(s.stats.inferenceMs)) },
  { name: 'decoder_backlog_seconds', type: 'gauge', help: 'Video waiting for the decoder to read it, seconds at the stream\'s recent bitrate (0 while it keeps up; bounded at about 1 s).', read: (s) => one(seconds(s.stats.decoderBacklogMs)) },
  { name: 'decoder_skipped_tags_total', type: 'counter', help: 'Video tags dropped to the next keyframe because the decoder was about 1 s behind.', read: (s) => one(s.stats.decoderSkippedTags) },
  { name: 'encoder_backlog_frames', type: 'gauge', help: 'Frames written to the encoder that it has not taken yet (bounded at about 1 s).', read: (s) => one(s.stats.encoderBacklogFrames) },
  { name: 'frame_buffers_allocated_total', type: 'counter', help: 'Frame buffers allocated since the stream started (flat once its pool covers the load; steady growth is churn for the garbage collector).', read: (s) => one(s.stats.frameBuffersAllocated) },
  { name: 'hls_broken_segments_total', type: 'counter', help: 'HLS segments of the stream found cut short or missing on the media root (a full or failing disk), served to players as gaps.', read: (s) => one(s.hls.brokenSegments) },
  { name: 'model_interval_frames', type: 'gauge', help: 'Load shedding: frames between model runs now (1 = every frame).', read: (s) => one(s.stats.modelIntervalFrames) },
  {
    name: 'stage_seconds',
    type: 'gauge',
    labels: ['stage'],
    help: 'Mean worker-side time per processed frame of each plugin stage (e.g. stage="background.inference"), seconds.',
    read: (s) => Object.entries(s.stats.stageMs).map(([key, ms]) => ({ labels: { stage: key.replace(/Ms$/, '') }, value: seconds(ms) })),
  },
  {
    name: 'frame_latency_seconds',
    type: 'gauge',
    labels: ['quantile'],
    help: 'Decoder output to encoder input latency per frame over the last 300 frames, seconds, by quantile.',
    read: (s) => [
      { labels: { quantile: '0.5' }, value: seconds(s.stats.latencyMs.p50) },
      { labels: { quantile: '0.95' }, value: seconds(s.stats.latencyMs.p95) },
      { labels: { quantile: '0.99' }, value: seconds(s.stats.latencyMs.p99) },
    ],
  },
  ...PLUGIN_GAUGES,
];

/** ACTIVE_STREAMS_HELP is the help text of `livematte_active_streams`. */
const ACTIVE_STREAMS_HELP = 'Streams being processed now.';
/** MAX_STREAMS_HELP is the help text of `livematte_max_streams`. */
const MAX_STREAMS_HELP = 'pipeline.maxStreams: streams processed at once before more publishers are refused (0 = no limit).';
/** MEDIA_FREE_HELP is the help text of `livematte_media_root_free_bytes`. */
const MEDIA_FREE_HELP = 'Bytes free for the server on the media root\'s file system (checked every 2 s; absent when it can not be read).';
/** MEDIA_LOW_HELP is the help text of `livematte_media_root_low`. */
const MEDIA_LOW_HELP = '1 while the media root has less free space than hls.minFreeBytes, else 0.';
/** REFUSED_HELP is the help text of `livematte_publishes_refused_total`. */
const REFUSED_HELP = `Publishes refused since the server started, by reason: ${PUBLISH_REFUSAL_REASONS.join(', ')} (server_full: pipeline.maxStreams reached; options: plugin options on the stream key not valid).`;

/** PLAYS_REFUSED_HELP is the help text of `livematte_plays_refused_total`. */
const PLAYS_REFUSED_HELP = `Plays refused since the server started, by protocol and reason: RTMP players (rtmp: ${PLAY_REFUSAL_REASONS.rtmp.join(', ')}; raw_*: auth.rawPlay) and HLS requests answered 403 (hls: ${PLAY_REFUSAL_REASONS.hls.join(', ')}; auth.playSecret).`;

/** FORWARDS_HELP is the help text of `livematte_cluster_forwards_total`. */
const FORWARDS_HELP = `Requests about a stream held by another node of the cluster since the server started, by outcome: ${FORWARD_OUTCOMES.join(', ')} (forwarded: answered by the holder, whatever its status; only with cluster.enabled).`;

/** describeMetrics lists live-matte's own metrics (name, type, labels, help), for the docs. */
export function describeMetrics(): { name: string; type: string; labels: string[]; help: string }[] {
  return [
    { name: `${METRIC_PREFIX}active_streams`, type: 'gauge', labels: [], help: ACTIVE_STREAMS_HELP },
    { name: `${METRIC_PREFIX}max_streams`, type: 'gauge', labels: [], help: MAX_STREAMS_HELP },
    { name: `${METRIC_PREFIX}publishes_refused_total`, type: 'counter', labels: ['reason'], help: REFUSED_HELP },
    { name: `${METRIC_PREFIX}plays_refused_total`, type: 'counter', labels: ['protocol', 'reason'], help: PLAYS_REFUSED_HELP },
    { name: `${METRIC_PREFIX}media_root_free_bytes`, type: 'gauge', labels: [], help: MEDIA_FREE_HELP },
    { name: `${METRIC_PREFIX}media_root_low`, type: 'gauge', labels: [], help: MEDIA_LOW_HELP },
    { name: `${METRIC_PREFIX}cluster_forwards_total`, type: 'counter', labels: ['outcome'], help: FORWARDS_HELP },
    ...STREAM_METRICS.map((m) => ({ name: METRIC_PREFIX + m.name, type: m.type, labels: ['stream', ...(m.labels ?? [])], help: m.help })),
    ...EVENT_METRICS.map((m) => ({ name: METRIC_PREFIX + m.name, type: m.type, labels: m.labels, help: m.help })),
    ...PEOPLE_METRICS.map((m) => ({ name: METRIC_PREFIX + m.name, type: m.type, labels: m.labels, help: m.help })),
  ];
}

/** MetricsResponse is one scrape's body and content type. */
export interface MetricsResponse {
  contentType: string;
  body: string;
}

/**
 * createMetrics makes a dedicated prom-client registry (not the global one) over `streams` (and
 * `events`, when events are on; `plays`, the play refusals; `people`, the gallery, when events are
 * on; `forwards`, the cluster's forwarded calls, when `cluster.enabled`) and returns the scrape
 * function for `GET /metrics`.
 */
export function createMetrics(streams: StreamRegistry, events?: EventMetricsSource, plays?: PlayPolicy, people?: PeopleMetricsSource,
  forwards?: Pick<StreamForwarder, 'outcomes'>): () => Promise<MetricsResponse> {
  const register = new Registry();
  collectDefaultMetrics({ register });
  // One registry.list() per scrape, shared by every collect() below.
  let current: StreamInfo[] = [];

  const serverGauges: [name: string, help: string, read: () => number][] = [
    ['active_streams', ACTIVE_STREAMS_HELP, () => current.length],
    ['max_streams', MAX_STREAMS_HELP, () => streams.maxStreams],
  ];
  for (const [name, help, read] of serverGauges) {
    new Gauge({ name: METRIC_PREFIX + name, help, registers: [register], collect() { this.set(read()); } });
  }
  new Gauge({
    name: `${METRIC_PREFIX}media_root_free_bytes`, help: MEDIA_FREE_HELP, registers: [register],
    collect() {
      this.reset();
      const free = streams.media.snapshot().freeBytes;
      if (free !== undefined) this.set(free);
    },
  });
  new Gauge({ name: `${METRIC_PREFIX}media_root_low`, help: MEDIA_LOW_HELP, registers: [register], collect() { this.set(streams.media.snapshot().low ? 1 : 0); } });
  new Counter({
    name: `${METRIC_PREFIX}publishes_refused_total`,
    help: REFUSED_HELP,
    labelNames: ['reason'],
    registers: [register],
    collect() {
      this.reset();
      for (const [reason, count] of streams.refusedPublishes()) this.inc({ reason }, count);
    },
  });
  if (plays) {
    new Counter({
      name: `${METRIC_PREFIX}plays_refused_total`,
      help: PLAYS_REFUSED_HELP,
      labelNames: ['protocol', 'reason'],
      registers: [register],
      collect() {
        this.reset();
        for (const { protocol, reason, count } of plays.refusalCounts()) this.inc({ protocol, reason }, count);
      },
    });
  }
  if (forwards) {
    new Counter({
      name: `${METRIC_PREFIX}cluster_forwards_total`,
      help: FORWARDS_HELP,
      labelNames: ['outcome'],
      registers: [register],
      collect() {
        this.reset();
        for (const [outcome, count] of forwards.outcomes()) this.inc({ outcome }, count);
      },
    });
  }
  for (const spec of STREAM_METRICS) {
    const config = { name: METRIC_PREFIX + spec.name, help: spec.help, labelNames: ['stream', ...(spec.labels ?? [])], registers: [register] };
    // reset() first, so a stream that has ended loses its series.
    if (spec.type === 'counter') {
      new Counter({
        ...config,
        collect() {
          this.reset();
          for (const s of current) for (const v of spec.read(s)) this.inc({ stream: s.key, ...v.labels }, v.value);
        },
      });
    } else {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          for (const s of current) for (const v of spec.read(s)) this.set({ stream: s.key, ...v.labels }, v.value);
        },
      });
    }
  }

  for (const spec of events ? EVENT_METRICS : []) {
    const config = { name: METRIC_PREFIX + spec.name, help: spec.help, labelNames: spec.labels, registers: [register] };
    const fill = (metric: Counter | Gauge) => {
      metric.reset();
      for (const v of spec.read(events!)) (metric instanceof Counter ? metric.inc(v.labels ?? {}, v.value) : metric.set(v.labels ?? {}, v.value));
    };
    if (spec.type === 'counter') new Counter({ ...config, collect() { fill(this); } });
    else new Gauge({ ...config, collect() { fill(this); } });
  }

  for (const spec of people ? PEOPLE_METRICS : []) {
    const config = { name: METRIC_PREFIX + spec.name, help: spec.help, labelNames: spec.labels, registers: [register] };
    const fill = (metric: Counter | Gauge) => {
      metric.reset();
      for (const v of spec.read(people!)) (metric instanceof Counter ? metric.inc(v.labels ?? {}, v.value) : metric.set(v.labels ?? {}, v.value));
    };
    if (spec.type === 'counter') new Counter({ ...config, collect() { fill(this); } });
    else new Gauge({ ...config, collect() { fill(this); } });
  }

  // Scrapes run one at a time: each reads its own snapshot through `current`.
  let previous: Promise<unknown> = Promise.resolve();
  return () => {
    const scrape = previous.then(async () => {
      current = streams.list();
      try {
        return { contentType: register.contentType, body: await register.metrics() };
      } finally {
        current = [];
      }
    });
    previous = scrape.catch(() => undefined);
    return scrape;
  };
}
