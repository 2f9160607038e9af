/**
 * The WebRTC playback feed of one processed stream (`live/stream-<key>`): the encoder's FLV,
 * tapped in-process from node-media-server, goes to one ffmpeg that sends its H.264 (copied, no
 * encode per viewer) and its audio (as Opus, encoded once) as RTP to two loopback UDP sockets of
 * ours; every packet is written to each viewer's tracks (werift sets each viewer's SSRC, payload
 * type and SRTP). Made at the first viewer, ended with the last one or with the stream.
 */
import { EventEmitter } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { MediaStreamTrack } from 'werift';
import type { Logger } from '../logger.ts';
import { FfmpegProcess } from '../pipeline/ffmpeg-process.ts';
import { buildRtpFeedArgs } from '../pipeline/ffmpeg-args.ts';

const AUDIO_BITRATE_KBPS = 64;
/** RTP payload bytes: 1200 leaves room for SRTP, TURN and IPv6 headers within a 1280-byte path MTU. */
const PACKET_BYTES = 1200;
/** How often the output is tapped again while it has sent nothing yet (ms). */
const RETAP_MS = 250;

/** FeedViewer is what the feed writes to: one viewer's video and (maybe) audio track. */
export interface FeedViewer {
  video: MediaStreamTrack;
  audio?: MediaStreamTrack;
}

/** WhepFeedEvents are what a feed reports. */
export interface WhepFeedEvents {
  /** The feed's ffmpeg has exited (the feed is over; its viewers are ended by the owner). */
  closed: [reason: string];
}

/** WhepFeed is one output stream's RTP for all its viewers. */
export class WhepFeed extends EventEmitter<WhepFeedEvents> {
  readonly viewers = new Set<FeedViewer>();
  private ffmpeg?: FfmpegProcess;
  private untap: () => void = () => {};
  private sockets: Socket[] = [];
  private closing?: Promise<void>;
  private retap?: NodeJS.Timeout;
  /** RTP packets received from ffmpeg, by kind. */
  readonly packets = { video: 0, audio: 0 };

  /**
   * @param tap subscribes to the output's FLV (codec headers and current GOP first); returns unsubscribe.
   */
  constructor(
    private readonly tap: (onBytes: (chunk: Buffer) => void) => () => void,
    private readonly hasAudio: boolean,
    private readonly ffmpegPath: string,
    private readonly log: Logger,
  ) {
    super();
  }

  /** start binds the RTP sockets, starts ffmpeg and taps the output. */
  async start(): Promise<void> {
    const video = await this.bind('video');
    const audio = this.hasAudio ? await this.bind('audio') : 0;
    const ffmpeg = new FfmpegProcess(this.ffmpegPath, buildRtpFeedArgs({ videoPort: video, audioPort: audio, audioBitrateKbps: AUDIO_BITRATE_KBPS, packetBytes: PACKET_BYTES }), 0);
    this.ffmpeg = ffmpeg;
    void ffmpeg.exited.then((exit) => { void this.close(`the WebRTC feed ffmpeg exited (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail || 'no message'}`); });
    // The output's broadcast exists only once the encoder has connected to node-media-server,
    // which may be just after the stream is listed live: tap again until bytes come.
    let bytes = 0;
    const tap = () => {
      this.untap();
      this.untap = this.tap((chunk) => {
        bytes += chunk.length;
        if (ffmpeg.running) ffmpeg.stdin.write(chunk);
      });
    };
    tap();
    this.retap = setInterval(() => {
      if (bytes > 0 || this.closing) clearInterval(this.retap);
      else tap();
    }, RETAP_MS);
    this.log.debug({ pid: ffmpeg.pid, videoPort: video, audioPort: audio }, 'WHEP feed started');
  }

  /** childPids lists the running ffmpeg children. */
  get childPids(): number[] {
    return this.ffmpeg?.running && this.ffmpeg.pid !== undefined ? [this.ffmpeg.pid] : [];
  }

  /** close ends the feed once: untaps, stops ffmpeg (SIGKILL after 2 s), closes the sockets. */
  close(reason: string): Promise<void> {
    if (this.closing) return this.closing;
    let done!: () => void;
    this.closing = new Promise((resolve) => { done = resolve; });
    void (async () => {
      clearInterval(this.retap);
      this.untap();
      for (const s of this.sockets) s.close();
      const ffmpeg = this.ffmpeg;
      if (ffmpeg?.running) {
        ffmpeg.stdin.end();
        const timer = setTimeout(() => ffmpeg.kill(), 2000);
        await ffmpeg.exited;
        clearTimeout(timer);
      }
      this.log.debug({ reason, packets: this.packets }, 'WHEP feed ended');
      this.emit('closed', reason);
      done();
    })();
    return this.closing;
  }

  private bind(kind: 'video' | 'audio'): Promise<number> {
    const socket = createSocket('udp4');
    this.sockets.push(socket);
    socket.on('message', (packet) => {
      this.packets[kind] += 1;
      for (const viewer of this.viewers) viewer[kind]?.writeRtp(packet);
    });
    socket.on('error', (err) => this.log.warn({ err: err.message }, 'WHEP feed socket error'));
    return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve((socket.address() as AddressInfo).port)));
  }
}
