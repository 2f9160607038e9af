// Benchmark: ONNX Runtime CPU inference per model, 1 intra-op thread, graph optimisation 'all'.
// Run: node --import tsx bench/inference.bench.ts [--runs 100] [--warmup 10] [--layouts]
// --layouts also converts each TFLite model with an NHWC body and an NCHW body in memory and times both.
import { cpus, platform, arch } from 'node:os';
import ort from 'onnxruntime-node';
import { BUILD_BODY_LAYOUT, buildModelBytes } from '../models/build-model.ts';
import { MODEL_IDS, MODEL_REGISTRY, type ModelId } from '../models/registry.ts';
import { createCpuSession } from '../models/runtime/ort-session.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const runs = flag('--runs', 100);
const warmup = flag('--warmup', 10);
const compareLayouts = process.argv.includes('--layouts');

function deterministicInput(shape: number[], range: [number, number]): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = range[0] + ((state >>> 8) / 0x1000000) * (range[1] - range[0]);
  }
  return data;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** timeSessions runs the sessions alternately (one call each per round) so that machine drift hits all of them alike; resolves to median and p95 ms per session. */
async function timeSessions(id: ModelId, models: Uint8Array[]): Promise<Array<{ median: number; p95: number }>> {
  const entry = MODEL_REGISTRY[id];
  const sessions = await Promise.all(models.map((m) => createCpuSession(m)));
  const feeds = { [entry.input.name]: new ort.Tensor('float32', deterministicInput(entry.input.shape, entry.input.range), entry.input.shape) };
  for (let i = 0; i < warmup; i++) for (const s of sessions) await s.run(feeds);
  const times = sessions.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run(feeds);
      times[k]!.push(performance.now() - t0);
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { median: percentile(t, 50), p95: percentile(t, 95) };
  });
}

console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${platform()} ${arch()}, node ${process.version}, onnxruntime-node ${ort.env.versions.common}`);
console.log(`runs ${runs} after ${warmup} warm-up, 1 intra-op thread, graph optimisation all\n`);
const rows: string[] = ['| model | body layout | median ms | p95 ms |', '|---|---|---:|---:|'];
for (const id of MODEL_IDS) {
  // Only the TFLite converter has a layout choice; models/tfjs always writes an NCHW body.
  const layouts = compareLayouts && MODEL_REGISTRY[id].source.kind === 'tflite' ? (['nchw', 'nhwc'] as const) : [undefined];
  const built = await Promise.all(layouts.map((layout) => buildModelBytes(id, layout)));
  const results = await timeSessions(id, built.map((b) => b.onnx));
  results.forEach(({ median, p95 }, k) => rows.push(`| ${id} | ${layouts[k] ?? `${BUILD_BODY_LAYOUT} (built)`} | ${median.toFixed(2)} | ${p95.toFixed(2)} |`));
  if (layouts.length === 2) rows.push(`| ${id} | nhwc / nchw median ratio | ${(results[1]!.median / results[0]!.median).toFixed(2)} | |`);
}
console.log(rows.join('\n'));
