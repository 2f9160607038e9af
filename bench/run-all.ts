/**
 * `npm run bench`: the whole-pipeline benchmark (project issue #4) plus the inference and
 * composite micro-benchmarks and the event store's (bench/store.bench.ts, issue #20). Prints a machine line, tables, the comparison with the previous
 * entry of bench/RESULTS.md, appends a dated section there, and ends with one JSON line.
 *
 * Flags:
 *   --quick                  short windows (smoke run)
 *   --only <section>         cost | capacity | latency | memory | budget | store | cluster | recognition | webrtc (repeatable, or comma list)
 *   --store-args "<args>"    extra flags for bench/store.bench.ts (e.g. "--events 20000 --rows 200000")
 *   --capacity-seconds <s>   capacity window per step (default 60, the issue's check)
 *   --soak-seconds <s>       memory soak (default 60; the issue's 10-minute check is 600)
 *   --memory-streams <n>     streams in the soak (default: the capacity found in this run, else 1)
 *   --max-streams <n>        capacity stops at n streams (default 4)
 *   --capacity-modes <list>  modes the capacity is found for (default color,color+faces; see COST_MODES)
 *   --no-save                do not append to bench/RESULTS.md
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { resolveFfmpegPath } from '../server/pipeline/ffmpeg-path.ts';
import {
  BARE_COMMANDS, COST_MODES, SERVER_CONFIG, log, measureBareCapacity, measureCapacity, measureCost, measureE2e, measureMemory, prepareInput, serverSettingsNote, stopAll,
  type BareCapacity, type CapacityStep, type E2eResult, type MemoryResult, type ModeCost,
} from './pipeline.bench.ts';

const argv = process.argv.slice(2);
const has = (f: string) => argv.includes(f);
const num = (f: string, d: number) => { const i = argv.indexOf(f); return i >= 0 ? Number(argv[i + 1]) : d; };
const QUICK = has('--quick');
const SECTIONS = ['cost', 'capacity', 'latency', 'memory', 'budget', 'store', 'cluster', 'recognition', 'webrtc'] as const;
type Section = (typeof SECTIONS)[number];
const only = argv.flatMap((a, i) => (argv[i - 1] === '--only' ? a.split(',') : [])) as Section[];
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only ${s}: expected one of ${SECTIONS.join('|')}`);
const want = (s: Section) => only.length === 0 || only.includes(s);

const W = {
  warmupS: QUICK ? 3 : 5,
  costS: QUICK ? 6 : 20,
  capacityS: num('--capacity-seconds', QUICK ? 8 : 60),
  maxStreams: num('--max-streams', 4),
  e2eWarmupS: QUICK ? 3 : 4,
  e2eS: QUICK ? 6 : 15,
  soakS: num('--soak-seconds', QUICK ? 15 : 60),
  memoryStreams: num('--memory-streams', 0),
  capacityModes: (argv[argv.indexOf('--capacity-modes') + 1] && argv.includes('--capacity-modes') ? argv[argv.indexOf('--capacity-modes') + 1]! : 'color,color+faces').split(','),
};
for (const m of W.capacityModes) if (!(m in COST_MODES)) throw new Error(`--capacity-modes ${m}: expected modes of ${Object.keys(COST_MODES).join('|')}`);
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

// ---------------------------------------------------------------- machine line

/** ffmpegVersion is the version an ffmpeg binary reports (Debian's on PATH by default). */
function ffmpegVersion(binary = 'ffmpeg'): string {
  try { return execFileSync(binary, ['-version'], { encoding: 'utf8' }).split('\n')[0]!.replace(/^ffmpeg version (\S+).*/, '$1'); } catch { return 'unknown'; }
}
// The ffmpeg the bench's servers run, found as the server finds it.
const serverFfmpeg = resolveFfmpegPath(SERVER_CONFIG.ffmpegPath);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const startedAt = new Date();
const machineLine = `machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, load average ${load()} (at start), node ${process.version}, ffmpeg ${ffmpegVersion()}, onnxruntime-node ${ort.env.versions.common}, ${startedAt.toISOString()}${QUICK ? ', --quick' : ''}`;
console.log(machineLine);

// ---------------------------------------------------------------- sub-benchmarks (the other engineer's scripts, run as they are)

async function runScript(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${BENCH_DIR}${file}`, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}`))));
  });
}

/** inferenceMs parses `| model | layout | median | p95 |` rows from bench/inference.bench.ts. */
function parseInference(out: string): Record<string, { median: number; p95: number }> {
  const rows: Record<string, { median: number; p95: number }> = {};
  for (const m of out.matchAll(/^\| ([\w-]+) \| [^|]*\(built\) \| ([\d.]+) \| ([\d.]+) \|$/gm)) rows[m[1]!] = { median: Number(m[2]), p95: Number(m[3]) };
  return rows;
}

