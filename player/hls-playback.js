/**
 * HLS playback of one playlist in one <video>: hls.js where Media Source Extensions exist, the
 * browser's own HLS otherwise, with hls.js's documented recovery for fatal errors.
 */
import Hls from '/vendor/hls.js/hls.min.mjs';

/**
 * HLS_CONFIG keeps playback near the live edge of the server's 2 s segments: start 3 segments
 * back, jump forward if 6 behind, and catch up gently by playing up to 10 % faster.
 */
export const HLS_CONFIG = {
  // The ES module build of hls.js can not inline its transmux worker; load it from the server.
  workerPath: '/vendor/hls.js/hls.worker.js',
  enableWorker: true,
  lowLatencyMode: false,
  liveSyncDurationCount: 3,
  liveMaxLatencyDurationCount: 6,
  maxLiveSyncPlaybackRate: 1.1,
  liveDurationInfinity: true,
  maxBufferLength: 12,
  backBufferLength: 20,
  startFragPrefetch: true,
};

/** Fatal network errors are retried with `hls.startLoad()` after 0.5, 1, 2, 4, 8, 8 ... s. */
const NETWORK_BACKOFF_MS = { first: 500, max: 8000 };
/** After this many retries without a fragment arriving, the hls.js instance is recreated. */
const MAX_NETWORK_RETRIES = 6;
/** A second fatal media error within this time swaps the audio codec before recovering. */
const MEDIA_ERROR_REPEAT_MS = 3000;
/** Delay before recreating after an unrecoverable error (doubles up to 16 s). */
const RECREATE_DELAY_MS = 2000;
/** hlsErrors keeps at most this many entries. */
const MAX_ERRORS_KEPT = 100;

/**
 * HlsPlayback plays one URL at a time in `video`. It counts into `state` (`hlsErrors`,
 * `fatalErrors`, `recoveries`, `fragmentsLoaded`; see window.playerState) and reports its status through
 * `onStatus(status, message)`: 'loading' | 'playing' | 'buffering' | 'recovering' | 'ended' |
 * 'blocked' (autoplay refused) | 'unsupported'.
 */
export class HlsPlayback {
  constructor(video, state, onStatus) {
    this.video = video;
    this.state = state;
    this.onStatus = onStatus;
    this.hls = null;
    this.url = null;
    this.generation = 0;
    this.timers = new Set();
    this.ended = false;
    this.recovering = false;
    this.resetCounters();
    video.addEventListener('playing', () => {
      this.recovering = false;
      if (this.url && !this.ended) this.onStatus('playing');
    });
    video.addEventListener('waiting', () => this.url && !this.ended && this.onStatus('buffering'));
    video.addEventListener('ended', () => this.url && this.markEnded());
    video.addEventListener('error', () => this.onNativeError());
  }

  /** engine tells which playback path this browser gets: 'hls.js', 'native' or 'none'. */
  static get engine() {
    if (Hls.isSupported()) return 'hls.js';
    if (document.createElement('video').canPlayType('application/vnd.apple.mpegurl')) return 'native';
    return 'none';
  }

  /** hlsVersion is the bundled hls.js version. */
  static get hlsVersion() {
    return Hls.version;
  }

  /** latencySeconds is how far playback is behind the live edge, or undefined. */
  get latencySeconds() {
    const latency = this.hls?.latency;
    return Number.isFinite(latency) && latency > 0 ? latency : undefined;
  }

  /** load starts playing `url`, replacing whatever played before. */
  load(url) {
    this.teardown();
    this.resetCounters();
    this.url = url;
    this.create();
  }

  /** stop ends playback and releases the media element. */
  stop() {
    this.teardown();
    this.url = null;
    this.video.removeAttribute('src');
    this.video.load();
  }

  resetCounters() {
    this.networkRetries = 0;
    this.lastMediaErrorAt = -Infinity;
    this.audioCodecSwapped = false;
    this.recreations = 0;
  }

  teardown() {
    this.generation += 1;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.ended = false;
    this.recovering = false;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
  }

