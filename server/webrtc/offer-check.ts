/**
 * What a WHIP offer must hold before any WebRTC work starts: an SDP (RFC 8866) with a video
 * m-section of a codec we take (H.264, VP8) and, optionally, audio as Opus. A refused offer is
 * answered 400 with the code below and costs no sockets.
 */
import { MediaServerError } from '../errors.ts';

/**
 * WHIP_VIDEO_CODECS are the video codecs a WHIP publisher may send, most preferred first: H.264,
 * which every browser and OBS send and which is copied into the pipeline untouched, then VP8
 * (browsers without H.264), encoded to H.264 in the repackager.
 */
export const WHIP_VIDEO_CODECS = ['H264', 'VP8'] as const;
/** WHIP_AUDIO_CODECS are the audio codecs a WHIP publisher may send. */
export const WHIP_AUDIO_CODECS = ['opus'] as const;

/** OfferSummary is what an acceptable offer sends: the codecs we can take of each kind (upper-case encoding names). */
export interface OfferSummary {
  /** Video codecs offered that we take, e.g. ['H264', 'VP8']. */
  video: string[];
  /** Audio codecs offered that we take (empty: no audio m-section, or none we take). */
  audio: string[];
  /** True when the offer has an audio m-section at all (taken or not). */
  audioOffered: boolean;
}

/** MAX_OFFER_BYTES bounds an offer's size (a browser's is 3-10 KB). */
export const MAX_OFFER_BYTES = 64 * 1024;

interface Section { kind: string; port: number; codecs: string[] }

/**
 * parseSections reads the m-sections of an SDP: kind, port, and the rtpmap encoding names of
 * each. Returns undefined when the text is not an SDP (no `v=0` first line, no `o=`/`s=` line,
 * lines that are not `<letter>=<value>`).
 */
function parseSections(sdp: string): Section[] | undefined {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') return undefined;
  if (!lines.some((l) => l.startsWith('o=')) || !lines.some((l) => l.startsWith('s='))) return undefined;
  if (lines.some((l) => !/^[a-z]=/.test(l))) return undefined;
  const sections: Section[] = [];
  for (const line of lines) {
    const m = /^m=(\w+) (\d+)/.exec(line);
    if (m) {
      sections.push({ kind: m[1], port: Number(m[2]), codecs: [] });
      continue;
    }
    const rtpmap = /^a=rtpmap:\d+ ([^/\s]+)\//.exec(line);
    if (rtpmap && sections.length > 0) sections[sections.length - 1].codecs.push(rtpmap[1]);
  }
  return sections;
}

/**
 * checkOffer accepts or refuses a WHIP offer.
 * @throws MediaServerError `ERR_WHIP_OFFER` (not an SDP offer), `ERR_WHIP_NO_VIDEO` (no video
 *   m-section), `ERR_WHIP_CODECS` (video offered only in codecs we do not take), each meant for a 400.
 */
export function checkOffer(sdp: string): OfferSummary {
  const sections = parseSections(sdp);
  if (!sections) throw new MediaServerError('ERR_WHIP_OFFER', 'http', 'the body is not an SDP offer (expected application/sdp starting with v=0)');
  // A port of 0 is a section the offerer has turned off (RFC 3264 s. 5.1).
  const video = sections.filter((s) => s.kind === 'video' && s.port !== 0);
  if (video.length === 0) throw new MediaServerError('ERR_WHIP_NO_VIDEO', 'http', 'the offer has no video: WHIP publishing needs a video track (H.264 or VP8)');
  const offeredVideo = [...new Set(video.flatMap((s) => s.codecs.map((c) => c.toUpperCase())))];
  const takenVideo = WHIP_VIDEO_CODECS.filter((c) => offeredVideo.includes(c));
  if (takenVideo.length === 0) {
    throw new MediaServerError('ERR_WHIP_CODECS', 'http',
      `no video codec of the offer is taken: offered ${offeredVideo.join(', ') || 'none'}; taken ${WHIP_VIDEO_CODECS.join(', ')}`);
  }
  const audio = sections.filter((s) => s.kind === 'audio' && s.port !== 0);
  const offeredAudio = new Set(audio.flatMap((s) => s.codecs.map((c) => c.toLowerCase())));
  return { video: [...takenVideo], audio: WHIP_AUDIO_CODECS.filter((c) => offeredAudio.has(c)), audioOffered: audio.length > 0 };
}
