/**
 * WHEP playback: `POST /whep/live/stream-<key>` gives a viewer the processed stream over WebRTC
 * (well under a second behind, against HLS's segments), each viewer its own session, all viewers
 * of a stream fed by one WhepFeed. Playing follows the same policy as RTMP and HLS outputs
 * (`auth.playSecret`: a signed query, or the secret as bearer token or `?token=`).
 */
import { randomBytes } from 'node:crypto';
import type { PeerConfig } from 'werift';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { NmsIngest } from '../ingest/nms-adapter.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';
import { OUTPUT_PREFIX, STREAM_APP, isOutputName } from '../ingest/stream-key.ts';
import type { PlayPolicy } from '../security/play-policy.ts';
import { WhepFeed } from './whep-feed.ts';
import { WhepSession } from './whep-session.ts';

/** WhepPlayRequest is one `POST /whep/live/<output name>`. */
export interface WhepPlayRequest {
  /** The output's name, `stream-<key>`. */
  name: string;
  query: Record<string, string | undefined>;
  bearer?: string;
  offer: string;
}

const GATHER_TIMEOUT_MS = 3000;

/** WhepEgress owns the feeds (one per output stream with viewers) and the viewer sessions. */
export class WhepEgress {
  private readonly feeds = new Map<string, WhepFeed>();
  private readonly sessions = new Map<string, { name: string; session: WhepSession; feed: WhepFeed }>();

  constructor(
    private readonly registry: StreamRegistry,
    private readonly rtmp: NmsIngest,
    private readonly plays: PlayPolicy,
    private readonly peer: Partial<PeerConfig>,
    private readonly ffmpegPath: string,
    private readonly log: Logger,
  ) {
    registry.on('streamEnded', (key) => {
      void this.feeds.get(OUTPUT_PREFIX + key)?.close('the stream ended');
    });
  }

  /** viewerCount is the number of WHEP viewers of an output (`stream-<key>`). */
  viewerCount(name: string): number {
    return this.feeds.get(name)?.viewers.size ?? 0;
  }

  /**
   * play answers a viewer's offer.
   * @throws MediaServerError `ERR_STREAM_NOT_FOUND` (404: no such output, or not live yet),
   *   `ERR_PLAY_REFUSED` (403, auth.playSecret), `ERR_WHEP_OFFER` (400).
   */
  async play(request: WhepPlayRequest): Promise<{ sessionId: string; sdp: string }> {
    const { name } = request;
    const key = name.slice(OUTPUT_PREFIX.length);
    const stream = isOutputName(name) ? this.registry.get(key) : undefined;
    if (!stream || stream.state !== 'live') {
      throw new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', `no live processed stream '${name}' (WHEP plays outputs, live/stream-<key>, once they are live)`);
    }
    const { token, ...rest } = request.query;
    const decision = this.plays.rtmpPlay(STREAM_APP, name, { ...rest, token: request.bearer ?? token }, undefined);
    if (!decision.allowed) throw new MediaServerError('ERR_PLAY_REFUSED', 'http', `play refused: ${decision.message}`);
    if (!/^v=0\r?\n/.test(request.offer)) throw new MediaServerError('ERR_WHEP_OFFER', 'http', 'the body is not an SDP offer (expected application/sdp starting with v=0)');

    const sessionId = randomBytes(12).toString('base64url');
    const log = this.log.child({ streamPath: `/${STREAM_APP}/${name}`, session: sessionId });
    const session = new WhepSession(sessionId, this.peer, stream.hasAudio === true, log);
    let sdp: string;
    try {
      sdp = await session.answer(request.offer, GATHER_TIMEOUT_MS);
    } catch (err) {
      await session.close(`the offer was refused: ${(err as Error).message}`);
      throw err;
    }
    const feed = await this.feed(name, stream.hasAudio === true);
    feed.viewers.add(session.viewer);
    this.sessions.set(sessionId, { name, session, feed });
    session.once('closed', () => {
      this.sessions.delete(sessionId);
      feed.viewers.delete(session.viewer);
      if (feed.viewers.size === 0) void feed.close('its last viewer left');
    });
    log.info({ viewers: feed.viewers.size }, 'WHEP session started');
    return { sessionId, sdp };
  }

  /**
   * end closes a viewer session (`DELETE`).
   * @throws MediaServerError `ERR_SESSION_NOT_FOUND` (404).
   */
  async end(name: string, sessionId: string): Promise<void> {
    const entry = this.sessions.get(sessionId);
    if (!entry || entry.name !== name) throw new MediaServerError('ERR_SESSION_NOT_FOUND', 'http', `no WHEP session '${sessionId}' for '${name}'`);
    await entry.session.close('the viewer ended the session (DELETE)');
  }

  /** hasSession tells whether an output has this viewer session. */
  hasSession(name: string, sessionId: string): boolean {
    return this.sessions.get(sessionId)?.name === name;
  }

  /** close ends every viewer and feed (server shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((e) => e.session.close('the server is shutting down')));
    await Promise.all([...this.feeds.values()].map((f) => f.close('the server is shutting down')));
  }

  /** feed returns the output's running feed, starting one for its first viewer. */
  private async feed(name: string, hasAudio: boolean): Promise<WhepFeed> {
    const running = this.feeds.get(name);
    if (running) return running;
    const feed = new WhepFeed((onBytes) => this.rtmp.tap(`/${STREAM_APP}/${name}`, onBytes), hasAudio, this.ffmpegPath, this.log.child({ streamPath: `/${STREAM_APP}/${name}` }));
    this.feeds.set(name, feed);
    feed.once('closed', () => {
      if (this.feeds.get(name) === feed) this.feeds.delete(name);
      for (const entry of [...this.sessions.values()]) if (entry.feed === feed) void entry.session.close('the stream ended');
    });
    await feed.start();
    return feed;
  }
}
