/**
 * The cluster's own cost (docs/scaling.md): one 720p30 stream with faces in view (colour
 * background, faces blurred, so detection events are written) on one node alone (SQLite event
 * store, the single-node default), against the same stream on a real cluster node: Redis leases,
 * the PostgreSQL event store, published through the nginx balancer with its output copied to the
 * nginx-rtmp origin. Measured over one window each, in one run on one machine: CPU of the node's
 * tree, nginx's processes, redis-server and the postmaster's tree; Redis commands (INFO stats and
 * commandstats deltas), PostgreSQL transactions and row writes of the events database
 * (pg_stat_database deltas), and events started (`livematte_events_started_total`), each per
 * stream per second. Prints a markdown section and a `cluster-json {...}` line.
 *
 * Flags: --quick (short windows), --seconds <s> (measure window, default 30).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { clusterPorts, startClusterNginx, type ClusterNginx } from '../test/cluster/cluster-helpers.ts';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.ts';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres-server.ts';
import { SHARED_MEDIA } from '../test/helpers/server-process.ts';
import { sampleTree, diffTree, CLK_TCK } from './proc-tree.ts';
import { benchServer, stopAll, waitLive, log, WIDTH, HEIGHT, FPS } from './pipeline.bench.ts';
import { publish } from '../test/helpers/ffmpeg-tools.ts';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WINDOW_S = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : QUICK ? 8 : 30;
const WARMUP_S = QUICK ? 3 : 6;
/** The options of the stream in both runs: colour background, faces blurred (events written). */
const STREAM_QUERY = 'bg=color&faces=blur';
const FACES_SOURCE = 'face-demographics-walking-and-pause.gif';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** cpuSeconds of one process (utime + stime + reaped children), from /proc. */
function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return [14, 15, 16, 17].reduce((s, field) => s + Number(f[field - 3]), 0) / CLK_TCK;
}

/** pidsWhere lists the live pids whose command line (NUL-separated args joined by spaces) passes `test`. */
function pidsWhere(test: (cmdline: string) => boolean): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (test(readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' '))) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}

/** redisPid finds the redis-server on `port` (it shows itself as `redis-server 127.0.0.1:<port>`). */
function redisPid(port: number): number {
  const pids = pidsWhere((c) => c.startsWith('redis-server') && (c.includes(`:${port}`) || c.includes(`--port ${port}`)));
  if (pids.length !== 1) throw new Error(`expected one redis-server on port ${port}, found ${pids.length}`);
  return pids[0]!;
}

/** postmasterPid finds the postmaster started with `-p <port>` (its children show other titles). */
function postmasterPid(port: number): number {
  const pids = pidsWhere((c) => /\/postgres /.test(c) && c.includes(` -p ${port} `));
  if (pids.length !== 1) throw new Error(`expected one postmaster on port ${port}, found ${pids.length}`);
  return pids[0]!;
}

/**
 * prepareFacesInput makes (once, cached in the temp folder) ~20 s of the walking-faces GIF, looped,
 * at 1280x720 30 fps H.264, GOP 60, the same size and rate as the other benches' input.
 */
async function prepareFacesInput(): Promise<string> {
  const dir = join(tmpdir(), 'live-matte-bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `faces-${WIDTH}x${HEIGHT}-${FPS}fps-20s.mp4`);
  if (existsSync(path)) return path;
  const src = join(SHARED_MEDIA, FACES_SOURCE);
  if (!existsSync(src)) throw new Error(`missing ${src}`);
  log(`preparing ${path} from ${src}`);
  const partial = `${path}.partial.mp4`;
  await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-nostdin', '-stream_loop', '-1', '-i', src, '-t', '20',
    '-vf', `scale=${WIDTH}:${HEIGHT},fps=${FPS}`, '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', partial]);
  renameSync(partial, path);
  return path;
}

/** Store is the window's registry and event-store traffic of the cluster run, each per second. */
interface Store {
  redisCommandsPerSecond: number;
  /** Commands by name (INFO commandstats `calls` deltas), per second; the bench's own INFO excluded. */
  redisByCommand: Record<string, number>;
  pgTransactionsPerSecond: number;
  pgRowsInsertedPerSecond: number;
  pgRowsUpdatedPerSecond: number;
}

interface Run {
  cpuPerSecond: number; nodeCpuPerSecond: number; frontCpuPerSecond: number;
  redisCpuPerSecond: number; postgresCpuPerSecond: number;
  fps: number; eventsStartedPerSecond: number; eventsStarted: number; store?: Store;
}

