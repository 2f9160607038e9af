/**
 * Recognition's cost (issue #21): a 1280x720 30 fps clip with two faces in view (sister.mkv and
 * again.mkv side by side, 1280x480, padded to 720), one of them enrolled over the API. Measured
 * on one server, one stream at a time: the server tree's CPU per output frame with faces blurred
 * (`bg=none&faces=blur`), and with recognition as well (`&anonymise=unknown`: embeddings when a
 * track needs one, matching, the enrolled face left visible); then the capacity goal, 3 streams of
 * `bg=color&faces=blur&anonymise=unknown` at once: output fps per stream, drops, and the model
 * interval the load shedder settled on. Prints a markdown section and a `recognition-json {...}` line.
 *
 * Flags: --quick (short windows), --seconds <s> (measure window, default 30).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sampleTree, diffTree } from './proc-tree.ts';
import { benchServer, publishLoop, stopAll, streams, waitLive, log, sleep } from './pipeline.bench.ts';
import { SHARED_MEDIA, type ServerProcess } from '../test/helpers/server-process.ts';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WINDOW_S = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : QUICK ? 8 : 30;
const WARMUP_S = QUICK ? 4 : 8;
const ADMIN = 'bench-admin-token';
const AUTH = { authorization: `Bearer ${ADMIN}` };

/** prepareTwoFaces makes (once, cached) 20 s of the two men side by side at 1280x720 30 fps, GOP 60. */
async function prepareTwoFaces(): Promise<string> {
  const dir = join(tmpdir(), 'live-matte-bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'two-faces-1280x720-30fps-20s.mp4');
  if (!existsSync(path)) {
    const partial = `${path}.partial.mp4`;
    await run('ffmpeg', ['-v', 'error', '-y', '-nostdin', '-stream_loop', '-1', '-i', join(SHARED_MEDIA, 'sister.mkv'), '-stream_loop', '-1', '-i', join(SHARED_MEDIA, 'again.mkv'),
      '-filter_complex', '[0:v]fps=30,scale=640:480,setsar=1[a];[1:v]fps=30,scale=640:480,setsar=1[b];[a][b]hstack,pad=1280:720:0:120,format=yuv420p',
      '-t', '20', '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', partial]);
    renameSync(partial, path);
  }
  return path;
}

async function enrol(server: ServerProcess): Promise<void> {
  const jpeg = join(tmpdir(), 'live-matte-bench', 'sister-1s.jpg');
  await run('ffmpeg', ['-v', 'error', '-y', '-ss', '1', '-i', join(SHARED_MEDIA, 'sister.mkv'), '-frames:v', '1', jpeg]);
  const person = await fetch(`${server.httpBase}/api/people`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Sam' }) });
  const { id } = (await person.json()) as { id: string };
  const { readFile } = await import('node:fs/promises');
  const face = await fetch(`${server.httpBase}/api/people/${id}/faces`, { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: await readFile(jpeg) });
  if (face.status !== 201) throw new Error(`enrolment failed: ${face.status} ${await face.text()}`);
}

interface Window { keys: string[]; cpuPerFrameMs: number; fps: number[]; dropped: number[]; modelInterval: number[] }

async function measure(server: ServerProcess, keys: string[], query: string, clip: string): Promise<Window> {
  const pubs = keys.map((k) => publishLoop(server, `${k}?${query}`, clip));
  try {
    await waitLive(server, keys);
    await sleep(WARMUP_S * 1000);
    const a = sampleTree(server.child.pid!);
    const sa = await streams(server);
    await sleep(WINDOW_S * 1000);
    const b = sampleTree(server.child.pid!);
    const sb = await streams(server);
    const d = diffTree(a, b);
    const frames = keys.map((k) => sb.get(k)!.stats.framesOut - sa.get(k)!.stats.framesOut);
    return {
      keys,
      cpuPerFrameMs: (d.cpuS * 1000) / Math.max(1, frames.reduce((x, y) => x + y, 0)),
      fps: frames.map((f) => f / d.seconds),
      dropped: keys.map((k) => sb.get(k)!.stats.droppedFrames - sa.get(k)!.stats.droppedFrames),
      modelInterval: keys.map((k) => sb.get(k)!.stats.modelIntervalFrames),
    };
  } finally {
    await Promise.all(pubs.map((p) => p.stop()));
  }
}

const clip = await prepareTwoFaces();
const server = await benchServer([], { LIVEMATTE_AUTH_ADMIN_TOKEN: ADMIN });
let faces: Window, recognise: Window, capacity: Window;
try {
  await enrol(server);
  log(`recognition: one stream blurred, then blurred with recognition (${WINDOW_S} s each), then 3 streams with background + faces + recognition`);
  faces = await measure(server, ['rec-faces'], 'bg=none&faces=blur', clip);
  recognise = await measure(server, ['rec-recognise'], 'bg=none&faces=blur&anonymise=unknown', clip);
  capacity = await measure(server, ['rec-cap-1', 'rec-cap-2', 'rec-cap-3'], 'bg=color&faces=blur&anonymise=unknown', clip);
} finally {
  await stopAll();
}
const f1 = (x: number) => x.toFixed(1);
const added = recognise.cpuPerFrameMs - faces.cpuPerFrameMs;
console.log(`### Recognition (bench/recognition.bench.ts)

Two faces in view (one enrolled), 1280x720 30 fps, ${WINDOW_S} s windows${QUICK ? ' (quick)' : ''}; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} at the end.

| run | CPU ms per output frame (server tree) | output fps per stream | dropped in the window | model interval |
|---|---:|---|---|---|
| 1 stream, faces blurred | ${f1(faces.cpuPerFrameMs)} | ${faces.fps.map(f1).join(', ')} | ${faces.dropped.join(', ')} | ${faces.modelInterval.join(', ')} |
| 1 stream, faces blurred + recognition | ${f1(recognise.cpuPerFrameMs)} | ${recognise.fps.map(f1).join(', ')} | ${recognise.dropped.join(', ')} | ${recognise.modelInterval.join(', ')} |
| 3 streams, colour background + faces + recognition | ${f1(capacity.cpuPerFrameMs)} | ${capacity.fps.map(f1).join(', ')} | ${capacity.dropped.join(', ')} | ${capacity.modelInterval.join(', ')} |

Recognition added ${f1(added)} CPU ms per frame (${f1((added / faces.cpuPerFrameMs) * 100)} %) with 2 faces in view.`);
console.log(`recognition-json ${JSON.stringify({ quick: QUICK, windowS: WINDOW_S, faces, recognise, capacity, addedCpuPerFrameMs: added })}`);
