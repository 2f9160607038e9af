/**
 * Benchmark of the whole pipeline with the real server (child process) and real ffmpeg publishers:
 * cost per frame against a plain ffmpeg transcode, real-time capacity, latency, memory.
 * The sections are called by bench/run-all.ts (`npm run bench`); see there for flags.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, waitFor, SHARED_MEDIA, type ServerProcess } from '../test/helpers/server-process.ts';
import { publish, type Publisher } from '../test/helpers/ffmpeg-tools.ts';
import { freePort } from '../test/helpers/free-port.ts';
import type { StreamStatsSnapshot } from '../server/pipeline/stream-stats.ts';
import { configEnvNames, configFromEnv, resolveConfig } from '../server/config.ts';
import { x264VideoArgs } from '../server/pipeline/ffmpeg-args.ts';
import { diffTree, sampleTree, type TreeSample } from './proc-tree.ts';

const run = promisify(execFile);
export const WIDTH = 1280;
export const HEIGHT = 720;
export const FPS = 30;
const MB = 1024 * 1024;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------- cleanup of everything we start

const live = new Set<{ stop(): Promise<unknown> }>();
/** track registers something to stop in stopAll (also removed when stopped through the returned handle). */
function track<T extends { stop(): Promise<unknown> }>(thing: T): T {
  const orig = thing.stop.bind(thing);
  const wrapped = Object.assign(thing, { stop: async () => { live.delete(wrapped); return orig(); } });
  live.add(wrapped);
  return wrapped;
}
/** stopAll stops every server, publisher and reader still running. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((t) => t.stop()));
}

function childStopper(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): { stop(): Promise<void> } {
  const exited = new Promise<void>((res) => { if (child.exitCode !== null || child.signalCode !== null) res(); else child.once('exit', () => res()); });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------- input, baseline, server plumbing

/** prepareInput makes (once, cached in the temp folder) ~20 s of sister.mkv at 1280x720 30 fps H.264, GOP 60. */
export async function prepareInput(): Promise<{ path: string; frames: number }> {
  const dir = join(tmpdir(), 'live-matte-bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'sister-1280x720-30fps-20s.mp4');
  if (!existsSync(path)) {
    const src = join(SHARED_MEDIA, 'sister.mkv');
    if (!existsSync(src)) throw new Error(`missing ${src}`);
    log(`preparing ${path} from ${src}`);
    const partial = `${path}.partial.mp4`;
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-nostdin', '-stream_loop', '-1', '-i', src, '-t', '20',
      '-vf', `scale=${WIDTH}:${HEIGHT},fps=${FPS}`, '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', partial]);
    renameSync(partial, path);
  }
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path]);
  return { path, frames: Number(stdout.trim()) };
}

/**
 * ffmpegBaseline runs one bare transcode of the input to the null muxer, `command` one of
 * BARE_COMMANDS (default: the server's own decoder and encoder settings, SAME_SETTINGS), and
 * returns its CPU s (user+sys, from bash `times`) per frame.
 */
export async function ffmpegBaseline(input: { path: string; frames: number }, frames = input.frames, command = BARE_COMMANDS[SAME_SETTINGS]!): Promise<{ cpuPerFrameS: number; cpuS: number; wallS: number }> {
  const t0 = performance.now();
  const script = 'ffmpeg -hide_banner -loglevel error -nostdin "$@" -f null - >/dev/null; times';
  const { stdout } = await run('bash', ['-c', script, 'bench', ...command.input, '-i', input.path, '-frames:v', String(frames), ...command.output]);
  const wallS = (performance.now() - t0) / 1000;
  // `times`: line 1 the shell's own user/sys, line 2 its children's, e.g. "0m20.986s 0m0.372s".
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length < 2) throw new Error(`cannot parse bash times output: ${stdout}`);
  const cpuS = secs[0]! + secs[1]!;
  return { cpuPerFrameS: cpuS / frames, cpuS, wallS };
}

/** BenchServer is a started server (tracked for cleanup). */
export async function benchServer(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  // startServer passes `--rtmp-port 0`, which node-media-server v4 does not bind (see test/helpers/free-port.ts);
  // a later flag wins.
  const server = await startServer(['--rtmp-port', String(await freePort()), '--log-level', 'info', ...args], { LIVEMATTE_LOG_LEVEL: 'info', ...env }, { compiled: true });
  return track(server);
}