/** StoreFigures is the `store-json` line of bench/store.bench.ts. */
interface StoreFigures {
  quick: boolean;
  inserts?: { events: number; fpsWithout: number[]; fpsWith: number[]; droppedWithout: number[]; droppedWith: number[]; eventsPerSecond: number; maxTickGapMs: number };
  queries?: { rows: number; p95Ms: Record<string, number>; medianMs: Record<string, number> };
}

/** parseStore reads the `store-json {...}` line; the markdown before it is the section's text. */
function parseStore(text: string): { figures: StoreFigures | null; markdown: string } {
  const line = text.split('\n').find((l) => l.startsWith('store-json '));
  return { figures: line ? (JSON.parse(line.slice('store-json '.length)) as StoreFigures) : null, markdown: text.split('\nstore-json ')[0]!.trim() };
}

// ---------------------------------------------------------------- run

interface Figures {
  /** Mode CPU per frame / the bare transcode with the server's own codec settings (median of the run's baselines). */
  costRatio: { color: number | null; blur: number | null; none: number | null; faces?: number | null; colorFaces?: number | null; colorEncoderVeryfast?: number | null };
  /** The same against the older veryfast baseline (before 2026-12: the only one). */
  costRatioVeryfast?: { color: number | null; blur: number | null; none: number | null };
  /** Streams at full quality (model on every frame, no drops, >= 29.5 fps), by capacity mode. */
  capacityFullQuality?: Record<string, number>;
  /** The event store (bench/store.bench.ts): fps beside the inserts and page query p95s. */
  store?: StoreFigures | null;
  /** WebRTC glass-to-glass (WHIP -> bg=color -> WHEP, bench/webrtc.bench.ts), ms. */
  webrtc?: { p50: number; p95: number; p99: number; hls?: { p50: number; p95: number; p99: number } } | null;
  /** Streams in real time with load shedding allowed, by capacity mode. */
  capacityShed?: Record<string, number>;
  costRatioExtrapolated: { color: number | null; blur: number | null };
  costCpuMsPerFrame: Record<string, number>;
  baselineCpuMsPerFrame: number | null;
  capacityStreams: number | null;
  /** Bare ffmpeg transcodes (no server) at the first stream count the server failed: did they keep real time? */
  bareAtFailedStep?: { streams: number; issueBaseline: boolean; serverCodecs: boolean } | null;
  latency: {
    oneStream: { p50: number; p95: number; p99: number } | null;
    atCapacity: { p50: number; p95: number; p99: number } | null;
    e2e: Record<string, { p50: number; p95: number }>;
  };
  addedLatencyMs: number | null;
  addedLatencyBlurMs: number | null;
  /** Colour p95 minus none p95 at full capacity (the measured stream plus capacity - 1 others). */
  addedLatencyAtCapacityMs: number | null;
  addedLatencyBlurAtCapacityMs: number | null;
  rssPerStreamMB: number | null;
  rssIncrementalPerStreamMB: number | null;
  pssPerStreamMB: number | null;
  pssIncrementalPerStreamMB: number | null;
  rssGrowthPct: number | null;
  budget: Record<string, number> | null;
  loadAvg: number[];
  quick: boolean;
  date: string;
}

