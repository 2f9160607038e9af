/**
 * Helpers for the fault tests (test/faults): a small healthy reference stream and its stats
 * watcher, /proc readers for the server's RSS, open fds and descendants, and synthetic inputs.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { publish, type Publisher } from './ffmpeg-tools.ts';
import { apiStreams, childPids, startServerOnFreePorts, uniqueKey, type ApiStream } from './e2e-media.ts';
import { waitFor, type ServerProcess } from './server-process.ts';

const run = promisify(execFile);

/** HEALTHY_FPS is the frame rate of the reference stream (lavfi testsrc2 320x240). */
export const HEALTHY_FPS = 25;

/** publishHealthy starts the small reference stream `<key>?bg=none` (testsrc2 320x240@25, 1 s GOP). */
export function publishHealthy(rtmpBase: string, key: string): Publisher {
  return publish(`${rtmpBase}/${key}?bg=none`, ['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${HEALTHY_FPS}`],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(HEALTHY_FPS), '-pix_fmt', 'yuv420p']);
}

/** streamStats returns one stream's API entry, or undefined when it is not listed. */
export async function streamEntry(httpBase: string, key: string): Promise<ApiStream | undefined> {
  return (await apiStreams(httpBase)).find((s) => s.key === key);
}

/** StatsPoint is one sample of a stream's counters. */
export interface StatsPoint { at: number; framesIn: number; framesOut: number; dropped: number; fpsOut: number }

/** HealthyWindow summarises the reference stream's counters between two samples. */
export interface HealthyWindow {
  seconds: number;
  framesIn: number;
  framesOut: number;
  dropped: number;
  /** framesOut per wall-clock second over the window. */
  fpsOut: number;
  /** Lowest fpsOut the API reported in the window (its own 3 s rate). */
  minApiFps: number;
}

/**
 * StatsWatcher samples one stream's API stats every `intervalMs`, so a test can ask what happened
 * to it while something else was going on (frames out, drops, lowest reported fps).
 */
export class StatsWatcher {
  readonly points: StatsPoint[] = [];
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly httpBase: string, private readonly key: string, intervalMs = 500) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  /** sample takes one sample now (also called by the timer). */
  async sample(): Promise<StatsPoint | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const e = await streamEntry(this.httpBase, this.key);
      if (!e) return undefined;
      const s = e.stats as Record<string, number>;
      const p = { at: Date.now(), framesIn: s.framesIn, framesOut: s.framesOut, dropped: s.droppedFrames, fpsOut: s.fpsOut };
      this.points.push(p);
      return p;
    } catch {
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  /** mark returns the time to pass to `window` later. */
  mark(): number {
    return Date.now();
  }

  /** window summarises the samples taken from `since` (a mark) until now. */
  window(since: number): HealthyWindow {
    const pts = this.points.filter((p) => p.at >= since);
    if (pts.length < 2) throw new Error(`only ${pts.length} samples of '${this.key}' since the mark`);
    const a = pts[0];
    const b = pts[pts.length - 1];
    const seconds = (b.at - a.at) / 1000;
    return {
      seconds, framesIn: b.framesIn - a.framesIn, framesOut: b.framesOut - a.framesOut, dropped: b.dropped - a.dropped,
      fpsOut: (b.framesOut - a.framesOut) / seconds, minApiFps: Math.min(...pts.slice(1).map((p) => p.fpsOut)),
    };
  }

  /** close stops sampling. */
  close(): void {
    clearInterval(this.timer);
  }
}

/** rssKb reads a process's resident set size in KiB from /proc. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** fdCount is the number of open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** fdTargets lists what a process's fds point at (for a diff when a leak shows). */
export function fdTargets(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return '?'; }
  });
}

/** cmdline returns a process's arguments, or undefined when it has gone. */
export function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** ffmpegChildArgs lists the server's direct ffmpeg children with their arguments. */
export function ffmpegChildArgs(serverPid: number): { pid: number; args: string[] }[] {
  return childPids(serverPid).filter((c) => c.comm === 'ffmpeg')
    .map((c) => ({ pid: c.pid, args: cmdline(c.pid) ?? [] }));
}

/**
 * isDecoderArgs and isEncoderArgs tell the two kinds of ffmpeg child apart by their arguments:
 * the decoder reads FLV, the encoder runs libx264 into the tee muxer (both speak YUV4MPEG2).
 */
export const isDecoderArgs = (args: string[]): boolean => args.includes('flv') && !args.includes('libx264');
export const isEncoderArgs = (args: string[]): boolean => args.includes('libx264') && args.includes('tee');

/** processesMentioning lists pids (any parent) whose arguments contain `text`, excluding `exceptPid`. */
export function processesMentioning(text: string, exceptPid?: number): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === exceptPid || Number(entry) === process.pid) continue;
    const args = cmdline(Number(entry));
    if (args?.some((a) => a.includes(text))) out.push({ pid: Number(entry), args });
  }
  return out;
}

/** makeH264Flv writes a synthetic H.264 FLV file (testsrc2, `seconds` long, 1 s GOP). */
export async function makeH264Flv(path: string, size: string, seconds: number, fps = 25, extra: string[] = []): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${fps}:d=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(fps), '-pix_fmt', 'yuv420p', ...extra, '-f', 'flv', path], { timeout: 60000 });
}

/** percentile of a list of numbers (0..100), nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** HealthyBench is a server with the reference stream running and watched. */
export interface HealthyBench {
  server: ServerProcess;
  key: string;
  publisher: Publisher;
  watcher: StatsWatcher;
  /** untilObserved waits until the watcher has samples covering at least `ms` after `since`. */
  untilObserved(since: number, ms?: number): Promise<HealthyWindow>;
  close(): Promise<void>;
}

/**
 * startHealthyBench starts a server (free ports, `args`, `env`) and the reference stream, and waits
 * until the stream is live and has written at least two seconds of frames.
 */
export async function startHealthyBench(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<HealthyBench> {
  const server = await startServerOnFreePorts(args, env);
  const key = uniqueKey('healthy');
  const publisher = publishHealthy(server.rtmpBase, key);
  const watcher = new StatsWatcher(server.httpBase, key);
  const close = async () => {
    watcher.close();
    await publisher.stop();
    await server.stop();
  };
  try {
    await waitFor('the reference stream to be live with 2 s of output', async () => {
      if (publisher.child.exitCode !== null) throw new Error(`reference publisher exited: ${publisher.stderr()}`);
      const e = await streamEntry(server.httpBase, key);
      return e?.state === 'live' && Number(e.stats.framesOut) >= 2 * HEALTHY_FPS;
    }, 60000, 250);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    server, key, publisher, watcher, close,
    async untilObserved(since, ms = 3000) {
      return waitFor(`${ms} ms of reference-stream samples`, () => {
        const pts = watcher.points.filter((p) => p.at >= since);
        return pts.length >= 2 && pts[pts.length - 1].at - pts[0].at >= ms && watcher.window(since);
      }, ms + 20000, 200);
    },
  };
}

/** fillDisk writes `path` until its file system refuses (ENOSPC); returns the bytes written. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'a');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}