interface StreamRow { key: string; state: string; outputPtsOriginMs?: number; stats: StreamStatsSnapshot }
/** streams fetches `GET /api/streams` keyed by stream key. */
export async function streams(server: ServerProcess): Promise<Map<string, StreamRow>> {
  const res = await fetch(`${server.httpBase}/api/streams`);
  const body = (await res.json()) as { streams: StreamRow[] };
  return new Map(body.streams.map((s) => [s.key, s]));
}

/** publishLoop publishes the prepared file by stream copy, looped, in real time (`-re`). */
export function publishLoop(server: ServerProcess, key: string, input: string): Publisher {
  return track(publish(`${server.rtmpBase}/${key}`, ['-stream_loop', '-1', '-i', input], ['-c', 'copy']));
}

/** waitLive waits until every key has output frames. */
export async function waitLive(server: ServerProcess, keys: string[], timeoutMs = 90000): Promise<void> {
  await waitFor(`streams ${keys.join(',')} live`, async () => {
    const s = await streams(server);
    return keys.every((k) => (s.get(k)?.stats.framesOut ?? 0) > 10);
  }, timeoutMs, 500);
}

/** waitGone waits until none of the keys is listed any more (best effort). */
export async function waitGone(server: ServerProcess, keys: string[], timeoutMs = 30000): Promise<void> {
  await waitFor('streams gone', async () => {
    const s = await streams(server);
    return keys.every((k) => !s.has(k));
  }, timeoutMs, 300).catch((err) => log(`warning: ${(err as Error).message}`));
}

const keyOf = (pathWithQuery: string) => pathWithQuery.split('?')[0]!;

// ---------------------------------------------------------------- 1 + 5: cost per frame, budget

export interface ModeCost {
  mode: string;
  windowS: number;
  frames: number;
  cpuPerFrameMs: number;
  /** The bare transcode with the server's codec settings (SAME_SETTINGS), run just before. */
  baselineCpuPerFrameMs?: number;
  /** The issue's older baseline (veryfast, auto threads), run just before too. */
  veryfastBaselineCpuPerFrameMs?: number;
  ratio?: number;
  /** CPU ms per output frame by process (and the server's main thread alone). */
  perFrameMs: { decoder: number; encoder: number; server: number; serverMainThread: number; serverOtherThreads: number; other: number };
  droppedFrames: number;
  stats: StreamStatsSnapshot;
}

/**
 * COST_MODES maps each cost row to the stream key's query: the background modes, and faces
 * (blurred, the plugin's default model) alone and after a colour background.
 */
export const COST_MODES: Record<string, string> = {
  none: 'bg=none', color: 'bg=color', blur: 'bg=blur', faces: 'bg=none&faces=blur', 'color+faces': 'bg=color&faces=blur',
};