const f2 = (x: number | null | undefined, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const report: string[] = [];
const out = (line = '') => { console.log(line); report.push(line); };

let cost: ModeCost[] = [];
let capacity: CapacityStep[] = [];
let bare: BareCapacity[] = [];
let e2e: E2eResult[] = [];
let memory: MemoryResult | undefined;
let inference: Record<string, { median: number; p95: number }> = {};
let inferenceOut = '';
let compositeOut = '';
let storeOut = '';
let clusterOut = '';
let recognitionOut = '';
let webrtcOut = '';
let exitCode = 0;

/** fullQualityOf counts a mode's steps at full quality from 1 stream up (a step that failed ends the count). */
function fullQualityOf(mode: string): number { let n = 0; for (const s of capacity.filter((x) => x.mode === mode)) { if (!s.fullQuality) break; n = s.streams; } return n; }
/** shedOf counts a mode's steps in real time, load shedding allowed. */
function shedOf(mode: string): number { let n = 0; for (const s of capacity.filter((x) => x.mode === mode)) { if (!s.pass) break; n = s.streams; } return n; }

const onSignal = () => { log('interrupted, stopping everything'); void stopAll().then(() => process.exit(130)); };
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

try {
  const input = await prepareInput();
  log(`input ${input.path}: ${input.frames} frames`);
  if (want('cost') || want('budget')) {
    const modes = want('cost') ? ['none', 'color', 'blur', 'faces', 'color+faces'] : ['color'];
    cost = await measureCost(input, modes, { warmupS: W.warmupS, windowS: W.costS, baseline: want('cost'), baselineFrames: QUICK ? 300 : input.frames });
    // Colour again with the baseline's own preset.
    if (want('cost')) cost.push(...await measureCost(input, ['color'], { warmupS: W.warmupS, windowS: W.costS, baseline: true, baselineFrames: QUICK ? 300 : input.frames, env: { LIVEMATTE_ENCODER_PRESET: 'veryfast' }, label: 'encoder veryfast' }));
  }
  if (want('capacity')) {
    for (const mode of W.capacityModes) capacity.push(...await measureCapacity(input, { maxStreams: W.maxStreams, warmupS: W.warmupS, windowS: W.capacityS, minFps: 29.5, mode }));
    // Where the server failed: could the machine carry that many bare transcodes right now?
    const failed = capacity.find((s) => !s.pass && s.mode === W.capacityModes[0]);
    for (const command of failed ? BARE_COMMANDS : []) {
      const b = await measureBareCapacity(input, failed!.streams, command, { warmupS: W.warmupS, windowS: W.capacityS, minFps: 29.5 });
      log(`capacity: bare ffmpeg, ${b.label}, ${b.streams} at once: ${b.pass ? 'PASS' : 'FAIL'} fps ${b.fps.map((f) => f.toFixed(1)).join('/')}, ${b.coresBusy.toFixed(2)} cores`);
      bare.push(b);
    }
  }
  if (want('latency')) {
    e2e = await measureE2e(input, ['none', 'color', 'blur'], { warmupS: W.e2eWarmupS, windowS: W.e2eS });
    // At full capacity: the measured stream plus (capacity - 1) colour streams.
    const full = shedOf(W.capacityModes[0]!);
    if (full > 1) e2e.push(...await measureE2e(input, ['none', 'color', 'blur'], { warmupS: W.e2eWarmupS, windowS: W.e2eS, loadStreams: full - 1 }));
  }
  if (want('memory')) {
    const passed = shedOf(W.capacityModes[0]!);
    memory = await measureMemory(input, { streams: W.memoryStreams || Math.max(1, passed), warmupS: QUICK ? 5 : 15, soakS: W.soakS, everyS: QUICK ? 3 : 10 });
  }
  if (want('budget')) {
    log('budget: bench/inference.bench.ts');
    inferenceOut = await runScript('inference.bench.ts', QUICK ? ['--runs', '20', '--warmup', '5'] : ['--runs', '100', '--warmup', '10']);
    inference = parseInference(inferenceOut);
    log('budget: bench/composite.bench.ts');
    compositeOut = await runScript('composite.bench.ts', ['--frames', QUICK ? '40' : '200']);
  }
  if (want('store')) {
    log('store: bench/store.bench.ts');
    const extra = argv.includes('--store-args') ? argv[argv.indexOf('--store-args') + 1]!.split(/\s+/).filter(Boolean) : [];
    storeOut = await runScript('store.bench.ts', [...(QUICK ? ['--quick'] : []), ...extra]);
  }
  if (want('cluster')) {
    log('cluster: bench/cluster.bench.ts');
    clusterOut = await runScript('cluster.bench.ts', QUICK ? ['--quick'] : []);
  }
  if (want('recognition')) {
    log('recognition: bench/recognition.bench.ts');
    recognitionOut = await runScript('recognition.bench.ts', QUICK ? ['--quick'] : []);
  }
  if (want('webrtc')) {
    log('webrtc: bench/webrtc.bench.ts');
    webrtcOut = await runScript('webrtc.bench.ts', QUICK ? ['--quick'] : []);
  }
} catch (err) {
  exitCode = 1;
  log(`error: ${(err as Error).stack ?? err}`);
} finally {
  await stopAll();
}

// ---------------------------------------------------------------- tables

const loadEnd = loadavg();
out(`## ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${QUICK ? ' (quick)' : ''}${only.length ? ` (only ${only.join(',')})` : ''}`);
out();
out(machineLine.replace('(at start)', `(at start; ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end)`));
out(`input: ../shared/media/sister.mkv looped, 1280x720 30 fps H.264 (veryfast, GOP 60), published with -re -c copy; server: compiled dist/ with ${serverSettingsNote()}, as npm start runs it, its ffmpeg ${relative(process.cwd(), serverFfmpeg) || serverFfmpeg} (${ffmpegVersion(serverFfmpeg)}; the bare commands run Debian's, ffmpeg on PATH); windows: warm-up ${W.warmupS} s, cost ${W.costS} s, capacity ${W.capacityS} s, latency ${W.e2eS} s, soak ${W.soakS} s`);
out();

/** extrapolated scales the server's non-main-thread CPU (workers: the plugin) from the processed frames to all frames. */
const extrapolated = (c: ModeCost) => {
  const processed = c.frames - c.droppedFrames;
  if (c.droppedFrames <= 0 || processed <= 0) return c.cpuPerFrameMs;
  return c.cpuPerFrameMs + c.perFrameMs.serverOtherThreads * (c.droppedFrames / processed);
};
const baselines = cost.flatMap((c) => (c.baselineCpuPerFrameMs ? [c.baselineCpuPerFrameMs] : [])).sort((a, b) => a - b);
const medianBaseline = baselines.length ? baselines[Math.floor(baselines.length / 2)]! : undefined;
const veryfasts = cost.flatMap((c) => (c.veryfastBaselineCpuPerFrameMs ? [c.veryfastBaselineCpuPerFrameMs] : [])).sort((a, b) => a - b);
const medianVeryfast = veryfasts.length ? veryfasts[Math.floor(veryfasts.length / 2)]! : undefined;
/** GOALS are issue 23's ratio goals against the same-settings baseline. */
const GOALS: Record<string, string> = { none: '1.15', color: '1.3', blur: '1.45' };
if (cost.length) {
  out('### 1. Cost: whole-tree CPU per output frame (server + ffmpeg children) vs a bare ffmpeg transcode with the server\'s own codec settings');
  out();
  out(`Baseline: \`ffmpeg ${BARE_COMMANDS[1]!.input.join(' ')} -i <input> ${BARE_COMMANDS[1]!.output.join(' ')} -f null -\` (${BARE_COMMANDS[1]!.label}; the output options are the encoder's own, from server/pipeline/ffmpeg-args.ts), run with the server idle before each mode; **ratio = mode / median of the ${baselines.length} baselines** (${baselines.map((b) => f2(b)).join(', ')} ms). Beside it the older baseline, ${BARE_COMMANDS[0]!.label} (median ${f2(medianVeryfast)} ms). Goals (issue 23): none <= 1.15, color <= 1.3, blur <= 1.45. faces = \`faces=blur\` on \`bg=none\`; color+faces after a colour background. The "encoder veryfast" row encodes with the older baseline's preset.`);
  out();
  out('| mode | CPU ms/frame | ratio vs same settings | goal | same settings just before, ms | ratio vs veryfast baseline | frames in window | dropped | extrapolated CPU ms/frame if none dropped | its ratio | decoder / main thread / workers / encoder ms |');
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const c of cost) {
    const ex = extrapolated(c);
    const p = c.perFrameMs;
    out(`| ${c.mode} | ${f2(c.cpuPerFrameMs)} | ${medianBaseline ? f2(c.cpuPerFrameMs / medianBaseline) : '-'} | ${GOALS[c.mode] ?? '-'} | ${f2(c.baselineCpuPerFrameMs)} | ${medianVeryfast ? f2(c.cpuPerFrameMs / medianVeryfast) : '-'} | ${c.frames} | ${c.droppedFrames} | ${f2(ex)} | ${medianBaseline ? f2(ex / medianBaseline) : '-'} | ${f2(p.decoder)} / ${f2(p.serverMainThread)} / ${f2(p.serverOtherThreads)} / ${f2(p.encoder)} |`);
  }
  out();
  if (cost.some((c) => c.droppedFrames > 0)) {
    out('Note: frames were dropped in the window (the stream was not processed in real time). A dropped frame is decoded and re-encoded (the last output repeats) but skips the plugin, so that row understates the per-frame cost. The extrapolated column adds the server\'s worker-thread CPU for the dropped frames (worker CPU per processed frame x dropped frames), an estimate of the cost had every frame been processed; costRatio in the JSON line is the measured one, costRatioExtrapolated the estimate.');
    out();
  }
}

