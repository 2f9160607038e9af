/**
 * A StreamSource over an FLV byte stream made by our own ffmpeg (a WHIP session's repackager):
 * it keeps what a late subscriber needs, as node-media-server does for an RTMP publisher's
 * players: the FLV header, the metadata, the latest AVC and AAC sequence headers and the current
 * GOP (every tag since the last video keyframe), and hands that to each new tap before the live tags.
 */
import { FLV_AUDIO, FLV_SCRIPT, FLV_VIDEO, FlvDemuxer, flvHeader, flvTagBytes, isSequenceHeader, type FlvTag } from '../pipeline/flv-demux.ts';
import type { StreamSource } from '../ingest/stream-source.ts';

/**
 * MAX_GOP_BYTES bounds the kept GOP (bytes): past it the GOP is dropped until the next keyframe,
 * so a publisher that sends keyframes rarely cannot grow the memory without bound. 8 MiB is about
 * 16 s at 4 Mbit/s.
 */
const MAX_GOP_BYTES = 8 * 1024 * 1024;

/** FLV codec ids written in the metadata: H.264 video, AAC audio. */
const FLV_CODEC_H264 = 7;
const FLV_CODEC_AAC = 10;

/**
 * onMetaData is an FLV script tag body (AMF0: the string `onMetaData`, then an ECMA array of
 * numbers), as an RTMP encoder sends it.
 */
export function onMetaData(fields: Record<string, number>): Buffer {
  const name = Buffer.from('onMetaData', 'latin1');
  const parts: Buffer[] = [Buffer.from([0x02, 0, name.length]), name];
  const entries = Object.entries(fields);
  const head = Buffer.alloc(5);
  head[0] = 0x08;
  head.writeUInt32BE(entries.length, 1);
  parts.push(head);
  for (const [key, value] of entries) {
    const k = Buffer.from(key, 'latin1');
    const entry = Buffer.alloc(2 + k.length + 9);
    entry.writeUInt16BE(k.length, 0);
    k.copy(entry, 2);
    entry[2 + k.length] = 0x00;
    entry.writeDoubleBE(value, 3 + k.length);
    parts.push(entry);
  }
  parts.push(Buffer.from([0, 0, 0x09]));
  return Buffer.concat(parts);
}

/**
 * gridFps is the constant rate video timestamps are placed on: 30 fps, or 60 for a source
 * measured above 40 fps. Not the estimate itself: a browser starts below its camera's rate
 * while its bandwidth estimate ramps up (24 fps measured for a 30 fps camera), and a grid below
 * the real rate would drop frames for the stream's life, while one above it only repeats some.
 */
export function gridFps(fps: number): number {
  return fps > 40 ? 60 : 30;
}

/** isVideoKeyframe is true for an AVC keyframe tag that is not a sequence header. */
function isVideoKeyframe(tag: FlvTag): boolean {
  return tag.type === FLV_VIDEO && tag.data.length > 1 && (tag.data[0] >> 4) === 1 && !isSequenceHeader(tag);
}

/** FlvGopSource splits pushed FLV bytes into tags and serves them to taps, codec headers and the current GOP first. */
export class FlvGopSource implements StreamSource {
  private readonly demuxer = new FlvDemuxer((tag) => this.onTag(tag));
  private readonly taps = new Set<(chunk: Buffer) => void>();
  private metadata?: Buffer;
  private videoHeader?: Buffer;
  private audioHeader?: Buffer;
  private gop: Buffer[] = [];
  private gopBytes = 0;
  private frameMs?: number;
  private lastVideoDts = -1;
  private keyframes = 0;
  /** True while the kept GOP starts at a keyframe (false before the first one and after an overflow). */
  private gopOpen = false;