/** measureCost runs one stream per mode on one server and measures tree CPU per output frame in a steady window. */
export async function measureCost(input: { path: string; frames: number }, modes: string[], opts: { warmupS: number; windowS: number; baseline: boolean; baselineFrames: number; env?: NodeJS.ProcessEnv; label?: string }): Promise<ModeCost[]> {
  const server = await benchServer(['--bg', 'color'], opts.env);
  const out: ModeCost[] = [];
  try {
    for (const mode of modes) {
      let baseline: number | undefined;
      let veryfast: number | undefined;
      if (opts.baseline) {
        log(`cost: ffmpeg baselines before mode ${mode}`);
        const b = await ffmpegBaseline(input, opts.baselineFrames);
        baseline = b.cpuPerFrameS * 1000;
        veryfast = (await ffmpegBaseline(input, opts.baselineFrames, BARE_COMMANDS[VERYFAST]!)).cpuPerFrameS * 1000;
        log(`cost: baseline ${baseline.toFixed(2)} CPU ms/frame with the server's codec settings (${b.cpuS.toFixed(1)} CPU s in ${b.wallS.toFixed(1)} s wall), ${veryfast.toFixed(2)} with veryfast`);
      }
      const key = `cost-${mode.replace(/[^A-Za-z0-9_-]/g, "-")}`;
      const pub = publishLoop(server, `${key}?${COST_MODES[mode] ?? `bg=${mode}`}`, input.path);
      try {
        await waitLive(server, [key]);
        await sleep(opts.warmupS * 1000);
        const a = sampleTree(server.child.pid!);
        const sa = (await streams(server)).get(key)!.stats;
        await sleep(opts.windowS * 1000);
        const b = sampleTree(server.child.pid!);
        const sb = (await streams(server)).get(key)!.stats;
        const d = diffTree(a, b);
        const frames = sb.framesOut - sa.framesOut;
        const per = (x: number) => (x * 1000) / Math.max(1, frames);
        const cpuPerFrameMs = per(d.cpuS);
        out.push({
          mode: opts.label ? `${mode}, ${opts.label}` : mode, windowS: d.seconds, frames, cpuPerFrameMs, baselineCpuPerFrameMs: baseline, veryfastBaselineCpuPerFrameMs: veryfast,
          ratio: baseline ? cpuPerFrameMs / baseline : undefined,
          perFrameMs: {
            decoder: per(d.roles.decoder), encoder: per(d.roles.encoder), server: per(d.roles.server),
            serverMainThread: per(d.mainThreadCpuS), serverOtherThreads: per(d.roles.server - d.mainThreadCpuS), other: per(d.roles.other),
          },
          droppedFrames: sb.droppedFrames - sa.droppedFrames,
          stats: sb,
        });
        log(`cost: mode ${mode}: ${cpuPerFrameMs.toFixed(2)} CPU ms/frame over ${frames} frames in ${d.seconds.toFixed(1)} s`);
      } finally {
        await pub.stop();
        await waitGone(server, [key]);
      }
    }
  } finally {
    await server.stop();
  }
  return out;
}

// ---------------------------------------------------------------- 2 + 3a: capacity

export interface StreamWindow {
  key: string; fps: number; fpsIn: number; dropped: number; latencyMs: StreamStatsSnapshot['latencyMs'];
  /** Highest `modelIntervalFrames` seen in the window (sampled every 2 s): 1 = the model ran on every frame. */
  maxModelInterval: number;
}
export interface CapacityStep {
  /** The cost mode every stream ran (COST_MODES). */
  mode: string;
  streams: number;
  /** Real time: every output >= minFps and 0 dropped (load shedding allowed). */
  pass: boolean;
  /** Real time at full quality: pass, and the model ran on every frame of every stream. */
  fullQuality: boolean;
  perStream: StreamWindow[];
  /** Worst stream's decoder->encoder latency percentiles (stats keep the last 300 frames, ~10 s). */
  latencyMs: StreamStatsSnapshot['latencyMs'];
  /** Cores busy on average for the whole server tree during the window. */
  coresBusy: number;
  rssBytes: number;
  /**
   * Machine speed just before the step: CPU ms per frame of the bare ffmpeg baseline on 150 frames
   * (the same command as the cost ratio's). This VM's speed drifts by tens of percent within
   * minutes, and a step near the edge passes or fails with it.
   */
  bareMsPerFrame: number;
}