/** Backends are the cluster run's Redis and PostgreSQL, with a connection to read their counters. */
interface Backends { redis: RedisServer; postgres: PostgresServer; database: string; eventsUrl: string }

async function redisCounters(client: Redis): Promise<{ total: number; byCommand: Map<string, number> }> {
  const stats = await client.info('stats');
  const total = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? NaN);
  const byCommand = new Map<string, number>();
  for (const m of (await client.info('commandstats')).matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) byCommand.set(m[1]!, Number(m[2]));
  return { total, byCommand };
}

async function pgCounters(client: pg.Client, database: string): Promise<{ xact: number; inserted: number; updated: number }> {
  // The statistics are flushed by each backend at most once a second; the windows are far longer.
  const { rows } = await client.query('SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = $1', [database]);
  const r = rows[0] as { xact_commit: string; tup_inserted: string; tup_updated: string };
  return { xact: Number(r.xact_commit), inserted: Number(r.tup_inserted), updated: Number(r.tup_updated) };
}

async function eventsStarted(httpBase: string): Promise<number> {
  const text = await (await fetch(`${httpBase}/metrics`)).text();
  return [...text.matchAll(/^livematte_events_started_total\{[^}]*\} (\d+(?:\.\d+)?)/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

async function measure(input: string, backends?: Backends): Promise<Run> {
  const ports = backends ? await clusterPorts() : undefined;
  const env: NodeJS.ProcessEnv = backends && ports ? {
    LIVEMATTE_CLUSTER_ENABLED: 'true', LIVEMATTE_CLUSTER_REDIS_URL: backends.redis.url,
    LIVEMATTE_CLUSTER_ORIGIN_RTMP_URL: `rtmp://127.0.0.1:${ports.origin}/live`,
    LIVEMATTE_EVENTS_STORE: 'postgres', LIVEMATTE_EVENTS_POSTGRES_URL: backends.eventsUrl, LIVEMATTE_NODE_ID: 'bench-n1',
  } : {};
  const server = await benchServer([], env);
  let nginx: ClusterNginx | undefined;
  let redisClient: Redis | undefined;
  let pgClient: pg.Client | undefined;
  try {
    if (ports) nginx = await startClusterNginx(ports, [server]);
    const key = backends ? 'bench-cluster' : 'bench-alone';
    const url = nginx ? `${nginx.ingestBase}/${key}?${STREAM_QUERY}` : `${server.rtmpBase}/${key}?${STREAM_QUERY}`;
    const publisher = publish(url, ['-stream_loop', '-1', '-i', input], ['-c', 'copy']);
    await waitLive(server, [key]);
    await sleep(WARMUP_S * 1000);
    if (backends) {
      redisClient = new Redis(backends.redis.url, { lazyConnect: true });
      await redisClient.connect();
      pgClient = new pg.Client({ connectionString: backends.postgres.url });
      await pgClient.connect();
    }
    const front = nginx ? nginx.pids() : [];
    const rPid = backends ? redisPid(backends.redis.port) : undefined;
    const pPid = backends ? postmasterPid(backends.postgres.port) : undefined;
    const r0 = redisClient ? await redisCounters(redisClient) : undefined;
    const p0 = pgClient ? await pgCounters(pgClient, backends!.database) : undefined;
    const e0 = await eventsStarted(server.httpBase);
    const a = sampleTree(server.child.pid!);
    const f0 = front.reduce((s, p) => s + cpuSeconds(p), 0);
    const rc0 = rPid ? cpuSeconds(rPid) : 0;
    const pc0 = pPid ? sampleTree(pPid) : undefined;
    const frames0 = await framesOut(server.httpBase, key);
    const t0 = Date.now();
    await sleep(WINDOW_S * 1000);
    const b = sampleTree(server.child.pid!);
    const f1 = front.reduce((s, p) => s + cpuSeconds(p), 0);
    const rc1 = rPid ? cpuSeconds(rPid) : 0;
    const pc1 = pPid ? sampleTree(pPid) : undefined;
    const seconds = (Date.now() - t0) / 1000;
    const fps = ((await framesOut(server.httpBase, key)) - frames0) / seconds;
    const e1 = await eventsStarted(server.httpBase);
    const r1 = redisClient ? await redisCounters(redisClient) : undefined;
    // Let every backend flush its statistics (at most once a second) before the last read.
    if (pgClient) await sleep(1500);
    const p1 = pgClient ? await pgCounters(pgClient, backends!.database) : undefined;
    await publisher.stop();
    const node = diffTree(a, b).cpuS / seconds;
    const frontCpu = (f1 - f0) / seconds;
    const redisCpu = (rc1 - rc0) / seconds;
    const postgresCpu = pc0 && pc1 ? diffTree(pc0, pc1).cpuS / seconds : 0;
    let store: Store | undefined;
    if (r0 && r1 && p0 && p1) {
      const byCommand: Record<string, number> = {};
      for (const [name, calls] of r1.byCommand) {
        // The bench's own reads: one INFO stats + one INFO commandstats each side.
        const own = name === 'info' ? 2 : 0;
        const d = calls - (r0.byCommand.get(name) ?? 0) - own;
        if (d > 0) byCommand[name] = d / seconds;
      }
      store = {
        redisCommandsPerSecond: (r1.total - r0.total - 2) / seconds,
        redisByCommand: byCommand,
        pgTransactionsPerSecond: (p1.xact - p0.xact) / seconds,
        pgRowsInsertedPerSecond: (p1.inserted - p0.inserted) / seconds,
        pgRowsUpdatedPerSecond: (p1.updated - p0.updated) / seconds,
      };
    }
    return {
      cpuPerSecond: node + frontCpu + redisCpu + postgresCpu, nodeCpuPerSecond: node, frontCpuPerSecond: frontCpu,
      redisCpuPerSecond: redisCpu, postgresCpuPerSecond: postgresCpu,
      fps, eventsStarted: e1 - e0, eventsStartedPerSecond: (e1 - e0) / seconds, store,
    };
  } finally {
    redisClient?.disconnect();
    await pgClient?.end().catch(() => {});
    await stopAll();
    await nginx?.stop();
  }
}

async function framesOut(httpBase: string, key: string): Promise<number> {
  const body = await (await fetch(`${httpBase}/api/streams`)).json() as { streams: { key: string; stats: { framesOut: number } }[] };
  return body.streams.find((s) => s.key === key)?.stats.framesOut ?? 0;
}

const input = await prepareFacesInput();
log(`cluster: one stream with faces alone (SQLite events), then as a cluster node (Redis, PostgreSQL, balancer, origin; ${WINDOW_S} s each)`);
const alone = await measure(input);
const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
let cluster: Run;
try {
  const database = 'bench_events';
  cluster = await measure(input, { redis, postgres, database, eventsUrl: await postgres.createDatabase(database) });
} finally {
  await redis.stop();
  await postgres.stop();
}
const ratio = cluster.cpuPerSecond / alone.cpuPerSecond;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const s = cluster.store!;
const byCommand = Object.entries(s.redisByCommand).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
console.log(`### Cluster hops (bench/cluster.bench.ts)

One 720p30 stream of ${FACES_SOURCE} (looped), \`?${STREAM_QUERY}\`, ${WINDOW_S} s windows, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end.
Alone: one node, SQLite event store. Cluster: one node with Redis leases (default TTL) and the PostgreSQL event store, published through the nginx balancer, output copied to the origin.

| run | node CPU (of one core) | nginx CPU | redis-server CPU | postgres CPU | total | output fps | events started/s |
|---|---:|---:|---:|---:|---:|---:|---:|
| one node alone | ${pct(alone.nodeCpuPerSecond)} | - | - | - | ${pct(alone.cpuPerSecond)} | ${alone.fps.toFixed(1)} | ${alone.eventsStartedPerSecond.toFixed(2)} |
| cluster node | ${pct(cluster.nodeCpuPerSecond)} | ${pct(cluster.frontCpuPerSecond)} | ${pct(cluster.redisCpuPerSecond)} | ${pct(cluster.postgresCpuPerSecond)} | ${pct(cluster.cpuPerSecond)} | ${cluster.fps.toFixed(1)} | ${cluster.eventsStartedPerSecond.toFixed(2)} |

Cluster / alone: **${ratio.toFixed(3)}x** CPU per stream.

Per stream per second (cluster run, one stream): Redis ${s.redisCommandsPerSecond.toFixed(2)} commands (${byCommand || 'none'});
PostgreSQL ${s.pgTransactionsPerSecond.toFixed(2)} transactions, ${s.pgRowsInsertedPerSecond.toFixed(2)} rows inserted, ${s.pgRowsUpdatedPerSecond.toFixed(2)} rows updated; ${cluster.eventsStarted} events started in the window.
`);
console.log(`cluster-json ${JSON.stringify({ quick: QUICK, windowS: WINDOW_S, input: FACES_SOURCE, query: STREAM_QUERY, alone, cluster, ratio })}`);
