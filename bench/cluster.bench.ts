/**
 * The cluster's own cost (docs/scaling.md): CPU per stream of one 720p30 stream (colour
 * background) on one node alone, against the same stream published through the nginx balancer
 * with its output copied to the nginx-rtmp origin (the node's tree with its relay ffmpeg, plus
 * nginx's processes), in one run on one machine. Prints a markdown section and a
 * `cluster-json {...}` line.
 *
 * Flags: --quick (short windows), --seconds <s> (measure window, default 30).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { clusterPorts, startClusterNginx, type ClusterNginx } from '../test/cluster/cluster-helpers.ts';
import { sampleTree, diffTree, CLK_TCK } from './proc-tree.ts';
import { benchServer, prepareInput, publishLoop, stopAll, waitLive, log } from './pipeline.bench.ts';
import { publish } from '../test/helpers/ffmpeg-tools.ts';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WINDOW_S = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : QUICK ? 8 : 30;
const WARMUP_S = QUICK ? 3 : 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** cpuSeconds of one process (utime + stime + reaped children), from /proc. */
function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return [14, 15, 16, 17].reduce((s, field) => s + Number(f[field - 3]), 0) / CLK_TCK;
}

interface Run { cpuPerSecond: number; nodeCpuPerSecond: number; frontCpuPerSecond: number; fps: number }

async function measure(withCluster: boolean, input: string): Promise<Run> {
  const ports = withCluster ? await clusterPorts() : undefined;
  const server = await benchServer([], ports ? { LIVEMATTE_CLUSTER_ORIGIN_RTMP_URL: `rtmp://127.0.0.1:${ports.origin}/live` } : {});
  let nginx: ClusterNginx | undefined;
  try {
    if (ports) nginx = await startClusterNginx(ports, [server]);
    const key = withCluster ? 'bench-cluster' : 'bench-alone';
    const url = nginx ? `${nginx.ingestBase}/${key}?bg=color` : `${server.rtmpBase}/${key}?bg=color`;
    const publisher = publish(url, ['-stream_loop', '-1', '-i', input], ['-c', 'copy']);
    await waitLive(server, [key]);
    await sleep(WARMUP_S * 1000);
    const front = nginx ? nginx.pids() : [];
    const a = sampleTree(server.child.pid!);
    const f0 = front.reduce((s, p) => s + cpuSeconds(p), 0);
    const frames0 = await framesOut(server.httpBase, key);
    const t0 = Date.now();
    await sleep(WINDOW_S * 1000);
    const b = sampleTree(server.child.pid!);
    const f1 = front.reduce((s, p) => s + cpuSeconds(p), 0);
    const seconds = (Date.now() - t0) / 1000;
    const fps = ((await framesOut(server.httpBase, key)) - frames0) / seconds;
    await publisher.stop();
    const node = diffTree(a, b).cpuS / seconds;
    const frontCpu = (f1 - f0) / seconds;
    return { cpuPerSecond: node + frontCpu, nodeCpuPerSecond: node, frontCpuPerSecond: frontCpu, fps };
  } finally {
    await stopAll();
    await nginx?.stop();
  }
}

async function framesOut(httpBase: string, key: string): Promise<number> {
  const body = await (await fetch(`${httpBase}/api/streams`)).json() as { streams: { key: string; stats: { framesOut: number } }[] };
  return body.streams.find((s) => s.key === key)?.stats.framesOut ?? 0;
}

const input = await prepareInput();
log(`cluster: one stream alone, then through the balancer and origin (${WINDOW_S} s each)`);
const alone = await measure(false, input.path);
const cluster = await measure(true, input.path);
const ratio = cluster.cpuPerSecond / alone.cpuPerSecond;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
console.log(`### Cluster hops (bench/cluster.bench.ts)

One 720p30 stream, colour background, ${WINDOW_S} s windows, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end.

| run | node CPU (of one core) | nginx CPU | total | output fps |
|---|---:|---:|---:|---:|
| one node alone | ${pct(alone.nodeCpuPerSecond)} | - | ${pct(alone.cpuPerSecond)} | ${alone.fps.toFixed(1)} |
| through balancer and origin | ${pct(cluster.nodeCpuPerSecond)} | ${pct(cluster.frontCpuPerSecond)} | ${pct(cluster.cpuPerSecond)} | ${cluster.fps.toFixed(1)} |

Cluster / alone: **${ratio.toFixed(3)}x** CPU per stream (the relay ffmpeg copying the output, nginx's stream proxy and nginx-rtmp with its HLS).
`);
console.log(`cluster-json ${JSON.stringify({ quick: QUICK, windowS: WINDOW_S, alone, cluster, ratio })}`);