/** measureCapacity adds concurrent streams (1..maxStreams) until one step is not real time. */
export async function measureCapacity(input: { path: string }, opts: { maxStreams: number; warmupS: number; windowS: number; minFps: number; mode?: string }): Promise<CapacityStep[]> {
  const mode = opts.mode ?? 'color';
  const server = await benchServer(['--bg', 'color']);
  const steps: CapacityStep[] = [];
  try {
    for (let n = 1; n <= opts.maxStreams; n++) {
      const keys = Array.from({ length: n }, (_, i) => `cap${n}-${i}`);
      const bare = await ffmpegBaseline({ path: input.path, frames: 150 }, 150);
      const pubs = keys.map((k) => publishLoop(server, `${k}?${COST_MODES[mode] ?? `bg=${mode}`}`, input.path));
      try {
        await waitLive(server, keys);
        await sleep(opts.warmupS * 1000);
        const ta = sampleTree(server.child.pid!);
        const a = await streams(server);
        const t0 = performance.now();
        const maxInterval = new Map<string, number>();
        const noteIntervals = (rows: Map<string, StreamRow>) => {
          for (const [k, r] of rows) maxInterval.set(k, Math.max(maxInterval.get(k) ?? 1, r.stats.modelIntervalFrames ?? 1));
        };
        noteIntervals(a);
        while (performance.now() - t0 < opts.windowS * 1000 - 2000) {
          await sleep(2000);
          noteIntervals(await streams(server));
        }
        await sleep(Math.max(0, opts.windowS * 1000 - (performance.now() - t0)));
        const b = await streams(server);
        noteIntervals(b);
        const t1 = performance.now();
        const tb = sampleTree(server.child.pid!);
        const perStream = keys.map((key): StreamWindow => {
          const sa = a.get(key)?.stats;
          const sb = b.get(key)?.stats;
          if (!sa || !sb) return { key, fps: 0, fpsIn: 0, dropped: Number.NaN, latencyMs: { p50: 0, p95: 0, p99: 0 }, maxModelInterval: Number.NaN };
          return { key, fps: ((sb.framesOut - sa.framesOut) * 1000) / (t1 - t0), fpsIn: ((sb.framesIn - sa.framesIn) * 1000) / (t1 - t0), dropped: sb.droppedFrames - sa.droppedFrames, latencyMs: sb.latencyMs, maxModelInterval: maxInterval.get(key) ?? Number.NaN };
        });
        const pass = perStream.every((s) => s.fps >= opts.minFps && s.dropped === 0);
        const fullQuality = pass && perStream.every((s) => s.maxModelInterval === 1);
        const worst = (k: 'p50' | 'p95' | 'p99') => Math.max(...perStream.map((s) => s.latencyMs[k]));
        const d = diffTree(ta, tb);
        steps.push({ mode, streams: n, pass, fullQuality, perStream, latencyMs: { p50: worst('p50'), p95: worst('p95'), p99: worst('p99') }, coresBusy: d.cpuS / d.seconds, rssBytes: tb.rssBytes, bareMsPerFrame: bare.cpuPerFrameS * 1000 });
        log(`capacity ${mode}: ${n} stream(s): ${pass ? (fullQuality ? 'PASS at full quality' : 'PASS with load shedding') : 'FAIL'} model interval ${perStream.map((s) => s.maxModelInterval).join('/')} fps ${perStream.map((s) => s.fps.toFixed(1)).join('/')} drops ${perStream.map((s) => s.dropped).join('/')} (bare ffmpeg ${(bare.cpuPerFrameS * 1000).toFixed(1)} ms/frame just before)`);
        if (!pass) break;
      } finally {
        await Promise.all(pubs.map((p) => p.stop()));
        await waitGone(server, keys);
      }
    }
  } finally {
    await server.stop();
  }
  return steps;
}

// ---------------------------------------------------------------- 2b: bare ffmpeg at the failing step

/** BareCapacity is `streams` bare ffmpeg transcodes run at once in real time (see measureBareCapacity). */
export interface BareCapacity {
  streams: number;
  /** Which command: 'issue' = the cost baseline's, 'server codecs' = the server's default decoder and encoder settings. */
  label: string;
  args: string[];
  pass: boolean;
  /** Output frames per second of each transcode over the window. */
  fps: number[];
  /** Cores busy on average for all the transcodes together. */
  coresBusy: number;
  /** RSS and PSS of one transcode process (mean over the processes, MB, at the end of the window). */
  rssMBPerProcess: number;
  pssMBPerProcess: number;
}

/**
 * SERVER_CONFIG is the configuration the bench's servers run with: defaults, overridden by any
 * `LIVEMATTE_*` variable in the bench's environment (the servers inherit it).
 */
export const SERVER_CONFIG = resolveConfig({ env: configFromEnv(process.env) });

/** serverSettingsNote says which settings differ from the defaults ('default settings' when none). */
export function serverSettingsNote(): string {
  const set = Object.values(configEnvNames()).filter((name) => process.env[name] !== undefined);
  return set.length === 0 ? 'default settings' : `default settings except ${set.map((name) => `${name}=${process.env[name]}`).join(', ')}`;
}

/** Indexes into BARE_COMMANDS. */
export const VERYFAST = 0;
export const SAME_SETTINGS = 1;
/**
 * The two bare commands: the issue's older baseline, and the server's own codec settings, read from
 * the same config the servers run with (so the like-for-like baseline can not drift from them).
 */
