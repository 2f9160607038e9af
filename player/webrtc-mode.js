/**
 * The player's low-latency mode: the selected stream's processed output over WebRTC (WHEP),
 * well under a second behind, where HLS plays segments seconds behind. HLS stays the default;
 * the player falls back to it when WebRTC fails (no WebRTC in the browser, UDP blocked, a server
 * with WebRTC off).
 */
import { whepPlay } from './webrtc-client.js';

/** CONNECT_MS is how long the WebRTC connection may take before the player falls back to HLS. */
const CONNECT_MS = 8000;

/** WebrtcMode plays one output in `video` over WHEP, chosen by the `toggle` checkbox (kept in localStorage). */
export class WebrtcMode {
  constructor(video, toggle, onChange) {
    this.video = video;
    this.toggle = toggle;
    this.session = null;
    toggle.checked = window.RTCPeerConnection !== undefined && localStorage.getItem('livematte.webrtc') === '1';
    toggle.disabled = window.RTCPeerConnection === undefined;
    toggle.addEventListener('change', () => {
      localStorage.setItem('livematte.webrtc', toggle.checked ? '1' : '0');
      onChange();
    });
  }

  /** wanted is true when the user chose WebRTC. */
  get wanted() {
    return this.toggle.checked;
  }

  /** playing is true while a WHEP session plays. */
  get playing() {
    return this.session !== null;
  }

  /**
   * play starts WHEP for the stream `key` (the page's signed-URL query passed on) and resolves once
   * video frames arrive; rejects (and cleans up) when the connection fails or takes over CONNECT_MS.
   */
  async play(key, query = '') {
    this.stop();
    const session = await whepPlay(`/whep/live/stream-${encodeURIComponent(key)}${query}`, this.video);
    this.session = session;
    const connected = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), CONNECT_MS);
      this.video.addEventListener('playing', () => { clearTimeout(timer); resolve(true); }, { once: true });
      session.pc.addEventListener('connectionstatechange', () => {
        if (session.pc.connectionState === 'failed') { clearTimeout(timer); resolve(false); }
      });
      void this.video.play().catch(() => {});
    });
    if (!connected) {
      this.stop();
      throw new Error('the WebRTC connection did not come up');
    }
  }

  /** stop ends the WHEP session, if any, and frees the video element for HLS. */
  stop() {
    if (!this.session) return;
    void this.session.stop();
    this.session = null;
    this.video.srcObject = null;
  }
}
