/**
 * The codecs werift negotiates for WHIP (receive) and WHEP (send) sessions.
 */
import { RTCRtpCodecParameters, useNACK, usePLI, useFIR } from 'werift';

/** H264_FMTP is what we ask H.264 senders for: packetization-mode 1 (FU-A, what ffmpeg and every browser use); the level is the sender's. */
export const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

/** whipCodecs are the codecs a WHIP session may receive: H.264 then VP8 video, Opus audio (negotiated in that order). */
export function whipCodecs(): { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] } {
  const feedback = () => [useNACK(), usePLI(), useFIR()];
  return {
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: feedback(), parameters: H264_FMTP }),
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: feedback() }),
    ],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
  };
}