const ENCODER = SERVER_CONFIG.encoder;
export const BARE_COMMANDS: { label: string; input: string[]; output: string[] }[] = [
  { label: 'issue baseline (auto threads, veryfast)', input: [], output: ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency'] },
  {
    label: `server codec settings (decode threads ${SERVER_CONFIG.decoder.threads}, ${ENCODER.preset}${ENCODER.deblock ? '' : ' without deblocking'}, x264 threads ${ENCODER.threads})`,
    input: ['-threads', String(SERVER_CONFIG.decoder.threads)],
    output: x264VideoArgs(ENCODER),
  },
];

/**
 * measureBareCapacity runs `streams` bare ffmpeg transcodes of the looped input at once, each read at
 * the input's own rate (`-re`) and encoded to the null muxer: decode + encode with nothing between,
 * no server. Pass = every transcode kept >= minFps over the window (a transcode that cannot keep up
 * falls behind, it drops nothing). It says whether this machine, right now, could carry that many
 * streams' decoding and encoding at all. Frame counts come from `-progress` (every 0.5 s).
 */
export async function measureBareCapacity(input: { path: string }, streamCount: number, command: { label: string; input: string[]; output: string[] }, opts: { warmupS: number; windowS: number; minFps: number }): Promise<BareCapacity> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', ...command.input, '-i', input.path,
    ...command.output, '-an', '-f', 'null', '-', '-progress', 'pipe:1', '-stats_period', '0.5'];
  const procs = Array.from({ length: streamCount }, () => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const state = { child, frame: 0, err: '' };
    child.stdout!.on('data', (d: Buffer) => { for (const m of d.toString().matchAll(/^frame=(\d+)$/gm)) state.frame = Number(m[1]); });
    child.stderr!.on('data', (d: Buffer) => { state.err = (state.err + d.toString()).slice(-2000); });
    return { state, stopper: track(childStopper(child, 'SIGKILL')) };
  });
  try {
    await waitFor('bare transcodes running', () => procs.every((p) => p.state.frame > 0 || p.state.child.exitCode !== null), 30000, 100);
    const dead = procs.find((p) => p.state.child.exitCode !== null);
    if (dead) throw new Error(`bare ffmpeg exited ${dead.state.child.exitCode}: ${dead.state.err}`);
    await sleep(opts.warmupS * 1000);
    const pids = procs.map((p) => p.state.child.pid!);
    const ta = pids.map((pid) => sampleTree(pid));
    const fa = procs.map((p) => p.state.frame);
    const t0 = performance.now();
    await sleep(opts.windowS * 1000);
    const fb = procs.map((p) => p.state.frame);
    const t1 = performance.now();
    const tb = pids.map((pid) => sampleTree(pid));
    const fps = fb.map((b, i) => ((b - fa[i]!) * 1000) / (t1 - t0));
    const cpuS = tb.reduce((acc, b, i) => acc + diffTree(ta[i]!, b).cpuS, 0);
    return {
      streams: streamCount, label: command.label, args, pass: fps.every((f) => f >= opts.minFps), fps,
      coresBusy: cpuS / ((t1 - t0) / 1000),
      rssMBPerProcess: tb.reduce((a, s) => a + s.rssBytes, 0) / MB / streamCount,
      pssMBPerProcess: tb.reduce((a, s) => a + s.pssBytes, 0) / MB / streamCount,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stopper.stop()));
  }
}

// ---------------------------------------------------------------- 3b: RTMP in -> RTMP out latency

/**
 * The bench itself feeds the publisher ffmpeg one second of real footage, pre-encoded (H.264
 * access units, looped), on stdin at 30 fps and records when each frame index k was taken by
 * ffmpeg (the pipe write completed); the publisher copies the video (`-c copy`, no encode, so the
 * probe costs the loaded machine no more than the load streams' publishers do) and stamps frame k
 * with pts k/30 s. A reader ffmpeg pulls `live/stream-<key>` (no buffering, no decoding: `-c copy
 * -f framecrc` prints one line per video packet with its pts; `-copyts` keeps the stream's own
 * timestamps, which ffmpeg would otherwise start at 0 from whichever keyframe the reader joined
 * at); the bench stamps each line on arrival. The server reports which publisher time its output's
 * timestamp 0 stands for (`outputPtsOriginMs` in `GET /api/streams`; the output keeps a constant
 * frame rate, dropped frames are repeated, not removed), so reader pts t is input frame
 * k = (origin + t) * 30. Latency = arrival(k) - sent(k): publisher + RTMP + server (decode,
 * plugins, encode) + RTMP to the reader. Run with `?bg=none` and with the mode; the difference is
 * what the processing adds (the other parts are the same in both runs).
 */
