/**
 * The SDP that tells a repackaging ffmpeg where a WebRTC session's RTP arrives: plain RTP on
 * loopback UDP ports (the WebRTC side, ICE, DTLS and SRTP, ends in werift), one m-section per track.
 */
import { createSocket } from 'node:dgram';

/** RtpTrackSpec is one track as ffmpeg receives it. */
export interface RtpTrackSpec {
  kind: 'video' | 'audio';
  /** Loopback UDP port of the RTP (ffmpeg also binds port + 1, for RTCP). */
  port: number;
  payloadType: number;
  /** Encoding name as in SDP, e.g. 'H264', 'opus'. */
  encoding: string;
  /** RTP clock rate in Hz (90000 for video, 48000 for Opus). */
  clockRate: number;
  /** Audio channels (Opus in SDP: always 2). */
  channels?: number;
  /** The codec's fmtp parameters, e.g. `packetization-mode=1;profile-level-id=42e01f`. */
  fmtp?: string;
}

/** rtpSessionSdp gives the SDP (RFC 8866) of the tracks, sent to 127.0.0.1. */
export function rtpSessionSdp(tracks: RtpTrackSpec[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=live-matte webrtc ingest', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const t of tracks) {
    lines.push(`m=${t.kind} ${t.port} RTP/AVP ${t.payloadType}`);
    lines.push(`a=rtpmap:${t.payloadType} ${t.encoding}/${t.clockRate}${t.channels ? `/${t.channels}` : ''}`);
    if (t.fmtp) lines.push(`a=fmtp:${t.payloadType} ${t.fmtp}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => { socket.close(); resolve(false); });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** Ports handed out and not yet released: two sessions starting together never get the same pair. */
const reserved = new Set<number>();

/** RtpPort is a reserved even loopback UDP port (and its odd RTCP neighbour). */
export interface RtpPort {
  port: number;
  /** release gives the pair back once the ffmpeg that bound it has exited. */
  release(): void;
}

/**
 * reserveRtpPort finds an even loopback UDP port whose odd neighbour (RTCP) is free too, in
 * 20000..29999 (below Linux's ephemeral range, so the OS does not hand it out meanwhile).
 * @throws Error when 50 tries find none.
 */
export async function reserveRtpPort(): Promise<RtpPort> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 5000);
    if (reserved.has(port)) continue;
    reserved.add(port);
    if (await canBind(port) && await canBind(port + 1)) return { port, release: () => reserved.delete(port) };
    reserved.delete(port);
  }
  throw new Error('no free loopback UDP port pair for RTP');
}
