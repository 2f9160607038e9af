/**
 * WHIP and WHEP clients (RFC 9725, and its playback counterpart): one POST of a complete offer
 * (candidates gathered first, as the server answers with all of its own), DELETE to end.
 */

/** ICE_GATHER_MS bounds candidate gathering before the offer is sent anyway. */
const ICE_GATHER_MS = 2000;

async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, ICE_GATHER_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

/** WebrtcError is a refused WHIP/WHEP request: `code` is the server's `ERR_...`, `status` the HTTP status. */
export class WebrtcError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function exchange(url, pc, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const headers = { 'content-type': 'application/sdp' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
  const body = await res.text();
  if (res.status !== 201) {
    let error = { error: `HTTP_${res.status}`, message: body };
    try { error = JSON.parse(body); } catch { /* not JSON */ }
    throw new WebrtcError(res.status, error.error, error.message);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  return new URL(res.headers.get('location'), new URL(url, location.href)).href;
}

/**
 * whipPublish sends `stream`'s tracks to a WHIP URL (`/whip/live/<key>?bg=...`), preferring
 * H.264. Resolves with `{ pc, location, stop() }`; rejects with a WebrtcError.
 */
export async function whipPublish(url, stream, token) {
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) {
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
    const caps = track.kind === 'video' && RTCRtpSender.getCapabilities?.('video');
    if (caps && transceiver.setCodecPreferences) {
      const h264 = caps.codecs.filter((c) => c.mimeType === 'video/H264');
      transceiver.setCodecPreferences([...h264, ...caps.codecs.filter((c) => c.mimeType !== 'video/H264')]);
    }
  }
  try {
    const location = await exchange(url, pc, token);
    return { pc, location, stop: () => end(pc, location, token) };
  } catch (err) {
    pc.close();
    throw err;
  }
}

/**
 * whepPlay plays a WHEP URL (`/whep/live/stream-<key>`) in `video`. Resolves with
 * `{ pc, location, stop() }`; rejects with a WebrtcError.
 */
export async function whepPlay(url, video, token) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const remote = new MediaStream();
  pc.addEventListener('track', (e) => {
    remote.addTrack(e.track);
    video.srcObject = remote;
  });
  try {
    const location = await exchange(url, pc, token);
    return { pc, location, stop: () => end(pc, location, token) };
  } catch (err) {
    pc.close();
    throw err;
  }
}

async function end(pc, location, token) {
  pc.close();
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  await fetch(location, { method: 'DELETE', headers }).catch(() => {});
}
