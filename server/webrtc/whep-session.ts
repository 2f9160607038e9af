/**
 * One WHEP viewer: a werift peer connection answering a receive-only offer with a video track
 * (H.264) and, when the stream has audio, an audio track (Opus), both written by the stream's
 * WhepFeed. Ends on DELETE, or when ICE/DTLS fails or closes (ICE consent: 30 s after a viewer
 * vanished).
 */
import { EventEmitter } from 'node:events';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, usePLI, useNACK, type PeerConfig } from 'werift';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import { H264_FMTP } from './webrtc-codecs.ts';
import type { FeedViewer } from './whep-feed.ts';

/** WhepSessionEvents are what a viewer session reports. */
export interface WhepSessionEvents {
  closed: [reason: string];
}

/** WhepSession is one viewer from its offer to its end. */
export class WhepSession extends EventEmitter<WhepSessionEvents> {
  readonly viewer: FeedViewer;
  private readonly pc: RTCPeerConnection;
  private closing?: Promise<void>;

  constructor(readonly id: string, peer: Partial<PeerConfig>, hasAudio: boolean, private readonly log: Logger) {
    super();
    this.pc = new RTCPeerConnection({
      ...peer,
      codecs: {
        video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [useNACK(), usePLI()], parameters: H264_FMTP })],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      },
    });
    this.viewer = { video: new MediaStreamTrack({ kind: 'video' }), audio: hasAudio ? new MediaStreamTrack({ kind: 'audio' }) : undefined };
  }

  /**
   * answer applies the viewer's offer, attaches the tracks and returns the SDP answer (candidates gathered).
   * @throws MediaServerError `ERR_WHEP_OFFER` for an offer werift can not apply or one without a video section.
   */
  async answer(offer: string, gatherTimeoutMs: number): Promise<string> {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    } catch (cause) {
      throw new MediaServerError('ERR_WHEP_OFFER', 'http', `the offer can not be applied: ${(cause as Error).message}`, { cause });
    }
    let video = false;
    for (const transceiver of this.pc.getTransceivers()) {
      const track = transceiver.kind === 'video' && !video ? this.viewer.video : transceiver.kind === 'audio' ? this.viewer.audio : undefined;
      if (!track || transceiver.codecs.length === 0) {
        transceiver.setDirection('inactive');
        continue;
      }
      if (transceiver.kind === 'video') video = true;
      transceiver.setDirection('sendonly');
      await transceiver.sender.replaceTrack(track);
    }
    if (!video) throw new MediaServerError('ERR_WHEP_OFFER', 'http', 'the offer has no video section that takes H.264 (packetization-mode 1)');
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, gatherTimeoutMs);
        this.pc.iceGatheringStateChange.subscribe((state) => { if (state === 'complete') { clearTimeout(timer); resolve(); } });
      });
    }
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') void this.close(`WebRTC connection ${state}`);
    });
    return this.pc.localDescription!.sdp;
  }

  /** close ends the viewer once. */
  close(reason: string): Promise<void> {
    if (this.closing) return this.closing;
    let done!: () => void;
    this.closing = new Promise((resolve) => { done = resolve; });
    void (async () => {
      this.log.info({ reason }, 'WHEP session ended');
      await this.pc.close().catch(() => {});
      this.emit('closed', reason);
      done();
    })();
    return this.closing;
  }
}