export interface E2eResult {
  mode: string;
  /** Streams on the server during the window, this one included. */
  streams: number;
  frames: number;
  readerFps: number;
  /** Publisher -> reader of `live/stream-<key>`, ms. */
  p50: number;
  p95: number;
  p99: number;
  /** Publisher -> reader of the publisher's own `live/<key>` (no processing), ms: the probe's floor. */
  inputP50: number;
  inputP95: number;
  /** Frames the encoder skipped during the window (its input was ~1 s behind); above 0 the figures are not latencies. */
  skippedFrames: number;
  offsetCheck: string;
}

/**
 * probeAccessUnits encodes the input's first second (30 frames, one GOP, no B-frames, an access
 * unit delimiter before each frame) and splits it into access units. Each unit gets the next
 * unit's delimiter appended, so ffmpeg's H.264 parser can hand a frame on as soon as it is written
 * instead of waiting for the next one.
 */
async function probeAccessUnits(input: string): Promise<Buffer[]> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', input, '-frames:v', String(FPS), '-an',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', String(FPS), '-bf', '0', '-pix_fmt', 'yuv420p',
    '-x264-params', 'aud=1', '-f', 'h264', 'pipe:1'], { encoding: 'buffer', maxBuffer: 128 * MB });
  const bytes = stdout as unknown as Buffer;
  const starts: number[] = [];
  // Access unit delimiter: start code 00 00 00 01, NAL type 9, then one byte (primary_pic_type).
  for (let i = 0; i + 4 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 0 && bytes[i + 3] === 1 && (bytes[i + 4]! & 0x1f) === 9) starts.push(i);
  }
  if (starts.length !== FPS) throw new Error(`probe clip: ${starts.length} access units, expected ${FPS}`);
  const aud = bytes.subarray(starts[0]!, starts[0]! + 6);
  // Unit k is frame k without its own delimiter (the previous unit carried it) plus the next one's.
  return starts.map((s, k) => Buffer.concat([bytes.subarray(s + 6, starts[k + 1] ?? bytes.length), aud]));
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : Number.NaN;
}

/**
 * readPackets pulls an RTMP URL with ffmpeg (`-c copy -f framecrc`, source timestamps kept) and
 * appends every video packet's pts (s) and arrival time (performance.now() ms) to `arrivals`.
 */
function readPackets(url: string, arrivals: { pts: number; at: number }[]): { stop(): Promise<void>; errTail(): string } {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-threads', '1', '-fflags', 'nobuffer', '-flags', 'low_delay', '-copyts',
    '-probesize', '32768', '-analyzeduration', '0', '-rw_timeout', '20000000', '-i', url,
    '-map', '0:v', '-c', 'copy', '-f', 'framecrc', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stopper = track(childStopper(child));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-3000); });
  // framecrc prints one line per packet, `#tb 0: num/den` first: `0, dts, pts, duration, size, crc`.
  let rest = '';
  let tb = Number.NaN;
  child.stdout!.on('data', (d: Buffer) => {
    const at = performance.now();
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const base = /^#tb 0: (\d+)\/(\d+)/.exec(line);
      if (base) tb = Number(base[1]) / Number(base[2]);
      const m = /^0,\s*-?\d+,\s*(-?\d+),/.exec(line);
      if (m && Number.isFinite(tb)) arrivals.push({ pts: Number(m[1]) * tb, at });
    }
  });
  return { stop: () => stopper.stop(), errTail: () => err };
}