if (capacity.length) {
  out(`### 2. Capacity: concurrent 720p30 streams, ${W.capacityS} s window; pass = every output >= 29.5 fps and 0 dropped; full quality = pass with the model on every frame (modelIntervalFrames 1 throughout, sampled every 2 s)`);
  out();
  out('"bare ffmpeg" is the machine\'s speed just before the step: CPU ms per frame of the same-settings baseline on 150 frames. This VM\'s speed drifts by tens of percent within minutes; a step at the edge passes or fails with it.');
  out();
  for (const mode of W.capacityModes) {
    const steps = capacity.filter((s) => s.mode === mode);
    if (!steps.length) continue;
    out(`- **${mode}**: ${fullQualityOf(mode)} stream(s) at full quality, ${shedOf(mode)} with load shedding`);
  }
  out();
  out('| mode | streams | result | model interval (max per stream) | output fps per stream | input fps | dropped per stream | decoder->encoder p50/p95/p99 ms (worst stream) | cores busy (tree) | tree RSS MB | bare ffmpeg ms/frame |');
  out('|---|---:|---|---|---|---|---|---|---:|---:|---:|');
  for (const s of capacity) {
    out(`| ${s.mode} | ${s.streams} | ${s.fullQuality ? 'pass, full quality' : s.pass ? 'pass, shedding' : 'FAIL'} | ${s.perStream.map((p) => p.maxModelInterval).join(' / ')} | ${s.perStream.map((p) => f2(p.fps, 1)).join(' / ')} | ${s.perStream.map((p) => f2(p.fpsIn, 1)).join(' / ')} | ${s.perStream.map((p) => p.dropped).join(' / ')} | ${f2(s.latencyMs.p50, 0)} / ${f2(s.latencyMs.p95, 0)} / ${f2(s.latencyMs.p99, 0)} | ${f2(s.coresBusy)} | ${f2(s.rssBytes / 1048576, 0)} | ${f2(s.bareMsPerFrame, 1)} |`);
  }
  out();
}
if (bare.length) {
  out(`#### 2b. The same machine without the server: ${bare[0]!.streams} bare ffmpeg transcodes at once (the step the server failed), ${W.capacityS} s window`);
  out();
  out('Each reads the input in real time (`-re`, looped) and encodes to the null muxer: decode and encode with nothing between. A transcode that cannot keep up falls behind (lower fps); it drops nothing. "server codec settings" is the server\'s own decoder and encoder defaults on the publisher\'s footage (the server encodes its composited output, which costs x264 less than this footage).');
  out();
  out('| command | result | fps per transcode | cores busy | RSS / PSS MB per process |');
  out('|---|---|---|---:|---:|');
  for (const b of bare) out(`| ${b.label}: \`ffmpeg ${b.args.slice(4).map((x, i, all) => (all[i - 1] === '-i' ? '<input>' : x)).join(' ')}\` | ${b.pass ? 'pass' : 'FAIL'} | ${b.fps.map((f) => f2(f, 1)).join(' / ')} | ${f2(b.coresBusy)} | ${f2(b.rssMBPerProcess, 0)} / ${f2(b.pssMBPerProcess, 0)} |`);
  out();
}

