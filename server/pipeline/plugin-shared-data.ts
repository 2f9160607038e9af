/**
 * Server-wide data for plugins (`FrameContext.shared`, plugins/plugin-api.ts): the main thread
 * publishes a datum (JSON-able meta plus a Float32Array payload) under a name; each frame task
 * carries the current version of every datum as one SharedArrayBuffer, which crosses to the
 * worker threads by reference (no copy per frame); each worker decodes a version once and caches it.
 *
 * Blob layout (little-endian): u32 meta byte length M, M bytes of UTF-8 JSON meta, zero padding to
 * a multiple of 4, then the payload as float32.
 */
import type { SharedData, SharedDatum } from '../../plugins/plugin-api.ts';

/** SharedBlob is one published datum as it travels with a frame task. */
export interface SharedBlob {
  version: number;
  buffer: SharedArrayBuffer;
}

/** SharedBlobs are the blobs of every published datum, by name (what a FrameTask carries). */
export type SharedBlobs = Readonly<Record<string, SharedBlob>>;

/** encodeSharedBlob packs `meta` (JSON-able) and `data` into a new SharedArrayBuffer. */
export function encodeSharedBlob(version: number, meta: unknown, data: Float32Array): SharedBlob {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const offset = 4 + Math.ceil(json.length / 4) * 4;
  const buffer = new SharedArrayBuffer(offset + data.byteLength);
  new DataView(buffer).setUint32(0, json.length, true);
  new Uint8Array(buffer, 4, json.length).set(json);
  new Float32Array(buffer, offset, data.length).set(data);
  return { version, buffer };
}

/**
 * decodeSharedBlob unpacks a blob: the meta parsed, the payload a Float32Array view of the shared
 * memory (not a copy).
 * @throws RangeError when the buffer is shorter than its header says (a corrupt blob).
 */
export function decodeSharedBlob<Meta>(blob: SharedBlob): SharedDatum<Meta> {
  const { buffer } = blob;
  const length = buffer.byteLength >= 4 ? new DataView(buffer).getUint32(0, true) : -1;
  const offset = 4 + Math.ceil(length / 4) * 4;
  if (length < 0 || offset > buffer.byteLength || (buffer.byteLength - offset) % 4 !== 0) {
    throw new RangeError(`shared blob of ${buffer.byteLength} bytes does not hold its ${length}-byte meta and a float32 payload`);
  }
  // TextDecoder does not read shared memory: copy the (small) meta bytes first.
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length).slice())) as Meta;
  return { version: blob.version, meta, data: new Float32Array(buffer, offset, (buffer.byteLength - offset) / 4) };
}

/** PluginSharedData holds the server's published data (one per server, main thread). */
export class PluginSharedData {
  private blobs: Record<string, SharedBlob> = {};

  /**
   * publish replaces datum `name` for every frame sent from now on (frames already in the pool keep
   * the version they were sent with). `data` is copied.
   */
  publish(name: keyof SharedData & string, meta: unknown, data: Float32Array): SharedBlob {
    const blob = encodeSharedBlob((this.blobs[name]?.version ?? 0) + 1, meta, data);
    this.blobs = { ...this.blobs, [name]: blob };
    return blob;
  }

  /** withdraw removes datum `name` (plugins then see it absent). */
  withdraw(name: keyof SharedData & string): void {
    const { [name]: _, ...rest } = this.blobs;
    this.blobs = rest;
  }

  /** snapshot is the current blobs (an immutable object: safe to hand to a task). */
  snapshot(): SharedBlobs {
    return this.blobs;
  }
}

/**
 * SharedDataCache decodes each datum's version once per thread (worker side): `view` returns the
 * decoded data of a task's blobs. A blob that does not decode is left out (the plugin sees it
 * absent and must treat that as "not known": a privacy plugin then hides).
 */
export class SharedDataCache {
  private readonly decoded = new Map<string, { buffer: SharedArrayBuffer; datum: SharedDatum<unknown> }>();

  view(blobs: SharedBlobs | undefined): SharedData {
    const out: Record<string, SharedDatum<unknown>> = {};
    for (const [name, blob] of Object.entries(blobs ?? {})) {
      let hit = this.decoded.get(name);
      if (!hit || hit.buffer !== blob.buffer) {
        try {
          hit = { buffer: blob.buffer, datum: decodeSharedBlob(blob) };
        } catch {
          this.decoded.delete(name);
          continue;
        }
        this.decoded.set(name, hit);
      }
      out[name] = hit.datum;
    }
    return out as SharedData;
  }
}
