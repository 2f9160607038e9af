/**
 * The publish page: the camera and microphone (getUserMedia) go to the server over WHIP with the
 * chosen stream key, background and faces options; the processed stream comes back over WHEP
 * beside the local preview, with the sender's, the pipeline's and the receiver's figures.
 *
 * `window.publishState` ({ status, key, location, error, framesDecoded }) is for tests.
 */
import { whepPlay, whipPublish } from './webrtc-client.js';

const $ = (id) => document.getElementById(id);
const form = $('publish-form');
const statusLine = $('publish-status');
const stat = (name) => document.querySelector(`[data-stat="${name}"]`);
const state = { status: 'idle', key: null, location: null, error: null, framesDecoded: 0 };
window.publishState = state;

let camera = null;
let publisher = null;
let viewer = null;
let timer = null;

function setStatus(status, text) {
  state.status = status;
  statusLine.textContent = text;
}

function showColour() {
  form.querySelector('[data-for-bg="color"]').hidden = form.elements.bg.value !== 'color';
}
form.elements.bg.addEventListener('change', showColour);
showColour();
const params = new URLSearchParams(location.search);
for (const name of ['key', 'bg', 'faces']) if (params.has(name)) form.elements[name].value = params.get(name);
showColour();

function whipUrl(key) {
  const q = new URLSearchParams({ bg: form.elements.bg.value });
  if (form.elements.bg.value === 'color') q.set('color', form.elements.color.value.slice(1));
  if (form.elements.faces.value !== 'off') q.set('faces', form.elements.faces.value);
  return `/whip/live/${encodeURIComponent(key)}?${q}`;
}

async function waitLive(key) {
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`/api/streams/${encodeURIComponent(key)}`);
    if (res.ok && (await res.json()).state === 'live') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the stream did not start within 30 s');
}

async function start(event) {
  event.preventDefault();
  const key = form.elements.key.value.trim();
  if (!form.reportValidity()) return;
  $('start').disabled = true;
  state.error = null;
  try {
    setStatus('camera', 'Opening the camera…');
    camera = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
    $('local').srcObject = camera;
    setStatus('publishing', 'Publishing…');
    publisher = await whipPublish(whipUrl(key), camera, form.elements.token.value || undefined);
    state.key = key;
    state.location = publisher.location;
    $('stop').disabled = false;
    setStatus('starting', 'Waiting for the processed stream…');
    await waitLive(key);
    viewer = await whepPlay(`/whep/live/stream-${encodeURIComponent(key)}`, $('processed'));
    setStatus('live', `Live: live/${key} (RTMP and HLS as live/stream-${key})`);
    timer = setInterval(() => void refresh(key), 1000);
  } catch (err) {
    state.error = err.code ?? err.message;
    setStatus('error', `Failed: ${err.message}`);
    await stop();
  }
}

async function refresh(key) {
  const sent = await publisher?.pc.getStats();
  sent?.forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') stat('sent').textContent = `${s.frameWidth ?? '?'}x${s.frameHeight ?? '?'} ${Math.round(s.framesPerSecond ?? 0)} fps`;
  });
  const got = await viewer?.pc.getStats();
  got?.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      state.framesDecoded = s.framesDecoded ?? 0;
      stat('received').textContent = `${state.framesDecoded} frames, ${Math.round(s.framesPerSecond ?? 0)} fps`;
    }
  });
  const res = await fetch(`/api/streams/${encodeURIComponent(key)}`);
  if (!res.ok) return;
  const info = await res.json();
  const fps = (v) => (typeof v === 'number' ? v.toFixed(1) : '—');
  stat('pipeline').textContent = `${fps(info.stats?.fpsIn)} / ${fps(info.stats?.fpsOut)} fps`;
  const p95 = info.stats?.latencyMs?.p95;
  stat('latency').textContent = typeof p95 === 'number' ? `${Math.round(p95)} ms` : '—';
}

async function stop() {
  clearInterval(timer);
  await viewer?.stop();
  await publisher?.stop();
  camera?.getTracks().forEach((t) => t.stop());
  viewer = publisher = camera = null;
  $('start').disabled = false;
  $('stop').disabled = true;
  if (state.status !== 'error') setStatus('idle', 'Stopped');
}

form.addEventListener('submit', start);
$('stop').addEventListener('click', () => void stop());