/** e2eOf finds the end-to-end row of a mode at a stream count. */
const e2eOf = (streams: number, mode: string) => e2e.find((r) => r.streams === streams && r.mode === mode);
/**
 * addedP95 is the mode's p95 minus bg=none's p95 at the same stream count (the issue's "p95
 * added"); null when either run's encoder skipped frames (its figures are then not latencies).
 */
const addedP95 = (streams: number, mode: string) => {
  const m = e2eOf(streams, mode);
  const none = e2eOf(streams, 'none');
  return m && none && !m.skippedFrames && !none.skippedFrames ? Math.round(m.p95 - none.p95) : null;
};
const capStreams = Math.max(1, ...e2e.map((r) => r.streams));

if (e2e.length) {
  out(`### 3. Latency, RTMP in -> RTMP out (bench-fed publisher -> server -> reader ffmpeg, ${W.e2eS} s per mode)`);
  out();
  out('Latency = arrival of frame k at the reader - the moment the publisher ffmpeg took frame k from the bench (pre-encoded H.264, copied: no encode in the publisher; the reader copies packets without decoding; both the same in every mode). The output\'s pts are mapped to input frames through the server\'s `outputPtsOriginMs`. "input path" is a second reader on the publisher\'s own stream (no processing): the probe\'s floor, which also checks the frame numbering. Only meaningful when the reader fps is ~30 and the encoder skipped nothing (a skip moves the output timeline; "added" is then left out).');
  out();
  out('Rows with more than one stream ran beside (capacity - 1) looped colour streams; their bg=none row is measured under the same load.');
  out();
  out('| mode | streams | frames | reader fps | p50 ms | p95 ms | p99 ms | input path p50 / p95 ms | encoder skipped | added vs none, p50 / p95 ms | check |');
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of e2e) {
    const none = e2eOf(r.streams, 'none');
    const addedP95Ms = addedP95(r.streams, r.mode);
    const added = !none || r === none ? '-' : addedP95Ms === null ? 'n/a (skips)' : `${f2(r.p50 - none.p50, 0)} / ${addedP95Ms}`;
    out(`| ${r.mode} | ${r.streams} | ${r.frames} | ${f2(r.readerFps, 1)} | ${f2(r.p50, 0)} | ${f2(r.p95, 0)} | ${f2(r.p99, 0)} | ${f2(r.inputP50, 0)} / ${f2(r.inputP95, 0)} | ${r.skippedFrames} | ${added} | ${r.offsetCheck} |`);
  }
  out();
}

