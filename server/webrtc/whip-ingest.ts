/**
 * WHIP ingest (RFC 9725): accepts WebRTC publishers of `live/<key>` under the same rules as RTMP
 * ones (stream key, publish secret, one publisher per key, `pipeline.maxStreams`, plugin options
 * in the query) and hands each accepted session's FLV to the stream registry, so that everything
 * downstream (plugins, outputs, the API) is the same as for an RTMP publisher.
 */
import { randomBytes } from 'node:crypto';
import type { PeerConfig } from 'werift';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { NmsIngest } from '../ingest/nms-adapter.ts';
import type { Publisher, StreamRegistry } from '../ingest/stream-registry.ts';
import type { PluginCatalog } from '../pipeline/plugin-catalog.ts';
import { PluginChain } from '../pipeline/plugin-chain.ts';
import type { X264Settings } from '../pipeline/ffmpeg-args.ts';
import { STREAM_APP, isOutputName, isValidStreamKey } from '../ingest/stream-key.ts';
import { secretMatches } from '../security/secret-compare.ts';
import { checkOffer } from './offer-check.ts';
import { WhipSession } from './whip-session.ts';

/** WhipIngestOptions configure the WHIP ingest. */
export interface WhipIngestOptions {
  /** `auth.publishSecret` ('' = open): the bearer token (or `?token=`) a publisher must send. */
  publishSecret: string;
  /** `pipeline.maxStreams` (0 = no limit), counted over RTMP and WebRTC publishers together. */
  maxStreams: number;
  /** werift settings (ICE servers, UDP ports, host addresses). */
  peer: Partial<PeerConfig>;
  /** A full ffmpeg (sdp/rtp demuxers, AAC encoder). */
  ffmpegPath: string;
  /** `webrtc.mediaTimeoutMs`. */
  mediaTimeoutMs: number;
  /** The encode of VP8 video to H.264 (`encoder.*`). */
  x264: X264Settings;
}

/** WhipPublishRequest is one `POST /whip/live/<key>`. */
export interface WhipPublishRequest {
  key: string;
  /** The URL's query: plugin options (`bg`, `faces`, ...) and maybe `token`. */
  query: Record<string, string | undefined>;
  /** The bearer token of the Authorization header, if any. */
  bearer?: string;
  offer: string;
}

/** WhipAnswer is an accepted publish: the session id (of the resource URL) and the SDP answer. */
export interface WhipAnswer {
  sessionId: string;
  sdp: string;
}

/** GATHER_TIMEOUT_MS bounds ICE gathering before answering (host candidates take milliseconds; STUN more). */
const GATHER_TIMEOUT_MS = 3000;

/** WhipIngest owns the WHIP sessions, one per stream key. */
export class WhipIngest {
  /** The live (or starting) sessions by stream key; the RTMP ingest reads it (NmsIngest.otherPublishers). */
  readonly sessions = new Map<string, WhipSession>();

  constructor(
    private readonly options: WhipIngestOptions,
    private readonly registry: StreamRegistry,
    private readonly rtmp: NmsIngest,
    private readonly catalog: PluginCatalog,
    private readonly log: Logger,
  ) {}

