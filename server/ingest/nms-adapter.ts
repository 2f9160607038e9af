/**
 * The node-media-server v4 adapter: RTMP ingest and playback, publish authorisation, and an
 * in-process tap that hands a publisher's FLV bytes to our pipeline.
 *
 * node-media-server fires prePublish/postPublish before its own checks, so a publish is only
 * taken as real once, on the next tick, the session is its stream's publisher.
 */
import { createRequire } from 'node:module';
import { once, EventEmitter } from 'node:events';
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import { STREAM_APP, isOutputName, isValidStreamKey } from './stream-key.ts';

const require = createRequire(import.meta.url);
const NodeMediaServer = require('node-media-server') as new (config: object) => NmsServer;
const nmsContext = require('node-media-server/src/core/context.js') as NmsContext;
const nmsLogger = require('node-media-server/src/core/logger.js') as { level: string; log: (message: string, level?: string) => void };

interface NmsServer {
  run(): Promise<void>;
  stop(): Promise<void>;
  on(event: string, listener: (session: NmsSession) => void): void;
  rtmpServer: { tcpServer?: Server };
}

/** NmsSession is the part of a node-media-server session we read. */
export interface NmsSession {
  id: string;
  ip: string;
  protocol: string;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, string | undefined>;
  audioCodec: number;
  videoWidth: number;
  videoHeight: number;
  socket?: Socket;
  /** node-media-server's RTMP protocol state: app and name as the client sent them. */
  rtmp?: { streamApp?: string; streamName?: string };
  close(): void;
}

interface NmsBroadcast {
  publisher: NmsSession | null;
  postPlay(session: object): string | null;
  donePlay(session: object): void;
}

interface NmsContext {
  broadcasts: Map<string, NmsBroadcast>;
  sessions: Map<string, NmsSession>;
}

/** PublishInfo describes an accepted publish of `live/<key>`. */
export interface PublishInfo {
  key: string;
  streamPath: string;
  query: Record<string, string | undefined>;
  /** True when the publisher's metadata (so far) declares an audio track. */
  audioDeclared(): boolean;
  session: NmsSession;
}

/** IngestEvents are the adapter's events. */
export interface IngestEvents {
  /** A publisher of `live/<key>` was accepted and is the stream's publisher. */
  publish: [info: PublishInfo];
  /** That publisher went away (socket closed). */
  unpublish: [info: PublishInfo];
  /** A publish was refused (the publisher's connection closed). */
  refused: [reason: RefusalReason];
}

/**
 * REFUSAL_REASONS say why a publish was refused: an application other than `live`, a stream key
 * outside the allowed characters, a processed output name (`stream-<key>`) from outside the server,
 * a missing or wrong token, or `pipeline.maxStreams` publishers already live.
 */
export const REFUSAL_REASONS = ['application', 'stream_key', 'output_name', 'token', 'server_full'] as const;
export type RefusalReason = typeof REFUSAL_REASONS[number];

/** IngestOptions configure the adapter. */
export interface IngestOptions {
  bind: string;
  rtmpPort: number;
  dataDir: string;
  /** Shared secret publishers must pass as `?token=`; '' = open. */
  publishSecret: string;
  /** Publishers of `live/<key>` accepted at once; one more is refused ('server_full'). 0 = no limit. */
  maxPublishers: number;
}

/** HANDSHAKE_TIMEOUT_MS is how long an RTMP connection may take to start publishing or playing. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function secretMatches(given: string | undefined, secret: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** NmsIngest owns the embedded node-media-server. */
export class NmsIngest extends EventEmitter<IngestEvents> {
  /** Token our own encoders use to publish `live/stream-<key>`; nobody else can. */
  readonly internalToken = randomBytes(18).toString('base64url');
  private nms?: NmsServer;
  private readonly live = new Map<string, PublishInfo>();
  private port = 0;

  constructor(private readonly options: IngestOptions, private readonly log: Logger) {
    super();
    // node-media-server logs through one console logger; route it into ours, one level quieter.
    const levels: Record<string, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { trace: 'trace', debug: 'debug', info: 'debug', warn: 'warn', error: 'warn' };
    const nmsLog = log.child({ component: 'node-media-server' });
    nmsLogger.log = (message: string, level = 'info') => nmsLog[levels[level] ?? 'debug'](message);
  }

  /** rtmpPort is the bound RTMP port (after listen). */
  get rtmpPort(): number {
    return this.port;
  }

