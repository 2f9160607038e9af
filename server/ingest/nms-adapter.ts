/**
 * The node-media-server v4 adapter: RTMP ingest and playback, publish authorisation, and an
 * in-process tap that hands a publisher's FLV bytes to our pipeline.
 *
 * node-media-server fires prePublish/postPublish before its own checks, so a publish is only
 * taken as real once, on the next tick, the session is its stream's publisher.
 *
 * node-media-server forwards every audio/video/metadata message an RTMP session sends to the
 * broadcast of the path it named, whether or not it is that path's publisher (a refused second
 * publisher, even a player), and refuses a second publisher by half-closing its socket only, so
 * it goes on sending. Each RTMP session's packet callback is therefore wrapped when it connects:
 * only the broadcast's accepted publisher reaches it. The same wrapper notes when a publisher last
 * sent audio or video, which drops idle publishers (`rtmp.idlePublisherTimeoutMs`).
 *
 * Players are decided by the PlayPolicy (raw inputs by `auth.rawPlay`, outputs by
 * `auth.playSecret`) at node-media-server's prePlay, which it fires synchronously inside its
 * broadcast's postPlay before it sends the stream's headers and GOP: a refused player's socket is
 * destroyed there, so not one media byte reaches it. The in-process tap fires no prePlay.
 */
import { createRequire } from 'node:module';
import { once, EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import { STREAM_APP, isOutputName, isValidStreamKey, keyOfOutput } from './stream-key.ts';
import { secretMatches } from '../security/secret-compare.ts';
import type { PlayPolicy } from '../security/play-policy.ts';
import { socketFromChildProcess, socketOwnerCheckAvailable } from '../security/socket-owner.ts';

const require = createRequire(import.meta.url);
const NodeMediaServer = require('node-media-server') as new (config: object) => NmsServer;
const nmsContext = require('node-media-server/src/core/context.js') as NmsContext;
const nmsLogger = require('node-media-server/src/core/logger.js') as { level: string; log: (message: string, level?: string) => void };

interface NmsServer {
  run(): Promise<void>;
  stop(): Promise<void>;
  on(event: string, listener: (session: NmsSession) => void): void;
  rtmpServer: { tcpServer?: Server };
  /** Its JSON store (relay tasks, history); `options.signals` makes it hook SIGINT/SIGTERM when opened by run(). */
  store: { options: { signals?: boolean } };
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
  /** node-media-server's RTMP protocol state: app and name as the client sent them, and its packet callback. */
  rtmp?: { streamApp?: string; streamName?: string; onPacketCallback?: (packet: NmsPacket) => void };
  /** The broadcast of the path the session named (a placeholder before it named one). */
  broadcast?: NmsBroadcast;
  close(): void;
}

/** NmsPacket is node-media-server's parsed RTMP message (codec_type 8 audio, 9 video, 18 metadata). */
interface NmsPacket {
  codec_type: number;
}

interface NmsBroadcast {
  publisher: NmsSession | null;
  /** The publisher's AVC sequence header as RTMP message, once it sent one. */
  rtmpVideoHeader: Buffer | null;
  /** 'reconnecting' while a gone publisher's grace time runs (a new publisher may take over). */
  getPublishStatus(): 'publishing' | 'reconnecting' | 'idle';
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
  /** One of our encoders is now the publisher of the processed output `live/stream-<key>` (its key given). */
  outputPublished: [key: string];
}

/**
 * REFUSAL_REASONS say why a publish was refused: an application other than `live`, a stream key
 * outside the allowed characters, a processed output name (`stream-<key>`) from outside the server,
 * a missing or wrong token, `pipeline.maxStreams` publishers already live, or a key that already
 * has a live publisher.
 */
export const REFUSAL_REASONS = ['application', 'stream_key', 'output_name', 'token', 'server_full', 'key_in_use'] as const;
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
  /** A publisher that sends no audio or video for this long (ms) is disconnected; 0 = never. */
  idlePublisherTimeoutMs: number;
  /** Who may play what (auth.rawPlay, auth.playSecret). */
  plays: PlayPolicy;
}

/** SessionState is what the adapter keeps per RTMP session. */
interface SessionState {
  /** performance.now() of the session's last audio or video packet that reached its broadcast. */
  lastMediaAt: number;
  /** Set once the session is refused: nothing it sends reaches a broadcast any more. */
  refused: boolean;
  /** Packets dropped because the session was not its broadcast's publisher. */
  dropped: number;
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

/** NmsIngest owns the embedded node-media-server. */
export class NmsIngest extends EventEmitter<IngestEvents> {
  /**
   * Token our own encoders use to publish `live/stream-<key>` where the connection's process cannot
   * be checked (no Linux /proc); see outputQuery.
   */
  private readonly internalToken = randomBytes(18).toString('base64url');
  /** True where an output publish is authenticated by its socket's process (a child of ours) alone. */
  private readonly ownerCheck = socketOwnerCheckAvailable();
  private nms?: NmsServer;
  private readonly live = new Map<string, PublishInfo>();
  private readonly sessions = new WeakMap<NmsSession, SessionState>();
  private idleTimer?: NodeJS.Timeout;
  private port = 0;
  /**
   * otherPublishers are the publishers of `live/<key>` this ingest does not own (WebRTC
   * sessions, by stream key): an RTMP publish of one of their keys is refused ('key_in_use'), and
   * they count towards `maxPublishers`.
   */
  otherPublishers?: { has(key: string): boolean; readonly size: number };

