/**
 * Signed play URLs, in the form of nginx's `secure_link` with a path prefix: a player adds
 * `?expires=<unix s>&sig=<signature>` to a stream's RTMP or HLS URL, where
 *
 *   signature = base64url(HMAC-SHA256(auth.playSecret, "<folder>:<expires>"))   (no padding)
 *
 * and `<folder>` is the folder the link opens, with its trailing slash: `/live/<name>/` for one
 * stream (`/live/stream-<key>/` a processed output: its RTMP play, its playlist and every segment;
 * `/live/<key>/` a raw input) or `/live/` for every stream. Signing a folder rather than a file
 * lets one query open a playlist and the segments it lists. `?token=<auth.playSecret>` opens
 * everything, like `/live/`.
 */
import { createHmac } from 'node:crypto';
import { secretMatches } from './secret-compare.ts';
import { STREAM_APP } from '../ingest/stream-key.ts';

/** ALL_STREAMS_FOLDER is the folder whose signature opens every stream: `/live/`. */
export const ALL_STREAMS_FOLDER = `/${STREAM_APP}/`;

/** PlayQuery is the part of a URL's query that authorises a play (values as parsed; arrays are refused). */
export interface PlayQuery {
  expires?: unknown;
  sig?: unknown;
  token?: unknown;
}

/** SignatureVerdict says whether a query opens a folder, or why not. */
export type SignatureVerdict = 'ok' | 'signature_missing' | 'signature_expired' | 'signature_invalid';

const EXPIRES_PATTERN = /^\d{1,12}$/;

/** streamFolder is the folder a stream name's signature covers: `/live/<name>/`. */
export function streamFolder(name: string): string {
  return `${ALL_STREAMS_FOLDER}${name}/`;
}

/**
 * folderForPath maps what a person names to the folder a signature opens: `/live/` (or `/live`)
 * itself, or the folder of stream `<name>` for `/live/<name>`, `/live/<name>/`, a file in it
 * (`/live/<name>/index.m3u8`) or such a URL (`rtmp://host/live/<name>?x=y`).
 * @throws Error for anything else.
 */
export function folderForPath(path: string): string {
  const pathname = /^[a-z]+:\/\//i.test(path) ? new URL(path).pathname : path.split('?')[0];
  if (pathname === ALL_STREAMS_FOLDER || pathname === `/${STREAM_APP}`) return ALL_STREAMS_FOLDER;
  const m = new RegExp(`^/${STREAM_APP}/([A-Za-z0-9_-]+)(/[^/]*)?$`).exec(pathname);
  if (!m) throw new Error(`'${path}' is not /live/, /live/<name>/ or a file in it`);
  return streamFolder(m[1]);
}

/**
 * signFolder is the signature of `folder` (e.g. `/live/stream-demo/`) until `expiresS` (unix
 * seconds): base64url HMAC-SHA256 of `"<folder>:<expires>"`, 43 characters.
 */
export function signFolder(secret: string, folder: string, expiresS: number): string {
  return createHmac('sha256', secret).update(`${folder}:${expiresS}`, 'utf8').digest('base64url');
}

/** signedQuery is the query (without `?`) that opens `folder` until `expiresS`: `expires=<s>&sig=<signature>`. */
export function signedQuery(secret: string, folder: string, expiresS: number): string {
  return `expires=${expiresS}&sig=${signFolder(secret, folder, expiresS)}`;
}

/** hasPlayCredentials is true when a query carries any of `expires`, `sig` or `token`. */
export function hasPlayCredentials(query: PlayQuery): boolean {
  return query.expires !== undefined || query.sig !== undefined || query.token !== undefined;
}

/**
 * verifyPlayQuery tells whether `query` opens stream `name` (a stream name, e.g. `stream-demo` or
 * `demo`) at `nowS` (unix seconds): a token equal to `secret`, or a signature of the stream's
 * folder or of `/live/` whose `expires` is not past. Every comparison is of SHA-256 digests in
 * constant time (secretMatches); it never throws.
 */
export function verifyPlayQuery(secret: string, name: string, query: PlayQuery, nowS: number): SignatureVerdict {
  if (!secret) return 'signature_invalid';
  if (query.token !== undefined) {
    return typeof query.token === 'string' && secretMatches(query.token, secret) ? 'ok' : 'signature_invalid';
  }
  if (query.sig === undefined && query.expires === undefined) return 'signature_missing';
  if (typeof query.sig !== 'string' || typeof query.expires !== 'string' || !EXPIRES_PATTERN.test(query.expires)) return 'signature_invalid';
  const expires = Number(query.expires);
  // Both folders are always compared, so the time taken does not tell which one matched.
  const matches = [streamFolder(name), ALL_STREAMS_FOLDER].map((folder) => secretMatches(query.sig as string, signFolder(secret, folder, expires)));
  if (!matches.includes(true)) return 'signature_invalid';
  return expires < nowS ? 'signature_expired' : 'ok';
}