async function e2eOnce(server: ServerProcess, frames: Buffer[], mode: string, opts: { warmupS: number; windowS: number }): Promise<E2eResult> {
  const key = `lat-${mode}`;
  // No `-fflags nobuffer` here: with it ffmpeg drops the frames it probed and labels the rest one
  // frame early (frame 30 got pts 967 ms), which would read as 33 ms of extra latency.
  const pubChild = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-probesize', '32768',
    '-f', 'h264', '-framerate', String(FPS), '-i', 'pipe:0', '-c', 'copy', '-f', 'flv', `${server.rtmpBase}/${key}?bg=${mode}`], { stdio: ['pipe', 'ignore', 'pipe'] });
  pubChild.stdin!.on('error', () => { /* publisher gone */ });
  pubChild.stderr!.resume();
  const pub = track(childStopper(pubChild));
  const sent: number[] = [];
  let feeding = true;
  const feeder = (async () => {
    const start = performance.now();
    for (let k = 0; feeding; k++) {
      const due = start + (k * 1000) / FPS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!feeding || pubChild.exitCode !== null) break;
      await new Promise<void>((res) => pubChild.stdin!.write(frames[k % frames.length], () => { sent[k] = performance.now(); res(); }));
    }
  })();
  const arrivals: { pts: number; at: number }[] = [];
  const inputArrivals: { pts: number; at: number }[] = [];
  let reader: ReturnType<typeof readPackets> | undefined;
  let inputReader: ReturnType<typeof readPackets> | undefined;
  let originAtStart: number | undefined;
  let originAtEnd: number | undefined;
  try {
    await waitLive(server, [key]);
    reader = readPackets(`${server.rtmpBase}/stream-${key}`, arrivals);
    inputReader = readPackets(`${server.rtmpBase}/${key}`, inputArrivals);
    // The window starts at the reader's first frame (ffmpeg start-up and probing vary with the load).
    await waitFor('first frame at the reader', () => arrivals.length > 0, 30000, 100);
    originAtStart = (await streams(server)).get(key)?.outputPtsOriginMs;
    await sleep((opts.warmupS + opts.windowS) * 1000);
    originAtEnd = (await streams(server)).get(key)?.outputPtsOriginMs;
  } finally {
    feeding = false;
    await reader?.stop();
    await inputReader?.stop();
    await feeder;
    pubChild.stdin!.end();
    await pub.stop();
    await waitGone(server, [keyOf(key)]);
  }
  if (originAtStart === undefined) throw new Error(`latency probe ${mode}: the server did not report outputPtsOriginMs`);
  // Skip the readers' start (they get the GOP cache as a burst) and keep frames we know the send time of.
  const firstAt = arrivals[0]?.at ?? 0;
  const inWindow = (a: { at: number }) => a.at - firstAt >= opts.warmupS * 1000;
  const latencies = (list: { pts: number; at: number }[], originS: number) => list
    .filter(inWindow)
    .map((a) => ({ k: Math.round((originS + a.pts) * FPS), a }))
    .filter(({ k }) => sent[k] !== undefined)
    .map(({ k, a }) => a.at - sent[k]!)
    .sort((x, y) => x - y);
  const lat = latencies(arrivals, originAtStart / 1000);
  const inputLat = latencies(inputArrivals, 0);
  const skippedFrames = Math.round((((originAtEnd ?? originAtStart) - originAtStart) * FPS) / 1000);
  const firstPts = arrivals[0]?.pts ?? Number.NaN;
  const steady = arrivals.filter(inWindow);
  const readerFps = steady.length > 1 ? ((steady.length - 1) * 1000) / (steady.at(-1)!.at - steady[0]!.at) : 0;
  if (process.env.BENCH_DEBUG) log(`reader stderr tail: ${reader?.errTail().slice(-1500)}`);
  return {
    mode, streams: 1, frames: lat.length, readerFps, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99),
    inputP50: pct(inputLat, 50), inputP95: pct(inputLat, 95), skippedFrames,
    offsetCheck: `output origin ${originAtStart.toFixed(0)} ms${skippedFrames ? ` (${originAtEnd?.toFixed(0)} ms at the end: the encoder skipped ${skippedFrames} frames)` : ''}, reader's first pts ${firstPts.toFixed(2)} s, ${arrivals.length} frames read, ${sent.length} sent`,
  };
}

