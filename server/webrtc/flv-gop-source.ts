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
  private keyframes = 0;
  /** True while the kept GOP starts at a keyframe (false before the first one and after an overflow). */
  private gopOpen = false;

  /**
   * @param hasAudio whether the stream carries audio (the FLV header's flag, and audioDeclared()).
   * @param onKeyframe called at each video keyframe (e.g. to stop asking the publisher for one).
   */
  constructor(private readonly hasAudio: boolean, private readonly onKeyframe?: () => void) {}

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
    const bytes = flvTagBytes(tag.type, tag.dts, tag.data);
    if (tag.type === FLV_SCRIPT) this.metadata = bytes;
    else if (isSequenceHeader(tag)) {
      if (tag.type === FLV_VIDEO) this.videoHeader = bytes;
      else this.audioHeader = bytes;
    } else this.keep(tag, bytes);
    for (const tap of this.taps) tap(bytes);
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
