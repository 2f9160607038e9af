/**
 * Cuts ffmpeg's output byte stream (YUV4MPEG2, self-describing I420) into whole frames. Each frame
 * lands in its own whole ArrayBuffer (from an optional allocator, e.g. a FramePool) so it can be
 * transferred to a worker thread without a copy.
 */

/** Y4mHeader is what a YUV4MPEG2 stream header declares. */
export interface Y4mHeader {
  /** Width and height in px. */
  width: number;
  height: number;
  /** Frame rate as `num/den`, e.g. `30/1` or `30000/1001`. */
  frameRate: string;
  /** Frames per second (num / den). */
  fps: number;
  /** Colour space tag (`C...`), e.g. `420mpeg2`; only 4:2:0 8-bit is accepted. */
  colorspace: string;
}

/**
 * parseY4mHeader parses the stream header line (without the newline).
 * @throws Error when it is not a YUV4MPEG2 header or not 8-bit 4:2:0.
 */
export function parseY4mHeader(line: string): Y4mHeader {
  const parts = line.split(' ');
  if (parts[0] !== 'YUV4MPEG2') throw new Error(`not a YUV4MPEG2 stream: ${line.slice(0, 40)}`);
  let width = 0; let height = 0; let frameRate = ''; let colorspace = '420jpeg';
  for (const p of parts.slice(1)) {
    if (p[0] === 'W') width = Number(p.slice(1));
    else if (p[0] === 'H') height = Number(p.slice(1));
    else if (p[0] === 'F') frameRate = p.slice(1).replace(':', '/');
    else if (p[0] === 'C') colorspace = p.slice(1);
  }
  const [num, den] = frameRate.split('/').map(Number);
  if (!(width > 0 && height > 0 && num > 0 && den > 0)) throw new Error(`bad YUV4MPEG2 header: ${line}`);
  if (!colorspace.startsWith('420') || /p\d/.test(colorspace)) throw new Error(`unsupported YUV4MPEG2 colour space C${colorspace}`);
  return { width, height, frameRate, fps: num / den, colorspace };
}

/** i420FrameSize is the byte size of one I420 frame: w*h + 2*ceil(w/2)*ceil(h/2). */
export function i420FrameSize(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

const MAX_LINE = 1024;

/** FrameAllocator returns a buffer of `size` bytes viewing a whole ArrayBuffer (contents unspecified). */
export type FrameAllocator = (size: number) => Uint8Array;

const newFrame: FrameAllocator = (size) => new Uint8Array(new ArrayBuffer(size));

/** Y4mReader turns YUV4MPEG2 chunks into I420 frames, each its own ArrayBuffer. */
export class Y4mReader {
  header?: Y4mHeader;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private frame?: Uint8Array;
  private filled = 0;
  private frameSize = 0;
  private state: 'header' | 'frameLine' | 'frameData' = 'header';
  /** Where bytes between frames (header and FRAME lines) are read to; frame bytes go straight to the frame. */
  private readonly scratch = Buffer.alloc(256);

  constructor(
    private readonly onHeader: (header: Y4mHeader) => void,
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly alloc: FrameAllocator = newFrame,
  ) {}

  /**
   * readTarget returns the memory the next read from the stream should fill: the rest of the
   * current frame (so frame bytes land in the frame with no intermediate copy, and one read never
   * crosses a frame's end), or a small scratch buffer between frames. Report each read with
   * {@link wrote}.
   */
  readTarget(): Uint8Array {
    return this.state === 'frameData' ? this.frame!.subarray(this.filled) : this.scratch;
  }

  /**
   * wrote takes the `n` bytes just read into `target` (the last {@link readTarget}).
   * @throws Error on a malformed stream, as {@link push}.
   */
  wrote(n: number, target: Uint8Array): void {
    if (target === this.scratch) {
      this.push(this.scratch.subarray(0, n));
      return;
    }
    if (this.state !== 'frameData' || target.buffer !== this.frame!.buffer) throw new Error('Y4mReader: wrote() for a buffer that is not the current read target');
    this.filled += n;
    if (this.filled === this.frameSize) {
      this.onFrame(this.frame!);
      this.frame = undefined;
      this.state = 'frameLine';
    }
  }

  /**
   * push feeds a chunk of ffmpeg's stdout.
   * @throws Error on a malformed stream (bad header, missing FRAME marker).
   */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'frameData') {
        const n = Math.min(this.frameSize - this.filled, chunk.length - offset);
        this.frame!.set(chunk.subarray(offset, offset + n), this.filled);
        this.filled += n;
        offset += n;
        if (this.filled === this.frameSize) {
          this.onFrame(this.frame!);
          this.frame = undefined;
          this.state = 'frameLine';
        }
        continue;
      }
      const nl = chunk.indexOf(0x0a, offset);
      if (nl < 0) {
        // Copied: the chunk may be a reused read buffer (see readTarget).
        this.pending.push(Buffer.from(chunk.subarray(offset)));
        this.pendingBytes += chunk.length - offset;
        if (this.pendingBytes > MAX_LINE) throw new Error('YUV4MPEG2 header line too long');
        return;
      }
      const line = Buffer.concat([...this.pending, chunk.subarray(offset, nl)]).toString('latin1');
      this.pending = [];
      this.pendingBytes = 0;
      offset = nl + 1;
      if (this.state === 'header') {
        this.header = parseY4mHeader(line);
        this.frameSize = i420FrameSize(this.header.width, this.header.height);
        this.onHeader(this.header);
        this.state = 'frameLine';
      } else {
        if (!line.startsWith('FRAME')) throw new Error(`expected a YUV4MPEG2 FRAME marker, got ${line.slice(0, 20)}`);
        this.frame = this.alloc(this.frameSize);
        this.filled = 0;
        this.state = 'frameData';
      }
    }
  }
}
