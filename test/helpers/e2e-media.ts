/**
 * End-to-end helpers on top of server-process.ts and ffmpeg-tools.ts: a server on free ports, the
 * stream API, HLS playlist parsing, multi-frame grabs, pixel statistics and the server's children.
 */
import { before, after } from 'node:test';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startServer, SHARED_MEDIA, type ServerProcess } from './server-process.ts';
import type { Publisher } from './ffmpeg-tools.ts';

const run = promisify(execFile);

/** mediaSkip is false when the shared footage exists, else the reason to skip a test that needs it. */
export const mediaSkip: string | false = existsSync(join(SHARED_MEDIA, 'sister.mkv'))
  ? false
  : `shared test footage is absent (${SHARED_MEDIA}, see ../shared/media/SOURCES.md)`;

/** mediaFile is the absolute path of a clip in the shared footage folder. */
export const mediaFile = (name: string): string => join(SHARED_MEDIA, name);

/** uniqueKey makes a stream key no other test uses (`<prefix>-<6 hex>`). */
export const uniqueKey = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

/**
 * startServerOnFreePorts starts the server on ports the kernel picks (`--rtmp-port 0
 * --http-port 0`); kept as the e2e entry point (it once picked the RTMP port itself, when
 * `--rtmp-port 0` did not work with node-media-server v4).
 */
export async function startServerOnFreePorts(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  return startServer(args, env);
}

/**
 * serverForTests starts one server on free ports before the tests of the enclosing file (or
 * `describe`) and stops it after them, stopping first every publisher handed to `track`. The
 * server is read through `server` once the tests run.
 */
export function serverForTests(args: string[] = []): { readonly server: ServerProcess; track<P extends Publisher>(publisher: P): P } {
  let server: ServerProcess | undefined;
  const publishers: Publisher[] = [];
  before(async () => {
    server = await startServerOnFreePorts(args);
  });
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('serverForTests: the server is not started yet (read it inside a test)');
      return server;
    },
    track(publisher) {
      publishers.push(publisher);
      return publisher;
    },
  };
}

/** ApiStream is the part of a `GET /api/streams` entry the tests read. */
export interface ApiStream {
  key: string;
  state: string;
  width?: number;
  height?: number;
  hasAudio?: boolean;
  /** Publisher time (ms) of the output's timestamp 0. */
  outputPtsOriginMs?: number;
  background: Record<string, unknown>;
  stats: Record<string, unknown>;
}

/** apiStreams fetches `GET /api/streams` and returns its list (rejects on a non-200 answer). */
export async function apiStreams(httpBase: string): Promise<ApiStream[]> {
  const res = await fetch(`${httpBase}/api/streams`);
  if (!res.ok) throw new Error(`GET /api/streams answered ${res.status}`);
  return ((await res.json()) as { streams: ApiStream[] }).streams;
}

/** Playlist is the part of an HLS media playlist the tests read. */
export interface Playlist {
  text: string;
  mediaSequence: number;
  segments: { uri: string; durationS: number }[];
  ended: boolean;
  discontinuities: number;
}

/** parsePlaylist reads an HLS media playlist's media sequence, segments, ENDLIST and discontinuities. */
export function parsePlaylist(text: string): Playlist {
  const lines = text.split('\n').map((l) => l.trim());
  const segments: Playlist['segments'] = [];
  let duration = 0;
  for (const line of lines) {
    if (line.startsWith('#EXTINF:')) duration = Number(line.slice(8).split(',')[0]);
    else if (line && !line.startsWith('#')) segments.push({ uri: line, durationS: duration });
  }
  const seq = lines.find((l) => l.startsWith('#EXT-X-MEDIA-SEQUENCE:'));
  return {
    text, segments,
    mediaSequence: seq ? Number(seq.split(':')[1]) : 0,
    ended: lines.includes('#EXT-X-ENDLIST'),
    discontinuities: lines.filter((l) => l === '#EXT-X-DISCONTINUITY').length,
  };
}

/** fetchPlaylist GETs a playlist over HTTP and parses it; undefined while it is not there (404). */
export async function fetchPlaylist(url: string): Promise<Playlist | undefined> {
  const res = await fetch(url);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return parsePlaylist(await res.text());
}

/**
 * grabFramesRgb decodes `count` frames, one every `every` frames after skipping `skipFrames`, of a
 * URL or file to packed RGB24 at width x height; resolves with one buffer per frame.
 */
export async function grabFramesRgb(url: string, width: number, height: number,
  opts: { count: number; every?: number; skipFrames?: number; inputArgs?: string[]; timeoutMs?: number }): Promise<Buffer[]> {
  const { count, every = 1, skipFrames = 0, inputArgs = [], timeoutMs = 30000 } = opts;
  const select = `select=gte(n\\,${skipFrames})*not(mod(n-${skipFrames}\\,${every}))`;
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-nostdin', ...inputArgs, '-i', url,
    '-vf', `${select},scale=${width}:${height}`, '-fps_mode', 'passthrough', '-frames:v', String(count),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs });
  const buf = stdout as unknown as Buffer;
  const size = width * height * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= buf.length; o += size) frames.push(buf.subarray(o, o + size));
  if (frames.length !== count) throw new Error(`wanted ${count} frames of ${url}, decoded ${frames.length}`);
  return frames;
}

/** Rect is a pixel rectangle [x0, y0, x1, y1) in frame coordinates. */
export type Rect = [x0: number, y0: number, x1: number, y1: number];

/** regionMeanRgb is the mean R, G, B (0..255) of a rectangle of a packed RGB24 frame `width` px wide. */
export function regionMeanRgb(frame: Buffer, width: number, [x0, y0, x1, y1]: Rect): [number, number, number] {
  const sum = [0, 0, 0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * width + x) * 3;
      sum[0] += frame[o]; sum[1] += frame[o + 1]; sum[2] += frame[o + 2];
    }
  }
  const n = (x1 - x0) * (y1 - y0);
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** maxChannelDiff is the largest per-channel absolute difference between two RGB triples. */
export function maxChannelDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

/** fractionNear is the share (0..1) of pixels of an RGB24 frame whose every channel is within `tolerance` of `rgb`. */
export function fractionNear(frame: Buffer, rgb: readonly number[], tolerance: number): number {
  let near = 0;
  const n = frame.length / 3;
  for (let o = 0; o < frame.length; o += 3) {
    if (Math.abs(frame[o] - rgb[0]) <= tolerance && Math.abs(frame[o + 1] - rgb[1]) <= tolerance
      && Math.abs(frame[o + 2] - rgb[2]) <= tolerance) near += 1;
  }
  return near / n;
}

/** childPids lists the pids whose parent is `pid`, with their command names (from /proc). */
export function childPids(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // comm may hold spaces and parentheses: the fields after the last ')' are fixed.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push({ pid: Number(entry), comm });
    } catch {
      // the process ended while we read /proc
    }
  }
  return out;
}

/** ffmpegChildren lists the running ffmpeg processes that are direct children of `pid`. */
export const ffmpegChildren = (pid: number): number[] => childPids(pid).filter((c) => c.comm === 'ffmpeg').map((c) => c.pid);
