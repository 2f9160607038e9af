/**
 * The player page: polls the live streams every 2 s, plays the selected stream's processed HLS,
 * shows its pipeline figures and lets the user change its plugins while it runs: the background
 * form, and for every plugin `GET /api/plugins` lists an on/off switch and its options (see
 * plugin-form.js), asking for the admin token when the server wants one. Below the stream: the
 * live events panel (events-panel.js, the server-sent events of `/api/events/live`) and the event
 * history (events-history.js), whose rows open an event's snapshot and details (event-dialog.js).
 *
 * `window.playerState` ({ streamKey, status, engine, hlsErrors, fatalErrors, recoveries,
 * fragmentsLoaded }) is for tests and for curious people with a console open.
 */
import { getHealth, listPlugins, listStreams, patchPlugin, playlistState, setBackground } from './stream-api.js';
import { HlsPlayback } from './hls-playback.js';
import { StreamListView } from './stream-list-view.js';
import { StreamDetailsView } from './stream-details-view.js';
import { BackgroundForm } from './background-form.js';
import { PluginForm, pluginTitle } from './plugin-form.js';
import { AdminToken } from './admin-token.js';
import { h, setText } from './dom.js';
import { playQuery, withPlayQuery } from './play-query.js';
import { LiveEventsPanel } from './events-panel.js';
import { EventsHistory } from './events-history.js';
import { EventDialog } from './event-dialog.js';
import { WebrtcMode } from './webrtc-mode.js';

/** The page's own signed-URL query, passed on to every HLS and RTMP URL of a stream (play-query.js). */
const PLAY_QUERY = playQuery();
/** How often the stream list and figures refresh, in ms. */
const POLL_MS = 2000;
/** Options the background form owns; the generic form shows the background plugin's others. */
const BACKGROUND_FORM_OPTIONS = ['mode', 'color', 'blurRadiusPx', 'image'];

const STATUS_LABELS = {
  idle: 'Idle', waiting: 'Waiting for segments', loading: 'Loading', playing: 'Live', buffering: 'Buffering',
  recovering: 'Recovering', blocked: 'Paused', ended: 'Ended', unsupported: 'Unsupported',
};

const $ = (id) => document.getElementById(id);
const ui = {
  serverStatus: $('server-status'),
  emptyState: $('empty-state'),
  streamView: $('stream-view'),
  title: $('stream-title'),
  status: $('player-status'),
  message: $('player-message'),
  video: $('video'),
  overlay: $('overlay'),
  overlayTitle: $('overlay-title'),
  overlayText: $('overlay-text'),
  overlayNext: $('overlay-next'),
};

const playerState = {
  streamKey: null,
  status: 'idle',
  engine: HlsPlayback.engine,
  hlsErrors: [],
  fatalErrors: 0,
  recoveries: 0,
  fragmentsLoaded: 0,
};
window.playerState = playerState;

/** session is the selected stream's lifecycle: 'none' | 'waiting' (for a ready playlist) | 'loaded' | 'ended'. */
let session = 'none';
let streams = [];
let rtmpPort;
let pollTimer;
let starting = false;

const playback = new HlsPlayback(ui.video, playerState, onPlaybackStatus);
// Low latency (WebRTC) when chosen; HLS otherwise, and whenever WebRTC fails.
const webrtc = new WebrtcMode(ui.video, $('webrtc-toggle'), () => {
  if (session !== 'loaded') return;
  webrtc.stop();
  playback.stop();
  session = 'waiting';
  void tryStart();
});
// The live hls.js instance, for tests and debugging; not enumerable so playerState stays plain JSON.
Object.defineProperty(playerState, 'hls', { get: () => playback.hls });
const list = new StreamListView($('stream-list'), $('stream-count'), $('list-empty'), (key) => select(key, true));
const details = new StreamDetailsView(ui.streamView);
const adminToken = new AdminToken($('token-form'));
const form = new BackgroundForm($('bg-form'), async (key, request) => {
  const applied = await adminToken.authorised((token) => setBackground(key, request, token), $('bg-form'));
  const stream = streams.find((s) => s.key === key);
  if (stream) {
    stream.background = applied;
    if (stream.plugins) stream.plugins.background = applied;
  }
  return applied;
});
const eventDialog = new EventDialog($('event-dialog'), {
  adminToken,
  fallbackFocus: $('events'),
  onDeleted: (id) => {
    eventsPanel.remove(id);
    eventsHistory.remove(id);
  },
});
const openEvent = (event, opener) => eventDialog.open(event, opener);
const eventsHistory = new EventsHistory($('events-history'), { onOpen: openEvent });
const eventsPanel = new LiveEventsPanel($('live-events'), {
  onOpen: openEvent,
  onChange: (event) => {
    eventsHistory.update(event);
    eventDialog.update(event);
  },
});
/** pluginForms are the generic plugin controls, by plugin name, once `GET /api/plugins` answered. */
const pluginForms = new Map();