if (memory) {
  out(`### 4. Memory: ${memory.streams} stream(s), mode color, soak ${f2(memory.soakS, 0)} s after warm-up`);
  out();
  out(`- idle server tree RSS ${f2(memory.idleRssMB, 0)} MB; with streams: tree RSS / streams = **${f2(memory.rssPerStreamMB, 0)} MB per stream** (incremental over idle ${f2(memory.incrementalPerStreamMB, 0)} MB per stream)`);
  out(`- PSS (shared library pages divided among the processes that map them): idle ${f2(memory.idlePssMB, 0)} MB; tree PSS / streams = **${f2(memory.pssPerStreamMB, 0)} MB per stream** (incremental over idle ${f2(memory.incrementalPssPerStreamMB, 0)} MB per stream)`);
  out(`- growth first -> last sample: tree ${f2(memory.growthPct, 1)} %, server process alone ${f2(memory.serverGrowthPct, 1)} %`);
  const bareServer = bare[1];
  if (bareServer) out(`- for scale: one bare transcode process with Debian's ffmpeg (server codec settings, section 2b) held ${f2(bareServer.rssMBPerProcess, 0)} MB RSS; the server runs two ffmpeg processes per stream (decoder and encoder), here ${relative(process.cwd(), serverFfmpeg) || serverFfmpeg}`);
  out(`- samples (s: tree MB / server MB): ${memory.samples.map((s) => `${f2(s.t, 0)}: ${f2(s.treeMB, 0)}/${f2(s.serverMB, 0)}`).join(', ')}`);
  out();
}

const budgetRow = cost.find((c) => c.mode === 'color');
if (budgetRow && want('budget')) {
  out('### 5. Per-frame budget, mode color, one stream (CPU ms per output frame from /proc; worker stages are wall ms per frame from the stats)');
  out();
  out('| part | color ms/frame | blur ms/frame | what |');
  out('|---|---:|---:|---|');
  const blur = cost.find((c) => c.mode === 'blur');
  const both = (f: (c: ModeCost) => number | undefined) => `${f2(f(budgetRow))} | ${blur ? f2(f(blur)) : '-'}`;
  out(`| decode (decoder ffmpeg) | ${both((c) => c.perFrameMs.decoder)} | CPU: FLV -> I420 y4m into a FIFO |`);
  out(`| server main thread | ${both((c) => c.perFrameMs.serverMainThread)} | CPU: FIFO reads into pooled frames, hand-over to the pool, scheduling, encoder writes, RTMP/HTTP |`);
  out(`| server other threads | ${both((c) => c.perFrameMs.serverOtherThreads)} | CPU: Piscina workers (plugin), onnxruntime, GC, libuv |`);
  out(`| encode (encoder ffmpeg) | ${both((c) => c.perFrameMs.encoder)} | CPU: libx264 (encoder.preset ${SERVER_CONFIG.encoder.preset}) zerolatency + tee RTMP/HLS |`);
  out(`| other children | ${both((c) => c.perFrameMs.other)} | CPU |`);
  out(`| **total** | ${both((c) => c.cpuPerFrameMs)} | CPU |`);
  const stageKeys = [...new Set([...Object.keys(budgetRow.stats.stageMs), ...Object.keys(blur?.stats.stageMs ?? {})])].sort();
  for (const k of stageKeys) out(`| stage ${k} | ${both((c) => c.stats.stageMs[k])} | wall, in the worker |`);
  out(`| processMs (worker round trip) | ${both((c) => c.stats.processMs)} | wall |`);
  out(`| decoder->encoder p50 | ${both((c) => c.stats.latencyMs.p50)} | wall |`);
  for (const [id, r] of Object.entries(inference)) out(`| inference ${id} (bench/inference.bench.ts) | ${f2(r.median)} | | wall median, 1 thread, p95 ${f2(r.p95)} |`);
  out();
}

