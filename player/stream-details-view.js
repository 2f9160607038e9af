/**
 * The selected stream's figures (from `GET /api/streams` and hls.js), its plugins' figures (shown
 * only while that plugin runs on the stream), and the URLs to watch it elsewhere (processed HLS,
 * processed RTMP, original RTMP).
 */
import { setText } from './dom.js';
import { withPlayQuery } from './play-query.js';

const DASH = '—';

/** sumOf adds the `keys` of `record` that are numbers; undefined when none is. */
function sumOf(record, keys) {
  const values = keys.map((k) => record?.[k]).filter((v) => typeof v === 'number' && Number.isFinite(v));
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) : undefined;
}

function fixed(value, digits) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : DASH;
}

/**
 * streamUrls gives the URLs of one stream; `rtmpPort` comes from /healthz (undefined while unknown),
 * `playQuery` (the page's signed-URL query, '' when none) is added to the processed ones.
 */
export function streamUrls(stream, rtmpPort, loc = window.location, playQuery = '') {
  const rtmpBase = rtmpPort ? `rtmp://${loc.hostname}:${rtmpPort}` : undefined;
  return {
    hls: withPlayQuery(new URL(stream.hlsPath, loc.origin).href, playQuery),
    'processed-rtmp': rtmpBase ? withPlayQuery(`${rtmpBase}${stream.outputPath}`, playQuery) : DASH,
    'original-rtmp': rtmpBase ? `${rtmpBase}${stream.streamPath}` : DASH,
  };
}

/**
 * StreamDetailsView fills the `[data-stat]` and `[data-url]` elements under `root`; an element with
 * `data-plugin="<name>"` (a figure of that plugin) is hidden unless the plugin runs on the stream.
 */
export class StreamDetailsView {
  constructor(root) {
    this.stats = Object.fromEntries([...root.querySelectorAll('[data-stat]')].map((el) => [el.dataset.stat, el]));
    this.urls = [...root.querySelectorAll('[data-url]')];
    this.pluginFigures = [...root.querySelectorAll('[data-plugin]')];
  }

  /** render shows `stream` (or dashes when undefined), the player's own latency in s, and URLs carrying `playQuery`. */
  render(stream, rtmpPort, behindLiveSeconds, playQuery = '') {
    const s = stream?.stats;
    const values = {
      fpsIn: fixed(s?.fpsIn, 1),
      fpsOut: fixed(s?.fpsOut, 1),
      droppedFrames: s ? String(s.droppedFrames) : DASH,
      inferenceMs: fixed(s?.inferenceMs, 1),
      latencyP50: fixed(s?.latencyMs?.p50, 0),
      latencyP95: fixed(s?.latencyMs?.p95, 0),
      resolution: stream?.width && stream?.height ? `${stream.width}×${stream.height}` : DASH,
      audio: stream?.hasAudio === undefined ? DASH : stream.hasAudio ? 'Yes' : 'No',
      behindLive: fixed(behindLiveSeconds, 1),
      // The faces plugin's gauge (confirmed faces in the latest processed frame) and its detector's
      // mean time per run (letterbox + model, ms; frames between model runs report none).
      faces: fixed(s?.gauges?.['faces.faces'], 0),
      facesDetectorMs: fixed(sumOf(s?.stageMs, ['faces.preprocessMs', 'faces.inferenceMs']), 1),
    };
    for (const el of this.pluginFigures) el.hidden = !(stream?.plugins && el.dataset.plugin in stream.plugins);
    for (const [name, el] of Object.entries(this.stats)) {
      const value = values[name] ?? DASH;
      setText(el, value !== DASH && el.dataset.unit ? `${value} ${el.dataset.unit}` : value);
    }
    const urls = stream ? streamUrls(stream, rtmpPort, window.location, playQuery) : {};
    for (const el of this.urls) {
      if (el.dataset.url in urls) setText(el, urls[el.dataset.url]);
    }
  }
}
