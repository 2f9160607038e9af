/**
 * HLS from the media root: `/live/stream-<key>/index.m3u8` and its segments, written by the
 * encoders, with CORS (registered on the root app) and cache headers, regular files only.
 *
 * With `auth.playSecret` set every request needs a signature or token for its stream's folder
 * (PlayPolicy.hlsRequest): others are answered 403 `ERR_PLAY_FORBIDDEN`, counted, and warned about
 * once per connection. A playlist is then served with the request's `expires`/`sig` (or `token`)
 * added to every URI it lists, so that any player, which resolves a relative segment URI without
 * the playlist's query, fetches its segments with the same folder signature.
 *
 * A stream's playlist goes through the segment check (hls-playlist-guard.ts): segments a full or
 * failing disk cut short are marked `#EXT-X-GAP`, and an emptied playlist is served as last read whole.
 */
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from '../logger.ts';
import type { PlayPolicy } from '../security/play-policy.ts';
import type { PlayQuery } from '../security/play-signature.ts';
import { OUTPUT_PREFIX, STREAM_APP, isOutputName, isValidStreamKey } from '../ingest/stream-key.ts';
import { PLAYLIST_NAME } from '../ingest/hls-sweeper.ts';
import type { PlaylistServer } from '../ingest/hls-playlist-guard.ts';

/**
 * regularFileInside is true when `root`/`path` is a regular file reached through no symlink: the
 * media root serves only the files the encoders wrote there, never what a link points at.
 */
function regularFileInside(root: string, path: string): boolean {
  const base = resolve(root);
  const full = resolve(base, `.${sep}${path}`);
  if (!full.startsWith(base + sep)) return false;
  try {
    return lstatSync(full).isFile() && realpathSync(full) === join(realpathSync(base), full.slice(base.length));
  } catch {
    return false;
  }
}

/**
 * withPlayQuery adds `query` (e.g. `expires=..&sig=..`) to every URI of an HLS playlist: the URI
 * lines and the `URI="..."` attributes of tags.
 */
export function withPlayQuery(playlist: string, query: string): string {
  const add = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
  return playlist.split('\n').map((line) => {
    const text = line.trim();
    if (text === '') return line;
    if (!text.startsWith('#')) return add(line.replace(/\r$/, '')) + (line.endsWith('\r') ? '\r' : '');
    return line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${add(uri)}"`);
  }).join('\n');
}

/** credentialsOf is the `expires`/`sig` or `token` part of an allowed request's query, URL-encoded. */
function credentialsOf(query: PlayQuery): string {
  const params = new URLSearchParams();
  if (typeof query.token === 'string') params.set('token', query.token);
  else {
    params.set('expires', String(query.expires));
    params.set('sig', String(query.sig));
  }
  return params.toString();
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** decodedPath is the request's URL path decoded, or undefined when it is not valid percent-encoding. */
function decodedPath(req: FastifyRequest): string | undefined {
  const raw = req.url.split('?')[0];
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** HlsRouteDeps are what the HLS routes read. */
export interface HlsRouteDeps {
  mediaRoot: string;
  plays: PlayPolicy;
  /** Reads the live playlists through the segment check (the stream registry's media health). */
  playlists: PlaylistServer;
  log: Logger;
}

/** registerHlsRoutes serves `<mediaRoot>/live` at `/live/` (creating the folder), guarded by the PlayPolicy. */
export async function registerHlsRoutes(app: FastifyInstance, deps: HlsRouteDeps): Promise<void> {
  const hlsRoot = join(resolve(deps.mediaRoot), STREAM_APP);
  mkdirSync(hlsRoot, { recursive: true });
  const { plays, log } = deps;
  const warned = new WeakSet<Socket>();
  const credentials = new WeakMap<FastifyRequest, string>();

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      if (!plays.hlsProtected) return;
      const pathname = decodedPath(req);
      const query = (req.query ?? {}) as PlayQuery;
      const decision = pathname === undefined
        ? { allowed: false as const, reason: 'bad_path' as const, message: 'not a valid URL path' }
        : plays.hlsRequest(pathname, query);
      if (decision.allowed) {
        credentials.set(req, credentialsOf(query));
        return;
      }
      plays.refused('hls', decision.reason);
      if (!warned.has(req.raw.socket)) {
        warned.add(req.raw.socket);
        // The query may hold a signature or the play secret: only the path is logged.
        log.warn({ protocol: 'hls', path: pathname ?? '(undecodable)', ip: req.ip, reason: decision.reason }, `play refused: ${decision.message}`);
      }
      await reply.code(403).header('Cache-Control', 'no-store')
        .send({ error: 'ERR_PLAY_FORBIDDEN', reason: decision.reason, message: `play refused: ${decision.message}` });
    });

    scope.addHook('onSend', async (req, reply, payload) => {
      const query = credentials.get(req);
      if (query === undefined || reply.statusCode !== 200 || !decodedPath(req)?.endsWith('.m3u8')) return payload;
      if (typeof payload === 'string') return withPlayQuery(payload, query);
      if (typeof (payload as Readable | null)?.pipe !== 'function') return payload;
      reply.removeHeader('content-length');
      return withPlayQuery(await readAll(payload as Readable), query);
    });

    scope.get<{ Params: { folder: string } }>(`/${STREAM_APP}/:folder/${PLAYLIST_NAME}`, async (req, reply) => {
      const { folder } = req.params;
      const relative = `${folder}/${PLAYLIST_NAME}`;
      if (!isOutputName(folder) || !isValidStreamKey(folder.slice(OUTPUT_PREFIX.length)) || !regularFileInside(hlsRoot, relative)) return reply.callNotFound();
      const guarded = await deps.playlists.read(join(hlsRoot, relative));
      if (!guarded) return reply.callNotFound();
      return reply.header('Cache-Control', 'no-cache, no-store').type('application/vnd.apple.mpegurl').send(guarded.text);
    });

    await scope.register(fastifyStatic, {
      root: hlsRoot,
      prefix: `/${STREAM_APP}/`,
      decorateReply: false,
      cacheControl: false,
      // A protected playlist is rewritten per request: no validators of the file on disk for it.
      etag: !plays.hlsProtected,
      lastModified: !plays.hlsProtected,
      allowedPath: (path) => regularFileInside(hlsRoot, path),
      setHeaders(reply, path) {
        // Playlists change every segment; segments never change once written.
        if (path.endsWith('.m3u8')) {
          reply.header('Cache-Control', 'no-cache, no-store');
          reply.header('Content-Type', 'application/vnd.apple.mpegurl');
        } else if (path.endsWith('.ts')) {
          // Signed segments stay out of shared caches, which might answer others from them.
          reply.header('Cache-Control', plays.hlsProtected ? 'private, max-age=60' : 'public, max-age=60');
          reply.header('Content-Type', 'video/mp2t');
        }
      },
    });
  });
}