/**
 * mountPluginForms builds a PluginForm per plugin: into its own panel in index.html when there is
 * one (`[data-plugin-panel=<name>]`, the background's), else into a new panel after the last plugin
 * panel.
 */
function mountPluginForms(plugins) {
  for (const plugin of plugins) {
    if (pluginForms.has(plugin.name)) continue;
    const own = document.querySelector(`[data-plugin-panel="${CSS.escape(plugin.name)}"]`);
    const exclude = plugin.name === 'background' ? BACKGROUND_FORM_OPTIONS : [];
    const pluginForm = new PluginForm(plugin, (key, patch) => applyPlugin(key, plugin.name, patch, pluginForm.form),
      { exclude, primary: own ? 0 : 2 });
    if (own) {
      own.querySelector('[data-plugin-switch-slot]').replaceWith(pluginForm.toggle);
      own.querySelector('[data-plugin-form-slot]').replaceWith(pluginForm.form);
    } else {
      const id = `plugin-${plugin.name}-heading`;
      const panel = h('section', { class: 'panel', 'aria-labelledby': id, dataset: { pluginPanel: plugin.name } },
        h('div', { class: 'panel-head' }, h('h2', { id }, pluginTitle(plugin.name)), pluginForm.toggle),
        plugin.description && h('p', { class: 'fine plugin-description' }, plugin.description),
        pluginForm.form);
      const panels = [...document.querySelectorAll('#panels > [data-plugin-panel]')];
      panels.at(-1).after(panel);
    }
    pluginForms.set(plugin.name, pluginForm);
  }
  showPlugins(current());
}

/** applyPlugin PATCHes one plugin of a live stream (with the admin token) and keeps the local list in step. */
async function applyPlugin(key, name, patch, anchor) {
  const answer = await adminToken.authorised((token) => patchPlugin(key, name, patch, token), anchor);
  const stream = streams.find((s) => s.key === key);
  if (stream?.plugins) {
    if (answer.enabled) stream.plugins[name] = answer.options;
    else delete stream.plugins[name];
    if (name === 'background') stream.background = answer.enabled ? answer.options : undefined;
  }
  render();
  return answer;
}

/** showPlugins gives every plugin control the selected stream's options (undefined = off). */
function showPlugins(stream) {
  if (!stream) return;
  for (const [name, pluginForm] of pluginForms) pluginForm.show(stream.key, stream.plugins?.[name]);
  // An older server lists no `plugins`: the background form then stays usable, as before.
  form.setAvailable(!stream.plugins || 'background' in stream.plugins);
}

function current() {
  return streams.find((s) => s.key === playerState.streamKey);
}

function setStatus(status, message = '') {
  playerState.status = status;
  ui.status.dataset.status = status;
  setText(ui.status, STATUS_LABELS[status] ?? status);
  setText(ui.message, message);
}

function onPlaybackStatus(status, message) {
  if (status === 'ended') {
    end('its playlist has ended', false);
    return;
  }
  if (session !== 'loaded') return;
  if (status === 'playing') ui.overlay.hidden = true;
  setStatus(status, message);
}

function showOverlay(kind, title, text) {
  ui.overlay.dataset.kind = kind;
  setText(ui.overlayTitle, title);
  setText(ui.overlayText, text);
  ui.overlay.hidden = false;
  updateNextOffer();
}

function updateNextOffer() {
  const next = session === 'ended' && streams.find((s) => s.key !== playerState.streamKey);
  ui.overlayNext.hidden = !next;
  if (next) {
    setText(ui.overlayNext, `Watch “${next.key}”`);
    ui.overlayNext.dataset.streamKey = next.key;
  }
}

/** select makes `key` the played stream; `user` tells whether a person chose it (focus moves to the video). */
function select(key, user = false) {
  if (key === playerState.streamKey && session !== 'ended') return;
  playback.stop();
  webrtc.stop();
  playerState.streamKey = key;
  session = 'waiting';
  if (decodeURIComponent(location.hash.slice(1)) !== key) history.replaceState(null, '', `#${encodeURIComponent(key)}`);
  setText(ui.title, key);
  document.title = `${key} · Live Matte player`;
  setStatus('waiting');
  showOverlay('waiting', 'Starting…', `Waiting for the first processed segments of “${key}”.`);
  form.show(key, current()?.background);
  eventsPanel.setStream(key);
  render();
  if (user) ui.video.focus({ preventScroll: true });
  void tryStart();
}

/**
 * end marks the selected stream as finished (it restarts by itself if the key is published
 * again); `stopPlayback` false lets the buffered end of an ENDLIST playlist play out.
 */
function end(reason, stopPlayback) {
  if (session === 'ended' || session === 'none') return;
  session = 'ended';
  if (stopPlayback) playback.stop();
  webrtc.stop();
  setStatus('ended', `“${playerState.streamKey}” ended: ${reason}.`);
  showOverlay('ended', 'Stream ended', `“${playerState.streamKey}” is not publishing now. Playback resumes here when it is back.`);
}

