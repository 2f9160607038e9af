/**
 * The first kind of stream source: an RTMP publisher accepted by the embedded node-media-server,
 * whose FLV bytes are tapped in-process.
 */
import type { NmsIngest, PublishInfo } from './nms-adapter.ts';
import type { StreamSource } from './stream-source.ts';

/** NmsFlvSource is a StreamSource for one node-media-server publisher (its broadcast's FLV, tapped in-process). */
export class NmsFlvSource implements StreamSource {
  constructor(private readonly ingest: NmsIngest, private readonly info: PublishInfo) {}

  /** tap subscribes to the publisher's broadcast (header, metadata, codec headers, then every tag); returns unsubscribe. */
  tap(onBytes: (chunk: Buffer) => void): () => void {
    return this.ingest.tap(this.info.streamPath, onBytes);
  }

  /** audioDeclared tells whether the publisher's metadata (so far) declares an audio track. */
  audioDeclared(): boolean {
    return this.info.audioDeclared();
  }
}