const store = storeOut ? parseStore(storeOut) : undefined;
if (store) {
  out(store.markdown);
  out();
}
if (clusterOut) {
  out(clusterOut.split('\ncluster-json ')[0]!.trim());
  out();
}
if (recognitionOut) {
  out(recognitionOut.split('\nrecognition-json ')[0]!.trim());
  out();
}
/** webrtcFigures is the `webrtc-json` line of bench/webrtc.bench.ts (glass-to-glass p50/p95 ms). */
const webrtcLine = webrtcOut.split('\n').find((l) => l.startsWith('webrtc-json '));
const webrtcFigures = webrtcLine ? JSON.parse(webrtcLine.slice('webrtc-json '.length)) as { p50: number; p95: number; p99: number; hls?: { p50: number; p95: number; p99: number } } : undefined;
if (webrtcOut) {
  out(webrtcOut.split('\nwebrtc-json ')[0]!.trim());
  out();
}

if (inferenceOut || compositeOut) {
  out('### Micro-benchmarks (bench/inference.bench.ts, bench/composite.bench.ts)');
  out();
  for (const text of [inferenceOut, compositeOut]) if (text) { out(text.trim()); out(); }
}

// ---------------------------------------------------------------- figures, comparison, RESULTS.md, JSON

const passed = capacity.filter((s) => s.pass && s.mode === W.capacityModes[0]);
const one = capacity[0];
const atCap = passed.at(-1);
const ratioOf = (m: string) => { const c = cost.find((x) => x.mode === m); return c && medianBaseline ? Number((c.cpuPerFrameMs / medianBaseline).toFixed(3)) : null; };
const vfRatioOf = (m: string) => { const c = cost.find((x) => x.mode === m); return c && medianVeryfast ? Number((c.cpuPerFrameMs / medianVeryfast).toFixed(3)) : null; };
const exRatioOf = (m: string) => { const c = cost.find((x) => x.mode === m); return c && medianBaseline ? Number((extrapolated(c) / medianBaseline).toFixed(3)) : null; };

const figures: Figures = {
  costRatio: { color: ratioOf('color'), blur: ratioOf('blur'), none: ratioOf('none'), faces: ratioOf('faces'), colorFaces: ratioOf('color+faces'), colorEncoderVeryfast: ratioOf('color, encoder veryfast') },
  costRatioVeryfast: { color: vfRatioOf('color'), blur: vfRatioOf('blur'), none: vfRatioOf('none') },
  capacityFullQuality: Object.fromEntries(W.capacityModes.filter((m) => capacity.some((s) => s.mode === m)).map((m) => [m, fullQualityOf(m)])),
  capacityShed: Object.fromEntries(W.capacityModes.filter((m) => capacity.some((s) => s.mode === m)).map((m) => [m, shedOf(m)])),
  costRatioExtrapolated: { color: exRatioOf('color'), blur: exRatioOf('blur') },
  costCpuMsPerFrame: Object.fromEntries(cost.map((c) => [c.mode, Number(f2(c.cpuPerFrameMs))])),
  baselineCpuMsPerFrame: medianBaseline ? Number(medianBaseline.toFixed(2)) : null,
  capacityStreams: capacity.length ? passed.length : null,
  bareAtFailedStep: bare.length === BARE_COMMANDS.length ? { streams: bare[0]!.streams, issueBaseline: bare[0]!.pass, serverCodecs: bare[1]!.pass } : null,
  latency: {
    oneStream: one ? one.latencyMs : (budgetRow ? budgetRow.stats.latencyMs : null),
    atCapacity: atCap ? atCap.latencyMs : null,
    e2e: Object.fromEntries(e2e.map((r) => [r.streams > 1 ? `${r.mode}@${r.streams}` : r.mode, { p50: Math.round(r.p50), p95: Math.round(r.p95) }])),
  },
  addedLatencyMs: addedP95(1, 'color'),
  addedLatencyBlurMs: addedP95(1, 'blur'),
  addedLatencyAtCapacityMs: capStreams > 1 ? addedP95(capStreams, 'color') : null,
  addedLatencyBlurAtCapacityMs: capStreams > 1 ? addedP95(capStreams, 'blur') : null,
  rssPerStreamMB: memory ? Math.round(memory.rssPerStreamMB) : null,
  rssIncrementalPerStreamMB: memory ? Math.round(memory.incrementalPerStreamMB) : null,
  pssPerStreamMB: memory ? Math.round(memory.pssPerStreamMB) : null,
  pssIncrementalPerStreamMB: memory ? Math.round(memory.incrementalPssPerStreamMB) : null,
  rssGrowthPct: memory ? Number(memory.growthPct.toFixed(1)) : null,
  budget: budgetRow && want('budget') ? {
    decodeMs: Number(f2(budgetRow.perFrameMs.decoder)),
    serverMainThreadMs: Number(f2(budgetRow.perFrameMs.serverMainThread)),
    serverOtherThreadsMs: Number(f2(budgetRow.perFrameMs.serverOtherThreads)),
    encodeMs: Number(f2(budgetRow.perFrameMs.encoder)),
    totalMs: Number(f2(budgetRow.cpuPerFrameMs)),
    ...Object.fromEntries(Object.entries(budgetRow.stats.stageMs).map(([k, v]) => [`stage.${k}`, v])),
    ...Object.fromEntries(Object.entries(inference).map(([k, v]) => [`inference.${k}`, v.median])),
  } : null,
  store: store?.figures ?? null,
  webrtc: webrtcFigures ? { p50: webrtcFigures.p50, p95: webrtcFigures.p95, p99: webrtcFigures.p99, hls: webrtcFigures.hls } : null,
  loadAvg: [...loadavg()].map((x) => Number(x.toFixed(2))),
  quick: QUICK,
  date: startedAt.toISOString(),
};