  /**
   * @param hasAudio whether the stream carries audio (the FLV header's flag, and audioDeclared()).
   * @param frameRate the video's frame rate (fps) for the metadata, read when ffmpeg's metadata
   *   comes: ffmpeg's own says none when its probe could not tell (WebRTC video has no declared
   *   rate), and the decoder then guesses from millisecond timestamps, up to 1000 fps.
   * @param onKeyframe called at each video keyframe (e.g. to stop asking the publisher for one).
   */
  constructor(private readonly hasAudio: boolean, private readonly frameRate: () => number, private readonly onKeyframe?: () => void) {}

  /** keyframesSeen counts the video keyframes pushed so far. */
  get keyframesSeen(): number {
    return this.keyframes;
  }

  /**
   * push feeds ffmpeg's FLV output.
   * @throws Error on a malformed stream (see FlvDemuxer.push).
   */
  push(chunk: Buffer): void {
    this.demuxer.push(chunk);
  }

  /** tap subscribes to the FLV: header, metadata, sequence headers and the current GOP at once, then each tag; returns unsubscribe. */
  tap(onBytes: (chunk: Buffer) => void): () => void {
    const start = [flvHeader(this.hasAudio, true), this.metadata, this.videoHeader, this.audioHeader, ...this.gop]
      .filter((b): b is Buffer => b !== undefined);
    onBytes(Buffer.concat(start));
    this.taps.add(onBytes);
    return () => { this.taps.delete(onBytes); };
  }

  /** audioDeclared tells whether the stream carries audio. */
  audioDeclared(): boolean {
    return this.hasAudio;
  }

  private onTag(tag: FlvTag): void {
    if (tag.type !== FLV_VIDEO && tag.type !== FLV_AUDIO && tag.type !== FLV_SCRIPT) return;
    if (tag.type === FLV_SCRIPT) {
      const fields: Record<string, number> = { framerate: gridFps(this.frameRate()), videocodecid: FLV_CODEC_H264 };
      if (this.hasAudio) fields.audiocodecid = FLV_CODEC_AAC;
      this.metadata = flvTagBytes(FLV_SCRIPT, tag.dts, onMetaData(fields));
      for (const tap of this.taps) tap(this.metadata);
      return;
    }
    const dts = tag.type === FLV_VIDEO && !isSequenceHeader(tag) ? this.onGrid(tag.dts) : tag.dts;
    const bytes = flvTagBytes(tag.type, dts, tag.data);
    if (isSequenceHeader(tag)) {
      if (tag.type === FLV_VIDEO) this.videoHeader = bytes;
      else this.audioHeader = bytes;
    } else this.keep(tag, bytes);
    for (const tap of this.taps) tap(bytes);
  }

  /**
   * onGrid places a video frame's timestamp on the nearest slot of a constant frame rate (the
   * estimate's nearest of GRID_FPS), later than the frame before. WebRTC capture times jitter by
   * milliseconds; the decoder's ffmpeg guesses its constant output rate from the first frames'
   * timestamps, and on jittered ones guesses 1000 fps (the FLV time base). An RTMP encoder's
   * timestamps are on such a grid already. Frames keep their place within half a frame, so audio
   * stays in sync. (WebRTC H.264 has no B-frames: the composition offset stays 0.)
   */
  private onGrid(dts: number): number {
    this.frameMs ??= 1000 / gridFps(this.frameRate());
    const slot = Math.round(Math.round(dts / this.frameMs) * this.frameMs);
    this.lastVideoDts = Math.max(slot, this.lastVideoDts + 1);
    return this.lastVideoDts;
  }

  private keep(tag: FlvTag, bytes: Buffer): void {
    if (isVideoKeyframe(tag)) {
      this.keyframes += 1;
      this.gop = [];
      this.gopBytes = 0;
      this.gopOpen = true;
      this.onKeyframe?.();
    } else if (!this.gopOpen) return; // nothing decodable to keep before a keyframe
    if (this.gopBytes + bytes.length > MAX_GOP_BYTES) {
      this.gop = [];
      this.gopBytes = 0;
      this.gopOpen = false;
      return;
    }
    this.gop.push(bytes);
    this.gopBytes += bytes.length;
  }
}