  constructor(private readonly options: IngestOptions, private readonly log: Logger) {
    super();
    // node-media-server logs through one console logger; route it into ours, one level quieter.
    const levels: Record<string, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { trace: 'trace', debug: 'debug', info: 'debug', warn: 'warn', error: 'warn' };
    const nmsLog = log.child({ component: 'node-media-server' });
    nmsLogger.log = (message: string, level = 'info') => nmsLog[levels[level] ?? 'debug'](message);
  }

  /**
   * outputQuery is what our encoders append to `rtmp://.../live/stream-<key>`: '' on Linux, where
   * the connection is recognised as one of our child processes' (no secret on any command line),
   * else `?token=<internal token>` (then visible in `ps`; a warning says so at listen).
   */
  get outputQuery(): string {
    return this.ownerCheck ? '' : `?token=${this.internalToken}`;
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
    // Its store would flush on SIGINT/SIGTERM and send the signal to this process again, so one
    // SIGTERM would arrive twice (and a second one stops a drain at once); close() flushes it instead.
    nms.store.options.signals = false;
    nms.on('prePublish', (s) => this.onPrePublish(s));
    nms.on('postPublish', (s) => setImmediate(() => {
      s.socket?.setTimeout(0);
      this.onPostPublish(s);
    }));
    nms.on('prePlay', (s) => this.onPrePlay(s));
    nms.on('postPlay', (s) => {
      if (!this.sessions.get(s)?.refused) s.socket?.setTimeout(0);
    });
    await nms.run();
    const server = nms.rtmpServer.tcpServer!;
    // node-media-server has no idle timeout: a client that never gets to publish or play (a port
    // scanner, random bytes) would hold its socket forever.
    server.on('connection', (socket: Socket) => {
      socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => {
        this.log.debug({ remote: socket.remoteAddress }, 'RTMP connection closed: no publish or play in time');
        socket.destroy();
      });
      // node-media-server's own 'connection' listener (registered first) has made the session.
      const session = [...nmsContext.sessions.values()].reverse().find((s) => s.socket === socket);
      if (session) this.guardPackets(session);
      else {
        this.log.warn({ remote: socket.remoteAddress }, 'RTMP connection without a session; closed');
        socket.destroy();
      }
    });
    if (!this.ownerCheck) {
      this.log.warn({}, 'no /proc: the encoders publish their outputs with an internal token that `ps` shows to local users');
    }
    if (!server.listening) await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /**
   * stopAccepting closes the RTMP listener and keeps every open connection (publishers, players,
   * our encoders' outputs): a balancer in front then finds this node's port closed and sends new
   * publishers to another node at once (a drain). `close()` still ends the rest.
   */
  stopAccepting(): void {
    const server = this.nms?.rtmpServer.tcpServer;
    if (server?.listening) server.close();
  }

  /** close stops RTMP and disconnects every publisher and player. */
  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    await this.nms?.stop();
  }

  /**
   * guardPackets lets a session's packets reach its broadcast only while it is the broadcast's
   * accepted publisher, and notes when it last sent audio or video.
   */
  private guardPackets(session: NmsSession): void {
    const rtmp = session.rtmp;
    const forward = rtmp?.onPacketCallback;
    if (!rtmp || !forward) return;
    const state: SessionState = { lastMediaAt: performance.now(), refused: false, dropped: 0 };
    this.sessions.set(session, state);
    rtmp.onPacketCallback = (packet) => {
      if (!state.refused && session.broadcast?.publisher === session) {
        if (packet.codec_type === 8 || packet.codec_type === 9) state.lastMediaAt = performance.now();
        forward(packet);
        return;
      }
      if (state.dropped++ === 0) {
        this.log.debug({ streamPath: session.streamPath, ip: session.ip }, 'packets from an RTMP session that is not the stream\'s publisher dropped');
      }
    };
  }

  /** dropIdlePublishers disconnects every accepted publisher that sent no audio or video for `idlePublisherTimeoutMs`. */
  private dropIdlePublishers(): void {
    const timeout = this.options.idlePublisherTimeoutMs;
    const now = performance.now();
    for (const info of this.live.values()) {
      const state = this.sessions.get(info.session);
      if (!state || state.refused || now - state.lastMediaAt <= timeout) continue;
      state.refused = true;
      this.log.warn({ streamPath: info.streamPath, ip: info.session.ip, idleMs: Math.round(now - state.lastMediaAt) },
        `publisher dropped: no audio or video for ${timeout} ms (rtmp.idlePublisherTimeoutMs)`);
      info.session.socket?.destroy();
      if (!info.session.socket) info.session.close();
    }
  }

