/**
 * Chromium as a WebRTC publisher for the WHIP tests: a fake camera playing a y4m made from a
 * clip with a person (looped by Chromium), a fake microphone (a beep), and a WHIP client run in
 * a page of the server's own origin.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.ts';

/** makeCameraY4m writes `seconds` of a clip as 30 fps I420 y4m at width x height (Chromium's fake camera file); returns its path. */
export function makeCameraY4m(clip: string, dir: string, width: number, height: number, seconds: number): string {
  const out = join(dir, 'camera.y4m');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', clip, '-t', String(seconds),
    '-vf', `scale=${width}:${height},fps=30`, '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** launchCameraChromium starts headless Chromium whose camera is `y4m` and whose microphone is a fake beep. */
export function launchCameraChromium(y4m: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
}

/** WhipResult is what the page's WHIP POST got. */
export interface WhipResult {
  status: number;
  location: string | null;
  body: string;
  /** The connection state a few moments after the answer was applied ('' when none was). */
  connection: string;
}

/** WhipPublishOptions shape the offer the page makes. */
export interface WhipPublishOptions {
  token?: string;
  audio?: boolean;
  video?: boolean;
  /** Rewrite the offer before it is sent: `not-sdp` sends text. */
  mangle?: 'not-sdp';
  /** Keep only this video codec in the offer (e.g. 'VP9', 'VP8'). */
  onlyVideoCodec?: string;
  contentType?: string;
}

/**
 * whipPublish runs a WHIP client in the page: getUserMedia, an offer, `POST <path>`, and (on 201)
 * the answer applied and the connection awaited (up to 10 s). The peer connection stays in
 * `window.whipPc` until the page closes or `whipStop` runs.
 */
export async function whipPublish(page: Page, path: string, options: WhipPublishOptions = {}): Promise<WhipResult> {
  return page.evaluate(async ({ path, options }) => {
    const w = window as unknown as { whipPc?: RTCPeerConnection; whipStream?: MediaStream };
    const stream = await navigator.mediaDevices.getUserMedia({ video: options.video !== false ? { width: 640, height: 480, frameRate: 30 } : false, audio: options.audio !== false });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    let sdp = pc.localDescription!.sdp;
    if (options.mangle === 'not-sdp') sdp = 'hello, this is not a session description';
    if (options.onlyVideoCodec) {
      const only = options.onlyVideoCodec;
      const lines = sdp.split('\r\n');
      const [head, ...sections] = lines.join('\n').split(/\n(?=m=)/);
      const fixed = sections.map((section) => {
        if (!section.startsWith('m=video')) return section;
        const vp9 = [...section.matchAll(/a=rtpmap:(\d+) ([^/]+)\//g)].filter((m) => m[2] === only).map((m) => m[1]);
        const rows = section.split('\n').filter((l) => {
          const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l);
          return !pt || vp9.includes(pt[1]);
        });
        rows[0] = rows[0].replace(/^(m=video \d+ [^ ]+).*$/, `$1 ${vp9.join(' ')}`);
        return rows.join('\n');
      });
      sdp = [head, ...fixed].join('\n').split('\n').join('\r\n');
    }
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/sdp' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const res = await fetch(path, { method: 'POST', headers, body: sdp });
    const body = await res.text();
    let connection = '';
    if (res.status === 201) {
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      const deadline = Date.now() + 10000;
      while (pc.connectionState !== 'connected' && pc.connectionState !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      connection = pc.connectionState;
      w.whipPc = pc;
      w.whipStream = stream;
    } else {
      pc.close();
      stream.getTracks().forEach((t) => t.stop());
    }
    return { status: res.status, location: res.headers.get('location'), body, connection };
  }, { path, options });
}

/** WhepResult is what the page's WHEP POST got. */
export interface WhepResult {
  status: number;
  location: string | null;
  body: string;
}

/**
 * whepPlay runs a WHEP client in the page: a receive-only offer (video and audio), `POST <path>`,
 * and on 201 the answer applied and the remote stream put in a muted, playing `<video id=whep>`.
 * The peer connection stays in `window.whepPc`.
 */
export async function whepPlay(page: Page, path: string): Promise<WhepResult> {
  return page.evaluate(async (path) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const video = document.createElement('video');
    video.id = 'whep';
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    pc.ontrack = (e) => { video.srcObject = e.streams[0] ?? new MediaStream([e.track]); };
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp });
    const body = await res.text();
    if (res.status === 201) {
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      (window as unknown as { whepPc: RTCPeerConnection }).whepPc = pc;
    } else pc.close();
    return { status: res.status, location: res.headers.get('location'), body };
  }, path);
}

/** whepStats reads the page's inbound RTP stats: video frames decoded, its size, and audio packets. */
export async function whepStats(page: Page): Promise<{ framesDecoded: number; width: number; height: number; audioPackets: number }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { whepPc?: RTCPeerConnection }).whepPc;
    const out = { framesDecoded: 0, width: 0, height: 0, audioPackets: 0 };
    if (!pc) return out;
    (await pc.getStats()).forEach((s: Record<string, unknown>) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        out.framesDecoded = Number(s.framesDecoded ?? 0);
        out.width = Number(s.frameWidth ?? 0);
        out.height = Number(s.frameHeight ?? 0);
      } else if (s.kind === 'audio') out.audioPackets = Number(s.packetsReceived ?? 0);
    });
    return out;
  });
}