  /** later runs `fn` after `ms` unless playback was stopped or reloaded meanwhile. */
  later(ms, fn) {
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (generation === this.generation) fn();
    }, ms);
    this.timers.add(timer);
  }

  create() {
    this.onStatus('loading');
    const engine = HlsPlayback.engine;
    if (engine === 'none') {
      this.onStatus('unsupported', 'This browser can play neither Media Source Extensions nor HLS.');
      return;
    }
    if (engine === 'native') {
      this.video.src = this.url;
      this.play();
      return;
    }
    const hls = new Hls(HLS_CONFIG);
    this.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.play());
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
      if (data.details && !data.details.live) this.markEnded();
    });
    hls.on(Hls.Events.FRAG_LOADED, () => {
      this.state.fragmentsLoaded += 1;
    });
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      this.networkRetries = 0;
      this.recreations = 0;
      // Recovery that never starved the buffer brings no 'playing' event; report it here.
      if (this.recovering) {
        this.recovering = false;
        if (!this.video.paused && this.video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) this.onStatus('playing');
      }
    });
    hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(hls, data));
    hls.loadSource(this.url);
    hls.attachMedia(this.video);
  }

  play() {
    const attempt = this.video.play();
    if (attempt) {
      attempt.catch((err) => {
        if (err?.name === 'NotAllowedError') this.onStatus('blocked', 'Press play to start (the browser blocked autoplay).');
      });
    }
  }

  setRecovering(message) {
    this.recovering = true;
    this.onStatus('recovering', message);
  }

  markEnded() {
    if (this.ended) return;
    this.ended = true;
    this.onStatus('ended');
  }

  record(data) {
    const errors = this.state.hlsErrors;
    errors.push({
      type: data.type, details: data.details, fatal: Boolean(data.fatal),
      reason: data.reason ?? data.error?.message ?? (data.response ? `HTTP ${data.response.code}` : undefined),
      at: new Date().toISOString(),
    });
    if (errors.length > MAX_ERRORS_KEPT) errors.splice(0, errors.length - MAX_ERRORS_KEPT);
  }

  // Recovery follows hls.js's API.md ("Fatal Error Recovery").
  onHlsError(hls, data) {
    if (hls !== this.hls) return;
    this.record(data);
    if (!data.fatal) return;
    this.state.fatalErrors += 1;
    if (this.ended) return;
    const { ErrorTypes, ErrorDetails } = Hls;
    const manifestFailed = [ErrorDetails.MANIFEST_LOAD_ERROR, ErrorDetails.MANIFEST_LOAD_TIMEOUT, ErrorDetails.MANIFEST_PARSING_ERROR].includes(data.details);
    if (data.type === ErrorTypes.NETWORK_ERROR && !manifestFailed && this.networkRetries < MAX_NETWORK_RETRIES) {
      const delay = Math.min(NETWORK_BACKOFF_MS.max, NETWORK_BACKOFF_MS.first * 2 ** this.networkRetries);
      this.networkRetries += 1;
      this.setRecovering(`Network error (${data.details}); retrying in ${(delay / 1000).toFixed(1)} s`);
      this.later(delay, () => {
        this.state.recoveries += 1;
        hls.startLoad();
      });
    } else if (data.type === ErrorTypes.MEDIA_ERROR) {
      const now = performance.now();
      const repeated = now - this.lastMediaErrorAt < MEDIA_ERROR_REPEAT_MS;
      this.lastMediaErrorAt = now;
      if (repeated && this.audioCodecSwapped) {
        this.recreate(`media error (${data.details}) after recovery and codec swap`);
        return;
      }
      this.setRecovering(`Media error (${data.details}); recovering`);
      this.state.recoveries += 1;
      if (repeated) {
        this.audioCodecSwapped = true;
        hls.swapAudioCodec();
      }
      hls.recoverMediaError();
    } else {
      this.recreate(`${data.type} (${data.details})`);
    }
  }

  onNativeError() {
    if (this.hls || !this.url || this.ended) return;
    this.state.fatalErrors += 1;
    this.state.hlsErrors.push({ type: 'nativeError', details: `MediaError ${this.video.error?.code ?? '?'}`, fatal: true, at: new Date().toISOString() });
    this.recreate('native playback error');
  }

  /** recreate destroys the player and builds a new one after a growing delay. */
  recreate(reason) {
    const delay = Math.min(16000, RECREATE_DELAY_MS * 2 ** this.recreations);
    this.recreations += 1;
    const { url } = this;
    const recreations = this.recreations;
    this.teardown();
    this.setRecovering(`Restarting the player in ${Math.round(delay / 1000)} s: ${reason}`);
    this.later(delay, () => {
      this.state.recoveries += 1;
      this.url = url;
      this.resetCounters();
      this.recreations = recreations;
      this.create();
    });
  }
}