  /** publishers lists the accepted live publishers. */
  publishers(): PublishInfo[] {
    return [...this.live.values()];
  }

  /** hasVideoHeader is true once the publisher of `streamPath` has sent its video sequence header (players joining then can decode). */
  hasVideoHeader(streamPath: string): boolean {
    return Boolean(nmsContext.broadcasts.get(streamPath)?.rtmpVideoHeader);
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
    const state = this.sessions.get(session);
    if (state?.refused) return;
    if (state) state.refused = true;
    this.log.warn({ streamPath, ip: session.ip, reason }, `publish refused: ${message}`);
    session.socket?.destroy();
    if (!session.socket) session.close();
    this.emit('refused', reason);
  }

  /**
   * onPrePlay refuses a player the PlayPolicy does not allow: its socket destroyed before
   * node-media-server sends it anything, one warning per connection, the refusal counted.
   */
  private onPrePlay(session: NmsSession): void {
    const decision = this.options.plays.rtmpPlay(session.streamApp, session.streamName, session.streamQuery ?? {}, session.socket?.remoteAddress);
    if (decision.allowed) return;
    const state = this.sessions.get(session);
    session.socket?.destroy();
    if (!session.socket) session.close();
    if (state?.refused) return;
    if (state) state.refused = true;
    // The query may hold a signature or the play secret: only the path is logged.
    this.log.warn({ streamPath: session.streamPath, ip: session.ip, reason: decision.reason }, `play refused: ${decision.message}`);
    this.options.plays.refused('rtmp', decision.reason);
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
      if (!this.isOwnEncoder(session)) this.reject(session, 'output_name', 'processed outputs are published by the server only');
      return;
    }
    if (!isValidStreamKey(name)) return this.reject(session, 'stream_key', 'invalid stream key');
    if (this.options.publishSecret && !secretMatches(session.streamQuery?.token, this.options.publishSecret)) {
      return this.reject(session, 'token', 'missing or wrong token');
    }
    if (this.otherPublishers?.has(name)) return this.reject(session, 'key_in_use', 'stream key already has a live publisher (WebRTC)');
    // node-media-server would refuse it too, but only half-close its socket (see the file's comment).
    const broadcast = nmsContext.broadcasts.get(session.streamPath);
    if (broadcast?.publisher && broadcast.publisher !== session && broadcast.getPublishStatus() === 'publishing') {
      return this.reject(session, 'key_in_use', `stream key already has a live publisher`);
    }
  }

  /** isOwnEncoder tells whether a publisher of `live/stream-<key>` is one of our encoders. */
  /**
   * watchIdlePublishers starts the idle check once. It lives in a method of its own: a closure made
   * inside onPostPublish would share that call's scope and keep its session reachable for good.
   */
  private watchIdlePublishers(): void {
    const timeout = this.options.idlePublisherTimeoutMs;
    if (timeout <= 0 || this.idleTimer) return;
    this.idleTimer = setInterval(() => this.dropIdlePublishers(), Math.min(1000, Math.max(100, timeout / 4)));
    this.idleTimer.unref();
  }

  private isOwnEncoder(session: NmsSession): boolean {
    if (this.ownerCheck) return session.socket !== undefined && socketFromChildProcess(session.socket);
    return secretMatches(session.streamQuery?.token, this.internalToken);
  }

  private onPostPublish(session: NmsSession): void {
    if (session.streamApp !== STREAM_APP) return;
    if (isOutputName(session.streamName)) {
      const refused = this.sessions.get(session)?.refused || session.socket?.destroyed;
      if (!refused && nmsContext.broadcasts.get(session.streamPath)?.publisher === session) this.emit('outputPublished', keyOfOutput(session.streamName));
      return;
    }
    if (this.sessions.get(session)?.refused || session.socket?.destroyed) return;
    if (nmsContext.broadcasts.get(session.streamPath)?.publisher !== session) {
      return this.reject(session, 'key_in_use', 'stream key already has a live publisher');
    }
    // Counted here, where publishes are confirmed one at a time: two arriving together cannot both take the last place.
    if (this.otherPublishers?.has(session.streamName)) return this.reject(session, 'key_in_use', 'stream key already has a live publisher (WebRTC)');
    const max = this.options.maxPublishers;
    const live = this.live.size + (this.otherPublishers?.size ?? 0);
    if (max > 0 && live >= max) {
      return this.reject(session, 'server_full', `server full: ${live} of ${max} streams are live (pipeline.maxStreams)`);
    }
    const info: PublishInfo = {
      key: session.streamName, streamPath: session.streamPath, query: { ...session.streamQuery },
      audioDeclared: () => Boolean(session.audioCodec), session,
    };
    this.live.set(session.id, info);
    const state = this.sessions.get(session);
    if (state) state.lastMediaAt = performance.now();
    this.watchIdlePublishers();
    const done = () => {
      if (this.live.delete(session.id)) this.emit('unpublish', info);
    };
    session.socket?.once('close', done);
    this.emit('publish', info);
  }
}
