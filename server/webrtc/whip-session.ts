/**
 * One WHIP publisher: a werift peer connection that receives the browser's (or OBS's) RTP, a
 * loopback UDP forward of that RTP to a repackaging ffmpeg (H.264 copied, Opus to AAC, FLV out),
 * and the FLV as a StreamSource for the stream registry.
 *
 * The session ends (once, with a reason) on DELETE, when ICE/DTLS fails or closes, when no RTP
 * came for `mediaTimeoutMs` (a closed tab or a lost network: ICE consent alone takes 30 s), or
 * when the repackager exits.
 */
import { EventEmitter } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { RTCPeerConnection, type RTCRtpTransceiver, type RtpPacket, type PeerConfig } from 'werift';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import { FfmpegProcess } from '../pipeline/ffmpeg-process.ts';
import { buildRtpIngestArgs, type X264Settings } from '../pipeline/ffmpeg-args.ts';
import { FlvGopSource } from './flv-gop-source.ts';
import { reserveRtpPort, rtpSessionSdp, type RtpPort, type RtpTrackSpec } from './rtp-sdp.ts';
import { whipCodecs } from './webrtc-codecs.ts';
import { RtpFrameRate } from './rtp-frame-rate.ts';

/** WhipSessionOptions configure one session. */
export interface WhipSessionOptions {
  id: string;
  key: string;
  /** werift settings from `webrtc.*` (ICE servers, UDP ports, host addresses). */
  peer: Partial<PeerConfig>;
  /** A full ffmpeg (sdp/rtp demuxers, AAC encoder; see resolveWebrtcFfmpegPath). */
  ffmpegPath: string;
  /** No RTP for this long (ms) ends the session. */
  mediaTimeoutMs: number;
  /** How long ICE candidate gathering may take before the answer is sent with what was found (ms). */
  gatherTimeoutMs: number;
  /** The encode of VP8 video to H.264 (`encoder.*`). */
  x264: X264Settings;
  log: Logger;
}

/** WhipSessionEvents are what a session reports. */
export interface WhipSessionEvents {
  /** The session has ended and its ffmpeg has exited. */
  closed: [reason: string];
}

/** KEYFRAME_REQUEST_MS is how often a keyframe is asked for (RTCP PLI) until the first one came, then to keep the GOP short. */
const KEYFRAME_REQUEST_MS = 500;
/** KEYFRAME_REFRESH_MS keeps the input's GOP (what a restarted decoder starts from) this short: browsers send keyframes only on request. */
const KEYFRAME_REFRESH_MS = 2000;
const AUDIO_BITRATE_KBPS = 128;
/** CONNECT_TIMEOUT_MS is how long ICE and DTLS may take before the first RTP (a remote client behind NAT can take seconds). */
const CONNECT_TIMEOUT_MS = 15_000;

/** WhipSession is one WebRTC publisher from its offer to its end. */
export class WhipSession extends EventEmitter<WhipSessionEvents> {
  readonly source: FlvGopSource;
  readonly startedAt = new Date();
  private readonly pc: RTCPeerConnection;
  private readonly udp: Socket;
  private ffmpeg?: FfmpegProcess;
  private ports: RtpPort[] = [];
  private video?: { transceiver: RTCRtpTransceiver; spec: RtpTrackSpec; ssrc?: number };
  private audio?: { spec: RtpTrackSpec };
  private lastRtpAt = performance.now();
  private readonly frameRate = new RtpFrameRate();
  private timers: NodeJS.Timeout[] = [];
  private lastKeyframeAt = 0;
  private closing?: Promise<void>;
  /** Packets forwarded to the repackager, by kind. */
  readonly packets = { video: 0, audio: 0 };

  constructor(private readonly options: WhipSessionOptions, hasAudio: boolean) {
    super();
    this.pc = new RTCPeerConnection({ ...options.peer, codecs: whipCodecs() });
    this.udp = createSocket('udp4');
    this.udp.on('error', (err) => this.options.log.warn({ err: err.message }, 'RTP forward socket error'));
    this.source = new FlvGopSource(hasAudio, () => this.frameRate.fps(), () => { this.lastKeyframeAt = performance.now(); });
  }