/** storeFpsRatio is the mean output fps with the inserts over the mean without. */
function storeFpsRatio(f: StoreFigures | null | undefined): number | undefined {
  const i = f?.inserts;
  if (!i?.fpsWith.length || !i.fpsWithout.length) return undefined;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return Number((mean(i.fpsWith) / mean(i.fpsWithout)).toFixed(3));
}

// Compare with the previous entry (of the same kind, quick or full, if there is one).
const previousText = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
const previous = [...previousText.matchAll(/<!-- bench-json (.*) -->/g)].map((m) => { try { return JSON.parse(m[1]!) as Figures; } catch { return undefined; } }).filter((x): x is Figures => !!x);
const prev = previous.filter((p) => p.quick === QUICK).at(-1) ?? previous.at(-1);
if (prev) {
  const pairs: [string, number | null | undefined, number | null | undefined][] = [
    // Before 2026-12 the only ratio was against the veryfast baseline: compare like with like.
    ['costRatio.color', figures.costRatio.color, prev.costRatioVeryfast ? prev.costRatio?.color : undefined],
    ['costRatio.blur', figures.costRatio.blur, prev.costRatioVeryfast ? prev.costRatio?.blur : undefined],
    ['costRatio.none', figures.costRatio.none, prev.costRatioVeryfast ? prev.costRatio?.none : undefined],
    ['costRatioVeryfast.color', figures.costRatioVeryfast?.color, prev.costRatioVeryfast?.color ?? prev.costRatio?.color],
    ['costRatioVeryfast.blur', figures.costRatioVeryfast?.blur, prev.costRatioVeryfast?.blur ?? prev.costRatio?.blur],
    ['costRatioVeryfast.none', figures.costRatioVeryfast?.none, prev.costRatioVeryfast?.none ?? prev.costRatio?.none],
    ['capacityStreams', figures.capacityStreams, prev.capacityStreams],
    ['latency 1 stream p95', figures.latency.oneStream?.p95, prev.latency?.oneStream?.p95],
    ['addedLatencyMs', figures.addedLatencyMs, prev.addedLatencyMs],
    ['addedLatencyAtCapacityMs', figures.addedLatencyAtCapacityMs, prev.addedLatencyAtCapacityMs],
    ['rssPerStreamMB', figures.rssPerStreamMB, prev.rssPerStreamMB],
    ['budget.totalMs', figures.budget?.totalMs, prev.budget?.totalMs],
    ['webrtc glass-to-glass p95', figures.webrtc?.p95, prev.webrtc?.p95],
    ['store fps with/without inserts', storeFpsRatio(figures.store), storeFpsRatio(prev.store)],
    ['store query p95 stream + kind + minScore', figures.store?.queries?.p95Ms['stream + kind + minScore'], prev.store?.queries?.p95Ms['stream + kind + minScore']],
  ];
  const cmp = pairs.filter(([, a, b]) => typeof a === 'number' && typeof b === 'number')
    .map(([k, a, b]) => `${k} ${f2(b)} -> ${f2(a)} (x${b ? f2(a! / b) : '-'})`);
  out(`vs previous entry (${prev.date}${prev.quick ? ', quick' : ''}, load ${prev.loadAvg?.join(' ')}): ${cmp.length ? cmp.join('; ') : 'nothing comparable'}`);
} else {
  out('vs previous entry: none in bench/RESULTS.md');
}
out();

if (!has('--no-save')) {
  if (!previousText) writeFileSync(RESULTS, '# Benchmark results\n\n`npm run bench` appends one section per run (newest last). Ratios against a baseline measured in the same run are the figures to compare; absolute times drift with the machine and its load.\n\n');
  appendFileSync(RESULTS, `${report.join('\n')}\n<!-- bench-json ${JSON.stringify(figures)} -->\n\n`);
  log(`appended to ${RESULTS}`);
}
console.log(JSON.stringify(figures));
process.exit(exitCode);
