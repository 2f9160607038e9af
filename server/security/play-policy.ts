/**
 * Who may play what: the one place the play rules live, for RTMP players (node-media-server
 * sessions) and HLS requests alike, and the count of refusals by protocol and reason.
 *
 * - A raw input (`live/<key>`, anything that is not a processed output) follows `auth.rawPlay`:
 *   `loopback` (default) lets clients on 127.0.0.0/8 and ::1 play, and anyone with a valid
 *   signature or token when `auth.playSecret` is set; `token` only the latter; `open` anyone;
 *   `off` nobody.
 * - A processed output (`live/stream-<key>` over RTMP, `/live/stream-<key>/*` over HLS) is open
 *   unless `auth.playSecret` is set; then it needs a valid signature or token (play-signature.ts).
 *
 * The server's own readers never come here: the decoder taps a publisher's broadcast in-process.
 */
import { isIP } from 'node:net';
import type { RawPlayMode } from '../config-schema.ts';
import { STREAM_APP, isOutputName } from '../ingest/stream-key.ts';
import { hasPlayCredentials, verifyPlayQuery, type PlayQuery } from './play-signature.ts';

/** PLAY_PROTOCOLS are the ways to play a stream. */
export const PLAY_PROTOCOLS = ['rtmp', 'hls'] as const;
export type PlayProtocol = typeof PLAY_PROTOCOLS[number];

/**
 * PLAY_REFUSAL_REASONS, by protocol, say why a play was refused: `raw_off` (auth.rawPlay off),
 * `raw_not_loopback` (auth.rawPlay loopback, a client elsewhere without credentials),
 * `signature_missing`, `signature_expired`, `signature_invalid` (a wrong signature or token, or a
 * malformed one), and for HLS `bad_path` (not `/live/<name>/<file>`).
 */
export const PLAY_REFUSAL_REASONS = {
  rtmp: ['raw_off', 'raw_not_loopback', 'signature_missing', 'signature_expired', 'signature_invalid'],
  hls: ['signature_missing', 'signature_expired', 'signature_invalid', 'bad_path'],
} as const satisfies Record<PlayProtocol, readonly string[]>;
export type PlayRefusalReason = typeof PLAY_REFUSAL_REASONS[PlayProtocol][number];

/** PlayDecision is a play allowed, or refused with its reason and a sentence for the log. */
export type PlayDecision = { allowed: true } | { allowed: false; reason: PlayRefusalReason; message: string };

/** PlayPolicyOptions are `auth.rawPlay` and `auth.playSecret`. */
export interface PlayPolicyOptions {
  rawPlay: RawPlayMode;
  /** '' = processed outputs open, raw inputs by `rawPlay` alone. */
  playSecret: string;
}

const ALLOWED: PlayDecision = { allowed: true };
/** HLS_PATH is `/live/<stream name>/<file name>`, nothing else (no `..`, no further folders). */
const HLS_PATH = new RegExp(`^/${STREAM_APP}/([A-Za-z0-9_-]+)/([A-Za-z0-9_-][A-Za-z0-9_.-]*)$`);

/** isLoopbackAddress is true for 127.0.0.0/8, ::1 and their IPv4-mapped forms (::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

const SIGNATURE_MESSAGES: Record<'signature_missing' | 'signature_expired' | 'signature_invalid', string> = {
  signature_missing: 'no signature (auth.playSecret is set: add ?expires=..&sig=.., see npm run sign-url)',
  signature_expired: 'signed URL expired',
  signature_invalid: 'wrong or malformed signature or token',
};

/** PlayPolicy decides plays and counts the refusals. */
export class PlayPolicy {
  private readonly refusals = new Map<string, number>();

  /** @param now returns the time in ms since the epoch (tests pass their own clock). */
  constructor(private readonly options: PlayPolicyOptions, private readonly now: () => number = Date.now) {
    for (const protocol of PLAY_PROTOCOLS) for (const reason of PLAY_REFUSAL_REASONS[protocol]) this.refusals.set(`${protocol}:${reason}`, 0);
  }

  /** hlsProtected is true when HLS requests need a signature or token (auth.playSecret set). */
  get hlsProtected(): boolean {
    return this.options.playSecret !== '';
  }

  /**
   * rtmpPlay decides an RTMP play of `app/name` with its query, from `remoteAddress` (the socket's
   * peer address).
   */
  rtmpPlay(app: string | undefined, name: string | undefined, query: PlayQuery, remoteAddress: string | undefined): PlayDecision {
    const streamName = name ?? '';
    if (app === STREAM_APP && isOutputName(streamName)) return this.signed(streamName, query);
    switch (this.options.rawPlay) {
      case 'open':
        return ALLOWED;
      case 'off':
        return { allowed: false, reason: 'raw_off', message: 'raw inputs are not played (auth.rawPlay off)' };
      case 'token':
        return this.signed(streamName, query, true);
      case 'loopback':
        if (isLoopbackAddress(remoteAddress)) return ALLOWED;
        if (this.options.playSecret && hasPlayCredentials(query)) return this.signed(streamName, query, true);
        return { allowed: false, reason: 'raw_not_loopback', message: 'raw inputs are played from loopback only (auth.rawPlay loopback)' };
    }
  }

  /**
   * hlsRequest decides a request of the decoded URL path `pathname` (e.g.
   * `/live/stream-demo/segment-3.ts`) with its query: open without auth.playSecret, else only
   * `/live/<name>/<file>` with a valid signature or token for `<name>`.
   */
  hlsRequest(pathname: string, query: PlayQuery): PlayDecision {
    if (!this.hlsProtected) return ALLOWED;
    const m = HLS_PATH.exec(pathname);
    if (!m) return { allowed: false, reason: 'bad_path', message: 'not a stream file (/live/<name>/<file>)' };
    return this.signed(m[1], query);
  }

  /** refused counts one refusal. */
  refused(protocol: PlayProtocol, reason: PlayRefusalReason): void {
    const key = `${protocol}:${reason}`;
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
  }

  /** refusalCounts lists the refusals since the server started, every valid protocol and reason included (0 when none). */
  refusalCounts(): { protocol: PlayProtocol; reason: PlayRefusalReason; count: number }[] {
    return [...this.refusals].map(([key, count]) => {
      const [protocol, reason] = key.split(':') as [PlayProtocol, PlayRefusalReason];
      return { protocol, reason, count };
    });
  }

  private signed(name: string, query: PlayQuery, raw = false): PlayDecision {
    // Without a secret an output is open, while a raw input that needs credentials can have none.
    if (!this.options.playSecret && !raw) return ALLOWED;
    const verdict = verifyPlayQuery(this.options.playSecret, name, query, Math.floor(this.now() / 1000));
    if (verdict === 'ok') return ALLOWED;
    return { allowed: false, reason: verdict, message: `${raw ? 'raw input: ' : ''}${SIGNATURE_MESSAGES[verdict]}` };
  }
}
