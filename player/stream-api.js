/**
 * The server's HTTP API as the player uses it: the stream list, health (for the RTMP port), the
 * plugins there are and their option schemas, plugin changes on a live stream (with the admin
 * token when the server has one), and a look at a playlist before playback starts.
 */

/** ApiError is a failed API call: `code` is the server's error code (e.g. `ERR_PLUGIN_OPTIONS`). */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/** fetchJson fetches `path` (never from the HTTP cache) and resolves with its JSON; rejects with ApiError on a non-2xx answer. */
export async function fetchJson(path, init = {}) {
  const response = await fetch(path, { cache: 'no-store', ...init });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(body?.message ?? `HTTP ${response.status} from ${path}`, body?.error ?? 'ERR_HTTP', response.status);
  }
  return body;
}

// A cluster node lists every node's streams at /api/cluster/streams; a single server answers it 404.
let streamsPath = '/api/cluster/streams';

/** listStreams returns the StreamInfo array of `GET /api/cluster/streams` (a cluster: every node's), else of `GET /api/streams`. */
export async function listStreams() {
  let body;
  try {
    body = await fetchJson(streamsPath);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && streamsPath !== '/api/streams')) throw err;
    streamsPath = '/api/streams';
    body = await fetchJson(streamsPath);
  }
  return Array.isArray(body?.streams) ? body.streams : [];
}

/** getHealth returns `/healthz` (`{ status, streams, rtmpPort, workers }`). */
export function getHealth() {
  return fetchJson('/healthz');
}

/** listPlugins returns `GET /api/plugins`' descriptions (`{ name, description, options, defaults, inDefaultChain, ... }`). */
export async function listPlugins() {
  const body = await fetchJson('/api/plugins');
  return Array.isArray(body?.plugins) ? body.plugins : [];
}

/** jsonHeaders are a control request's headers; `token` (the admin token, '' for none) goes in as a Bearer. */
function jsonHeaders(token) {
  return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

/**
 * setBackground posts `{ mode, color, blurRadiusPx, image }` to a live stream and resolves with
 * the options the server applied; rejects with ApiError (404 gone, 400 invalid options or image,
 * 401 without the admin token, 409 background off on the stream).
 */
export async function setBackground(key, request, token = '') {
  const body = await fetchJson(`/api/streams/${encodeURIComponent(key)}/background`, {
    method: 'POST',
    headers: jsonHeaders(token),
    body: JSON.stringify(request),
  });
  return body.background;
}

/**
 * patchPlugin sends `PATCH /api/streams/<key>/plugins/<name>` with `patch` (options, plus
 * `enabled: true|false` to add or remove the plugin) and resolves with `{ name, enabled, options }`
 * (`options` null when off); rejects with ApiError (400 invalid options, naming the option; 401
 * without the admin token; 404 stream or plugin unknown; 409 options for a plugin that is off).
 */
export function patchPlugin(key, name, patch, token = '') {
  return fetchJson(`/api/streams/${encodeURIComponent(key)}/plugins/${encodeURIComponent(name)}`, {
    method: 'PATCH',
    headers: jsonHeaders(token),
    body: JSON.stringify(patch),
  });
}

/**
 * playlistState reads a media playlist: how many segments it lists and whether it has
 * `#EXT-X-ENDLIST`. A publisher that comes back within the server's retention time reuses the
 * old (ended) playlist until its first new segment is written, so playback waits for `ready`.
 */
export async function playlistState(hlsPath) {
  const response = await fetch(hlsPath, { cache: 'no-store' });
  if (!response.ok) return { ready: false, segments: 0, ended: false };
  const text = await response.text();
  const segments = (text.match(/^#EXTINF:/gm) ?? []).length;
  const ended = /^#EXT-X-ENDLIST/m.test(text);
  return { ready: segments > 0 && !ended, segments, ended };
}