  /**
   * publish checks a WHIP publish, answers its offer and starts its stream.
   * @throws MediaServerError `ERR_STREAM_KEY` (400), `ERR_OUTPUT_NAME` (403), `ERR_UNAUTHORISED`
   *   (401), `ERR_WHIP_OFFER`, `ERR_WHIP_NO_VIDEO`, `ERR_WHIP_CODECS`, `ERR_PLUGIN_OPTIONS` or a
   *   plugin's own code (e.g. `ERR_BACKGROUND_IMAGE`) (400),
   *   `ERR_KEY_IN_USE` (409), `ERR_SERVER_FULL` (503); each refusal is counted as RTMP ones are.
   */
  async publish(request: WhipPublishRequest): Promise<WhipAnswer> {
    const { key } = request;
    const streamPath = `/${STREAM_APP}/${key}`;
    const refuse = (reason: string, code: string, message: string): never => {
      this.log.warn({ streamPath: isValidStreamKey(key) ? streamPath : undefined, reason }, `WHIP publish refused: ${message}`);
      this.registry.countRefusal(reason);
      throw new MediaServerError(code, 'ingest', message);
    };
    if (isOutputName(key)) refuse('output_name', 'ERR_OUTPUT_NAME', 'processed outputs are published by the server only');
    if (!isValidStreamKey(key)) refuse('stream_key', 'ERR_STREAM_KEY', 'invalid stream key (allowed: 1-128 of A-Z a-z 0-9 _ -)');
    const { token, ...query } = request.query;
    if (this.options.publishSecret && !secretMatches(request.bearer ?? token, this.options.publishSecret)) {
      refuse('token', 'ERR_UNAUTHORISED', 'missing or wrong token: send Authorization: Bearer <auth.publishSecret>');
    }
    // A draining cluster node (server/cluster/node-drain.ts) answers no offer: the publisher goes to another node.
    if (this.registry.draining) refuse('draining', 'ERR_DRAINING', 'this node is draining (stopping): publish to another node');
    let summary;
    try {
      summary = checkOffer(request.offer);
    } catch (err) {
      refuse('offer', (err as MediaServerError).code, (err as Error).message);
    }
    try {
      // Built to be checked only (the registry builds the stream's own): options are refused before any socket opens.
      new PluginChain(this.catalog, this.catalog.selectFromQuery(query));
    } catch (err) {
      refuse('options', (err as MediaServerError).code ?? 'ERR_PLUGIN_OPTIONS', (err as Error).message);
    }
    if (this.sessions.has(key) || this.registry.get(key) || this.rtmp.publishers().some((p) => p.key === key)) {
      refuse('key_in_use', 'ERR_KEY_IN_USE', `stream key '${key}' already has a live publisher`);
    }
    const max = this.options.maxStreams;
    const live = this.sessions.size + this.rtmp.publishers().length;
    if (max > 0 && live >= max) refuse('server_full', 'ERR_SERVER_FULL', `server full: ${live} of ${max} streams are live (pipeline.maxStreams)`);

    const sessionId = randomBytes(12).toString('base64url');
    const log = this.log.child({ streamPath, session: sessionId });
    const session = new WhipSession({
      id: sessionId, key, peer: this.options.peer, ffmpegPath: this.options.ffmpegPath,
      mediaTimeoutMs: this.options.mediaTimeoutMs, gatherTimeoutMs: GATHER_TIMEOUT_MS, x264: this.options.x264, log,
    }, summary!.audio.length > 0);
    // The key is taken from here on: a second offer for it, or an RTMP publish, is refused.
    this.sessions.set(key, session);
    let sdp: string;
    try {
      sdp = await session.answer(request.offer);
      await session.start();
    } catch (err) {
      await session.close(`the offer was refused: ${(err as Error).message}`);
      if (this.sessions.get(key) === session) this.sessions.delete(key);
      if (err instanceof MediaServerError) refuse('offer', err.code, err.message);
      throw err;
    }
    const publisher: Publisher = {
      key, streamPath, query, source: session.source,
      disconnect: () => { void session.close('the stream ended with an error'); },
    };
    session.once('closed', () => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
      void this.registry.removePublisher(publisher);
    });
    log.info({ audio: summary!.audio.length > 0 }, 'WHIP session started');
    this.registry.addPublisher(publisher);
    return { sessionId, sdp: sdp! };
  }

  /**
   * end closes a session (`DELETE` on its resource URL); resolves once its stream has been told to end.
   * @throws MediaServerError `ERR_SESSION_NOT_FOUND` (404) when the key has no such session.
   */
  async end(key: string, sessionId: string): Promise<void> {
    const session = this.sessions.get(key);
    if (!session || session.id !== sessionId) throw new MediaServerError('ERR_SESSION_NOT_FOUND', 'http', `no WHIP session '${sessionId}' for '${key}'`);
    await session.close('the publisher ended the session (DELETE)');
  }

  /** hasSession tells whether the key's live session has this id. */
  hasSession(key: string, sessionId: string): boolean {
    return this.sessions.get(key)?.id === sessionId;
  }

  /** close ends every session (server shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close('the server is shutting down')));
  }
}