/**
 * measureE2e runs the RTMP-in to RTMP-out latency probe for each mode in turn on one server (first
 * should be 'none'); with `loadStreams`, that many colour streams (looped footage, as in the
 * capacity step) run beside the measured one the whole time.
 */
export async function measureE2e(input: { path: string }, modes: string[], opts: { warmupS: number; windowS: number; loadStreams?: number }): Promise<E2eResult[]> {
  const frames = await probeAccessUnits(input.path);
  const server = await benchServer(['--bg', 'color']);
  const loadKeys = Array.from({ length: opts.loadStreams ?? 0 }, (_, i) => `lat-load-${i}`);
  const loadPubs = loadKeys.map((k) => publishLoop(server, `${k}?bg=color`, input.path));
  const out: E2eResult[] = [];
  try {
    await waitLive(server, loadKeys);
    for (const mode of modes) {
      const r = { ...(await e2eOnce(server, frames, mode, opts)), streams: loadKeys.length + 1 };
      log(`latency: e2e ${mode} (${r.streams} stream(s)): p50 ${r.p50.toFixed(0)} ms p95 ${r.p95.toFixed(0)} ms over ${r.frames} frames; input path p50 ${r.inputP50.toFixed(0)} ms p95 ${r.inputP95.toFixed(0)} ms (${r.offsetCheck})`);
      out.push(r);
    }
  } finally {
    await Promise.all(loadPubs.map((p) => p.stop()));
    await server.stop();
  }
  return out;
}

// ---------------------------------------------------------------- 4: memory

export interface MemoryResult {
  streams: number;
  idleRssMB: number;
  samples: { t: number; treeMB: number; serverMB: number }[];
  rssPerStreamMB: number;
  incrementalPerStreamMB: number;
  /** The same from PSS (shared library pages divided among processes instead of counted in each). */
  idlePssMB: number;
  pssPerStreamMB: number;
  incrementalPssPerStreamMB: number;
  growthPct: number;
  serverGrowthPct: number;
  soakS: number;
}

/** measureMemory runs `streams` streams for `soakS` s and samples the tree's RSS every few seconds. */
export async function measureMemory(input: { path: string }, opts: { streams: number; warmupS: number; soakS: number; everyS: number }): Promise<MemoryResult> {
  const server = await benchServer(['--bg', 'color']);
  const keys = Array.from({ length: opts.streams }, (_, i) => `mem-${i}`);
  const pubs: Publisher[] = [];
  try {
    await sleep(2000);
    const idle = sampleTree(server.child.pid!);
    pubs.push(...keys.map((k) => publishLoop(server, `${k}?bg=color`, input.path)));
    await waitLive(server, keys);
    await sleep(opts.warmupS * 1000);
    const samples: TreeSample[] = [];
    const t0 = performance.now();
    for (;;) {
      samples.push(sampleTree(server.child.pid!));
      if (performance.now() - t0 >= opts.soakS * 1000) break;
      await sleep(Math.min(opts.everyS * 1000, opts.soakS * 1000 - (performance.now() - t0)));
    }
    const s = await streams(server);
    if (!keys.every((k) => s.has(k))) log('warning: memory: a stream was not live at the end of the soak');
    const first = samples[0]!;
    const last = samples.at(-1)!;
    return {
      streams: opts.streams,
      idleRssMB: idle.rssBytes / MB,
      samples: samples.map((x) => ({ t: (x.at - t0) / 1000, treeMB: x.rssBytes / MB, serverMB: x.roles.server.rssBytes / MB })),
      rssPerStreamMB: last.rssBytes / MB / opts.streams,
      incrementalPerStreamMB: (last.rssBytes - idle.rssBytes) / MB / opts.streams,
      idlePssMB: idle.pssBytes / MB,
      pssPerStreamMB: last.pssBytes / MB / opts.streams,
      incrementalPssPerStreamMB: (last.pssBytes - idle.pssBytes) / MB / opts.streams,
      growthPct: ((last.rssBytes - first.rssBytes) / first.rssBytes) * 100,
      serverGrowthPct: ((last.roles.server.rssBytes - first.roles.server.rssBytes) / first.roles.server.rssBytes) * 100,
      soakS: (last.at - first.at) / 1000,
    };
  } finally {
    await Promise.all(pubs.map((p) => p.stop()));
    await server.stop();
  }
}