/** tryStart loads the playlist into the player once the stream is live and its playlist is current. */
async function tryStart() {
  const stream = current();
  if (starting || !stream || stream.state !== 'live' || (session !== 'waiting' && session !== 'ended')) return;
  starting = true;
  try {
    if (webrtc.wanted) {
      try {
        await webrtc.play(stream.key, withPlayQuery('', PLAY_QUERY));
        session = 'loaded';
        ui.overlay.hidden = true;
        playerState.engine = 'webrtc';
        setStatus('playing', 'Low latency (WebRTC)');
        return;
      } catch (err) {
        setStatus('loading', `WebRTC failed (${err.message}); playing HLS`);
      }
    }
    playerState.engine = HlsPlayback.engine;
    const url = withPlayQuery(stream.hlsPath, PLAY_QUERY);
    const playlist = await playlistState(url);
    if (!playlist.ready || stream.key !== playerState.streamKey || (session !== 'waiting' && session !== 'ended')) return;
    session = 'loaded';
    ui.overlay.hidden = true;
    playback.load(url);
  } catch {
    // The next poll tries again.
  } finally {
    starting = false;
  }
}

function render() {
  const stream = current();
  list.render([...streams].sort((a, b) => a.key.localeCompare(b.key)), playerState.streamKey);
  const hasSelection = playerState.streamKey !== null;
  ui.streamView.hidden = !hasSelection;
  ui.emptyState.hidden = hasSelection || streams.length > 0;
  details.render(stream, rtmpPort, session === 'loaded' ? playback.latencySeconds : undefined, PLAY_QUERY);
  if (stream) form.show(stream.key, stream.background);
  showPlugins(stream);
  if (!ui.overlay.hidden) updateNextOffer();
  renderIngestHelp();
}

function renderIngestHelp() {
  const base = `rtmp://${location.hostname}${rtmpPort ? `:${rtmpPort}` : ''}/live`;
  for (const el of document.querySelectorAll('[data-url="ingest-base"]')) setText(el, base);
  const command = document.querySelector('[data-command="ffmpeg"]');
  setText(command, `ffmpeg -re -stream_loop -1 -i talk.mp4 -c copy -f flv ${base}/demo`);
}

function setServerStatus(state, text) {
  ui.serverStatus.dataset.state = state;
  setText($('server-text'), text);
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    streams = await listStreams();
    if (rtmpPort === undefined) rtmpPort = (await getHealth().catch(() => ({}))).rtmpPort;
    const count = streams.length === 1 ? '1 stream' : `${streams.length} streams`;
    setServerStatus('ok', `Connected · ${count}`);
  } catch {
    setServerStatus('down', 'Server unreachable, retrying…');
    pollTimer = setTimeout(poll, POLL_MS);
    return;
  }
  reconcile();
  // The feed opens once the first list said which stream is selected (select() reopens it after).
  if (eventsPanel.url === null) eventsPanel.connect();
  render();
  eventsHistory.setStreams(streams.map((s) => s.key));
  await tryStart();
  pollTimer = setTimeout(poll, POLL_MS);
}

/** reconcile follows the list: picks a stream when none is selected and notices the selected one leaving. */
function reconcile() {
  const key = playerState.streamKey;
  if (key === null) {
    const wanted = decodeURIComponent(location.hash.slice(1));
    const first = streams.find((s) => s.key === wanted) ?? streams[0];
    if (first) select(first.key);
    return;
  }
  if (!current() && (session === 'loaded' || session === 'waiting')) end('it is no longer in the stream list', true);
}

ui.overlayNext.addEventListener('click', () => select(ui.overlayNext.dataset.streamKey, true));
window.addEventListener('hashchange', () => {
  const key = decodeURIComponent(location.hash.slice(1));
  if (key && key !== playerState.streamKey) select(key);
});

document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy-url], [data-copy-from]');
  if (!button) return;
  const source = button.dataset.copyUrl
    ? ui.streamView.querySelector(`[data-url="${button.dataset.copyUrl}"]`)
    : document.querySelector(`[data-command="${button.dataset.copyFrom}"]`);
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(source.textContent);
    button.textContent = 'Copied';
  } catch {
    // Clipboard access needs a secure context; select the text so Ctrl+C works instead.
    getSelection().selectAllChildren(source);
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => { button.textContent = label; }, 1500);
});

if (playerState.engine === 'none') {
  setStatus('unsupported', 'This browser supports neither Media Source Extensions nor native HLS; use the RTMP or HLS URLs in another player.');
}
setText($('engine-text'), playerState.engine === 'hls.js' ? ` · hls.js ${HlsPlayback.hlsVersion}` : ` · ${playerState.engine} HLS`);
renderIngestHelp();
void poll();
void eventsHistory.search();
/** loadPlugins asks for the plugin list until it answers (the page works without it meanwhile). */
async function loadPlugins() {
  try {
    mountPluginForms(await listPlugins());
  } catch {
    setTimeout(loadPlugins, POLL_MS);
  }
}
void loadPlugins();