  /** listen starts RTMP; resolves with the bound port. */
  async listen(): Promise<number> {
    // node-media-server opens no RTMP listener for port 0, so a free port is picked here first.
    const port = this.options.rtmpPort || await freePort(this.options.bind);
    const nms = new NodeMediaServer({
      bind: this.options.bind,
      rtmp: { port },
      store: { path: this.options.dataDir },
      webadmin: { enable: false },
    });
    this.nms = nms;
    nms.on('prePublish', (s) => this.onPrePublish(s));
    nms.on('postPublish', (s) => setImmediate(() => {
      s.socket?.setTimeout(0);
      this.onPostPublish(s);
    }));
    nms.on('postPlay', (s) => s.socket?.setTimeout(0));
    await nms.run();
    const server = nms.rtmpServer.tcpServer!;
    // node-media-server has no idle timeout: a client that never gets to publish or play (a port
    // scanner, random bytes) would hold its socket forever.
    server.on('connection', (socket: Socket) => socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => {
      this.log.debug({ remote: socket.remoteAddress }, 'RTMP connection closed: no publish or play in time');
      socket.destroy();
    }));
    if (!server.listening) await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** close stops RTMP and disconnects every publisher and player. */
  async close(): Promise<void> {
    await this.nms?.stop();
  }

  /** publishers lists the accepted live publishers. */
  publishers(): PublishInfo[] {
    return [...this.live.values()];
  }

  /**
   * tap subscribes in-process to a stream's FLV bytes (header, metadata, codec headers, then every
   * tag); returns the function that unsubscribes.
   */
  tap(streamPath: string, onBytes: (chunk: Buffer) => void): () => void {
    const broadcast = nmsContext.broadcasts.get(streamPath);
    if (!broadcast) return () => {};
    const session = {
      id: `tap-${randomBytes(6).toString('hex')}`, ip: '', protocol: 'flv', streamPath, endTime: 0,
      sendBuffer: (buffer: Buffer) => onBytes(buffer),
      close: () => {},
    };
    broadcast.postPlay(session);
    return () => broadcast.donePlay(session);
  }

  private reject(session: NmsSession, reason: RefusalReason, message: string, streamPath = session.streamPath): void {
    this.log.warn({ streamPath, ip: session.ip, reason }, `publish refused: ${message}`);
    session.socket?.destroy();
    if (!session.socket) session.close();
    this.emit('refused', reason);
  }

  private onPrePublish(session: NmsSession): void {
    const name = session.streamName;
    // node-media-server refuses names outside [A-Za-z0-9_-] itself but still fires prePublish with
    // an empty app and name; log what the client asked for, not an empty application.
    if (!session.streamApp && session.rtmp?.streamApp) {
      const asked = `/${session.rtmp.streamApp}/${session.rtmp.streamName ?? ''}`;
      return this.reject(session, 'stream_key', 'invalid stream key (allowed: 1-128 of A-Z a-z 0-9 _ -)',
        asked.length > 80 ? `${asked.slice(0, 80)}... (${asked.length} chars)` : asked);
    }
    if (session.streamApp !== STREAM_APP) return this.reject(session, 'application', `unknown application '${session.streamApp}' (publish to ${STREAM_APP}/<key>)`);
    if (isOutputName(name)) {
      if (!secretMatches(session.streamQuery?.token, this.internalToken)) this.reject(session, 'output_name', 'processed outputs are published by the server only');
      return;
    }
    if (!isValidStreamKey(name)) return this.reject(session, 'stream_key', 'invalid stream key');
    if (this.options.publishSecret && !secretMatches(session.streamQuery?.token, this.options.publishSecret)) {
      return this.reject(session, 'token', 'missing or wrong token');
    }
  }

  private onPostPublish(session: NmsSession): void {
    if (session.streamApp !== STREAM_APP || isOutputName(session.streamName)) return;
    if (nmsContext.broadcasts.get(session.streamPath)?.publisher !== session) return;
    if (session.socket?.destroyed) return;
    // Counted here, where publishes are confirmed one at a time: two arriving together cannot both take the last place.
    const max = this.options.maxPublishers;
    if (max > 0 && this.live.size >= max) {
      return this.reject(session, 'server_full', `server full: ${this.live.size} of ${max} streams are live (pipeline.maxStreams)`);
    }
    const info: PublishInfo = {
      key: session.streamName, streamPath: session.streamPath, query: { ...session.streamQuery },
      audioDeclared: () => Boolean(session.audioCodec), session,
    };
    this.live.set(session.id, info);
    const done = () => {
      if (this.live.delete(session.id)) this.emit('unpublish', info);
    };
    session.socket?.once('close', done);
    this.emit('publish', info);
  }
}
