/**
 * A minimal FLV tag splitter and writer for the tap between node-media-server and ffmpeg:
 * it reads the FLV byte stream node-media-server sends a subscriber and rewrites tags.
 */

/** FLV tag types. */
export const FLV_AUDIO = 8;
export const FLV_VIDEO = 9;
export const FLV_SCRIPT = 18;

/** FlvTag is one tag: the whole tag bytes (11-byte header + data, no PreviousTagSize). */
export interface FlvTag {
  type: number;
  /** Decode timestamp in ms (FLV's 32-bit timestamp). */
  dts: number;
  /** The tag's data (after the 11-byte header). */
  data: Buffer;
}

const MAX_TAG_BYTES = 8 * 1024 * 1024;

/** FlvDemuxer splits an FLV byte stream (header first) into tags, across chunk boundaries. */
export class FlvDemuxer {
  private buffer: Buffer = Buffer.alloc(0);
  private headerDone = false;

  constructor(private readonly onTag: (tag: FlvTag) => void) {}

  /**
   * push feeds bytes.
   * @throws Error on a malformed stream (bad signature, oversize tag).
   */
  push(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    if (!this.headerDone) {
      if (this.buffer.length < 13) return;
      if (this.buffer.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      offset = this.buffer.readUInt32BE(5) + 4;
      this.headerDone = true;
    }
    while (this.buffer.length - offset >= 11) {
      const size = this.buffer.readUIntBE(offset + 1, 3);
      if (size > MAX_TAG_BYTES) throw new Error(`FLV tag of ${size} bytes is too large`);
      if (this.buffer.length - offset < 11 + size + 4) break;
      const b = this.buffer;
      const dts = ((b[offset + 7] << 24) | (b[offset + 4] << 16) | (b[offset + 5] << 8) | b[offset + 6]) >>> 0;
      this.onTag({ type: b[offset] & 0x1f, dts, data: b.subarray(offset + 11, offset + 11 + size) });
      offset += 11 + size + 4;
    }
    this.buffer = offset < this.buffer.length ? Buffer.from(this.buffer.subarray(offset)) : Buffer.alloc(0);
  }
}

/** flvHeader returns the 9-byte FLV header plus PreviousTagSize0 for the given tracks. */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  return Buffer.from([0x46, 0x4c, 0x56, 0x01, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

/** flvTagBytes serialises a tag with the given timestamp, followed by its PreviousTagSize. */
export function flvTagBytes(type: number, dts: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(11 + data.length + 4);
  out[0] = type;
  out.writeUIntBE(data.length, 1, 3);
  out[4] = (dts >> 16) & 0xff;
  out[5] = (dts >> 8) & 0xff;
  out[6] = dts & 0xff;
  out[7] = (dts >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3);
  data.copy(out, 11);
  out.writeUInt32BE(11 + data.length, 11 + data.length);
  return out;
}

/** isSequenceHeader is true for an AVC/AAC sequence header or an enhanced-RTMP sequence start. */
export function isSequenceHeader(tag: FlvTag): boolean {
  const d = tag.data;
  if (d.length < 2) return true;
  if (tag.type === FLV_VIDEO) {
    if (d[0] & 0x80) return (d[0] & 0x0f) === 0; // enhanced RTMP: PacketTypeSequenceStart
    return (d[0] & 0x0f) === 7 ? d[1] === 0 : false;
  }
  if (tag.type === FLV_AUDIO) return (d[0] >> 4) === 10 && d[1] === 0;
  return false;
}

/**
 * videoPts returns a video tag's presentation time in ms: dts plus the AVC composition time
 * offset (or the enhanced-RTMP one for coded frames); dts for anything else.
 */
export function videoPts(tag: FlvTag): number {
  const d = tag.data;
  if (d.length >= 5 && !(d[0] & 0x80) && (d[0] & 0x0f) === 7 && d[1] === 1) {
    return tag.dts + ((d.readIntBE(2, 3)));
  }
  if (d.length >= 8 && (d[0] & 0x80) && (d[0] & 0x0f) === 1) {
    return tag.dts + d.readIntBE(5, 3);
  }
  return tag.dts;
}