  /** id is the session id of the WHIP resource URL. */
  get id(): string {
    return this.options.id;
  }

  /** isClosed is true once the session has begun to end. */
  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * answer applies the offer, chooses one codec per track (H.264 packetization-mode 1 before VP8; Opus), gathers ICE candidates (non-trickle) and returns the SDP answer.
   * @throws MediaServerError `ERR_WHIP_OFFER` when werift can not apply the offer,
   *   `ERR_WHIP_CODECS` when no video track has a codec we take after negotiation.
   */
  async answer(offer: string): Promise<string> {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    } catch (cause) {
      throw new MediaServerError('ERR_WHIP_OFFER', 'http', `the offer can not be applied: ${(cause as Error).message}`, { cause });
    }
    for (const transceiver of this.pc.getTransceivers()) this.chooseCodec(transceiver);
    if (!this.video) throw new MediaServerError('ERR_WHIP_CODECS', 'http', 'no video track of the offer negotiated H.264 (packetization-mode 1) or VP8');
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await this.gathered();
    this.watch();
    return this.pc.localDescription!.sdp;
  }

  /** start binds the forward, starts the repackager and asks for a keyframe; FLV reaches the source from then on. */
  async start(): Promise<void> {
    const video = this.video!;
    this.ports.push(await reserveRtpPort());
    video.spec.port = this.ports[0].port;
    if (this.audio) {
      this.ports.push(await reserveRtpPort());
      this.audio.spec.port = this.ports[1].port;
    }
    const args = buildRtpIngestArgs({
      videoCodec: video.spec.encoding === 'VP8' ? 'VP8' : 'H264', hasAudio: this.audio !== undefined,
      audioBitrateKbps: AUDIO_BITRATE_KBPS, x264: this.options.x264,
    });
    const ffmpeg = new FfmpegProcess(this.options.ffmpegPath, args, 0);
    this.ffmpeg = ffmpeg;
    ffmpeg.stdin.end(rtpSessionSdp([video.spec, ...(this.audio ? [this.audio.spec] : [])]));
    ffmpeg.stdout!.on('data', (chunk: Buffer) => {
      try {
        this.source.push(chunk);
      } catch (err) {
        void this.close(`the repackaged FLV is malformed: ${(err as Error).message}`);
      }
    });
    void ffmpeg.exited.then((exit) => {
      for (const p of this.ports) p.release();
      if (!this.closing) void this.close(`the repackaging ffmpeg exited (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail || 'no message'}`);
    });
    this.options.log.debug({ pid: ffmpeg.pid, codec: video.spec.encoding, audio: this.audio !== undefined }, 'WHIP repackager started');
    this.timers.push(setInterval(() => this.requestKeyframe(), KEYFRAME_REQUEST_MS));
    this.requestKeyframe();
  }

  /** childPids lists the running ffmpeg children (for tests and diagnostics). */
  get childPids(): number[] {
    return this.ffmpeg?.running && this.ffmpeg.pid !== undefined ? [this.ffmpeg.pid] : [];
  }

  /** connectionState is the peer connection's state (new, connecting, connected, disconnected, failed, closed). */
  get connectionState(): string {
    return this.pc.connectionState;
  }

  /** close ends the session once: the peer connection, the forward and the repackager (SIGKILL after 2 s); resolves when ffmpeg has exited. */
  close(reason: string): Promise<void> {
    if (this.closing) return this.closing;
    // Set before anything runs: closing the peer connection fires its state change (and so close()) at once.
    let done!: () => void;
    this.closing = new Promise((resolve) => { done = resolve; });
    void (async () => {
      this.options.log.info({ reason, packets: this.packets }, 'WHIP session ended');
      for (const t of this.timers) clearInterval(t);
      this.udp.close();
      await this.pc.close().catch(() => {});
      const ffmpeg = this.ffmpeg;
      if (ffmpeg?.running) {
        ffmpeg.child.kill('SIGTERM');
        const timer = setTimeout(() => ffmpeg.kill(), 2000);
        await ffmpeg.exited;
        clearTimeout(timer);
      }
      for (const p of this.ports) p.release();
      this.emit('closed', reason);
      done();
    })();
    return this.closing;
  }

  private chooseCodec(transceiver: RTCRtpTransceiver): void {
    const kind = transceiver.kind;
    if (kind === 'video' && !this.video) {
      const codecs = transceiver.codecs;
      const h264 = codecs.find((c) => c.name.toUpperCase() === 'H264' && /packetization-mode=1/.test(c.parameters ?? ''));
      const chosen = h264 ?? codecs.find((c) => c.name.toUpperCase() === 'VP8');
      if (!chosen) {
        transceiver.setDirection('inactive');
        return;
      }
      transceiver.codecs = [chosen];
      this.video = {
        transceiver,
        spec: { kind: 'video', port: 0, payloadType: chosen.payloadType, encoding: chosen.name.toUpperCase(), clockRate: chosen.clockRate, fmtp: chosen.parameters },
      };
      transceiver.receiver.track.onReceiveRtp.subscribe((rtp) => this.forward('video', rtp, chosen.payloadType));
      return;
    }
    if (kind === 'audio' && !this.audio) {
      const opus = transceiver.codecs.find((c) => c.name.toLowerCase() === 'opus');
      if (!opus) {
        transceiver.setDirection('inactive');
        return;
      }
      transceiver.codecs = [opus];
      this.audio = { spec: { kind: 'audio', port: 0, payloadType: opus.payloadType, encoding: 'opus', clockRate: 48000, channels: 2, fmtp: opus.parameters } };
      transceiver.receiver.track.onReceiveRtp.subscribe((rtp) => this.forward('audio', rtp, opus.payloadType));
      return;
    }
    transceiver.setDirection('inactive');
  }

  private forward(kind: 'video' | 'audio', rtp: RtpPacket, payloadType: number): void {
    if (this.closing) return;
    this.lastRtpAt = performance.now();
    if (rtp.header.payloadType !== payloadType) return;
    const spec = kind === 'video' ? this.video?.spec : this.audio?.spec;
    if (!spec?.port) return;
    if (kind === 'video' && this.video) {
      this.video.ssrc = rtp.header.ssrc;
      this.frameRate.observe(rtp.header.timestamp);
    }
    this.packets[kind] += 1;
    this.udp.send(rtp.serialize(), spec.port, '127.0.0.1');
  }

  private requestKeyframe(): void {
    const ssrc = this.video?.ssrc;
    if (ssrc === undefined || this.closing) return;
    const since = performance.now() - this.lastKeyframeAt;
    if (this.source.keyframesSeen > 0 && since < KEYFRAME_REFRESH_MS) return;
    this.video!.transceiver.receiver.sendRtcpPLI(ssrc).catch(() => {});
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.options.gatherTimeoutMs);
      this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** watch ends the session when the connection fails or closes, or no RTP comes for mediaTimeoutMs. */
  private watch(): void {
    this.pc.connectionStateChange.subscribe((state) => {
      this.options.log.debug({ state }, 'WHIP connection state');
      if (state === 'connected') this.lastRtpAt = performance.now();
      if (state === 'failed' || state === 'closed') void this.close(`WebRTC connection ${state}`);
    });
    this.lastRtpAt = performance.now();
    const timeout = this.options.mediaTimeoutMs;
    this.timers.push(setInterval(() => {
      const idle = performance.now() - this.lastRtpAt;
      const limit = this.packets.video + this.packets.audio > 0 ? timeout : Math.max(timeout, CONNECT_TIMEOUT_MS);
      if (idle > limit) void this.close(`no media for ${Math.round(idle)} ms (webrtc.mediaTimeoutMs ${timeout})`);
    }, Math.min(500, Math.max(100, timeout / 4))));
  }
}
