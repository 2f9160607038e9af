import { ByteBuffer } from 'flatbuffers';

/** FlatTable is a minimal read-only accessor over one FlatBuffers table, addressed by field index (vtable slot = 4 + 2 * index). */
export class FlatTable {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  /** root opens the root table of a FlatBuffers file; throws if the buffer is shorter than 8 bytes. */
  static root(bytes: Uint8Array): FlatTable {
    if (bytes.byteLength < 8) throw new Error(`flatbuffer too short (${bytes.byteLength} bytes)`);
    const bb = new ByteBuffer(bytes);
    return new FlatTable(bb, bb.readInt32(bb.position()) + bb.position());
  }

  private offset(field: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * field);
  }

  /** has tells whether the field at `field` index is present in this table. */
  has(field: number): boolean {
    return this.offset(field) !== 0;
  }

  /** int8 reads a signed byte field (enums stored as byte), or `fallback` when absent. */
  int8(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readInt8(this.pos + o) : fallback;
  }

  /** uint8 reads an unsigned byte field (ubyte enums, union type tags, bool), or `fallback` when absent. */
  uint8(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readUint8(this.pos + o) : fallback;
  }

  /** bool reads a bool field, or `fallback` when absent. */
  bool(field: number, fallback = false): boolean {
    const o = this.offset(field);
    return o ? this.bb.readUint8(this.pos + o) !== 0 : fallback;
  }

  /** int32 reads an int field, or `fallback` when absent. */
  int32(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readInt32(this.pos + o) : fallback;
  }

  /** uint32 reads a uint field, or `fallback` when absent. */
  uint32(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readUint32(this.pos + o) : fallback;
  }

  /** string reads a UTF-8 string field, or `fallback` when absent. */
  string(field: number, fallback = ''): string {
    const o = this.offset(field);
    return o ? (this.bb.__string(this.pos + o) as string) : fallback;
  }

  /** table reads a sub-table (or union value) field, or undefined when absent. */
  table(field: number): FlatTable | undefined {
    const o = this.offset(field);
    return o ? new FlatTable(this.bb, this.bb.__indirect(this.pos + o)) : undefined;
  }

  /** vectorLength returns the element count of a vector field (0 when absent). */
  vectorLength(field: number): number {
    const o = this.offset(field);
    return o ? this.bb.__vector_len(this.pos + o) : 0;
  }

  /** tables reads a vector-of-tables field (empty when absent). */
  tables(field: number): FlatTable[] {
    const o = this.offset(field);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out: FlatTable[] = [];
    for (let i = 0; i < n; i++) out.push(new FlatTable(this.bb, this.bb.__indirect(start + 4 * i)));
    return out;
  }

  /** int32s reads a vector-of-int field as a plain array (empty when absent). */
  int32s(field: number): number[] {
    const o = this.offset(field);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.bb.readInt32(start + 4 * i));
    return out;
  }

  /** uint16s reads a vector-of-ushort field as a plain array (empty when absent). */
  uint16s(field: number): number[] {
    const o = this.offset(field);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.bb.readUint16(start + 2 * i));
    return out;
  }

  /** bytes returns a vector-of-ubyte field as a view into the file (no copy; empty when absent). */
  bytes(field: number): Uint8Array {
    const o = this.offset(field);
    if (!o) return new Uint8Array(0);
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const arr = this.bb.bytes();
    return arr.subarray(start, start + n);
  }
}
