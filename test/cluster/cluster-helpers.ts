/**
 * Test helpers for the cluster: the cluster view, a publisher that reconnects like OBS, and the
 * shipped nginx/cluster/cluster.conf rendered for loopback nodes and started.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { freePort } from '../helpers/free-port.ts';
import { NGINX_BIN, tcpOpen } from '../ops/ops-helpers.ts';

/** ClusterView is `GET /api/cluster`. */
export interface ClusterView { nodeId: string; streams: number; nodes: { nodeId: string; httpUrl: string; draining?: boolean; streams: { key: string; state: string }[] }[] }

/** clusterView reads one node's cluster view. */
export async function clusterView(node: Pick<ServerProcess, 'httpBase'>): Promise<ClusterView> {
  const res = await fetch(`${node.httpBase}/api/cluster`);
  assert.equal(res.status, 200);
  return await res.json() as ClusterView;
}

/** ReconnectingPublisher is an ffmpeg publisher started again 200 ms after each exit. */
export interface ReconnectingPublisher {
  attempts: number;
  /** Date.now() of each ffmpeg's exit, in order. */
  exits: number[];
  stop(): Promise<void>;
}

/** reconnectingPublisher publishes `start()`'s ffmpeg again and again (as OBS reconnects) until stopped. */
export function reconnectingPublisher(start: () => Publisher): ReconnectingPublisher {
  let current: Publisher | undefined;
  let stopped = false;
  const state: ReconnectingPublisher = {
    attempts: 0,
    exits: [],
    async stop() { stopped = true; await current?.stop(); },
  };
  const run = () => {
    if (stopped) return;
    state.attempts++;
    current = start();
    current.child.once('exit', () => {
      state.exits.push(Date.now());
      if (!stopped) setTimeout(run, 200);
    });
  };
  run();
  return state;
}

/** A 320x240 25 fps test pattern with a 1 s GOP to `url` (no audio). */
export const publishPattern = (url: string): Publisher => publish(url, ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25'],
  ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p']);

/** ClusterNginx is the cluster front: balancer, origin and HTTP. */
export interface ClusterNginx {
  /** rtmp://127.0.0.1:<ingest>/live: publish here. */
  ingestBase: string;
  /** rtmp://127.0.0.1:<origin>/live: the nodes push outputs here; viewers play from here. */
  originBase: string;
  /** http://127.0.0.1:<http>: HLS of the origin, the API of any node. */
  httpBase: string;
  /** What nginx wrote to stdout and stderr so far. */
  output(): string;
  /** pids of the nginx master and its children (workers, cache manager), from /proc. */
  pids(): number[];
  stop(): Promise<void>;
}

/** ClusterPorts are chosen before the nodes start (they push to the origin). */
export interface ClusterPorts { ingest: number; origin: number; http: number }

/** clusterPorts picks three free loopback ports. */
export async function clusterPorts(): Promise<ClusterPorts> {
  return { ingest: await freePort(), origin: await freePort(), http: await freePort() };
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length - 1, 1, `nginx/cluster/cluster.conf: expected '${from}' exactly once`);
  return text.replace(from, to);
}

/** startClusterNginx renders nginx/cluster/cluster.conf for `nodes` on `ports` and starts it. */
export async function startClusterNginx(ports: ClusterPorts, nodes: { rtmpPort: number; httpPort: number }[]): Promise<ClusterNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'live-matte-cluster-nginx-'));
  const hls = join(dir, 'hls');
  mkdirSync(join(hls, 'live'), { recursive: true });
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'temp', sub), { recursive: true });
  let text = readFileSync(join(REPO_ROOT, 'nginx/cluster/cluster.conf'), 'utf8');
  text = replaceOnce(text, '        server node:1935 max_fails=1 fail_timeout=10s;', nodes.map((n) => `        server 127.0.0.1:${n.rtmpPort} max_fails=1 fail_timeout=10s;`).join('\n'));
  text = replaceOnce(text, '        server node:8000 max_fails=1 fail_timeout=10s;', nodes.map((n) => `        server 127.0.0.1:${n.httpPort} max_fails=1 fail_timeout=10s;`).join('\n'));
  text = replaceOnce(text, '        listen 1935;', `        listen 127.0.0.1:${ports.ingest};`);
  text = replaceOnce(text, '        listen 1936;', `        listen 127.0.0.1:${ports.origin};`);
  text = replaceOnce(text, '        listen 80;', `        listen 127.0.0.1:${ports.http};`);
  text = replaceOnce(text, 'hls_path /srv/origin-hls/live;', `hls_path ${hls}/live;`);
  text = replaceOnce(text, 'root /srv/origin-hls;', `root ${hls};`);
  text = replaceOnce(text, '\nhttp {', `\nhttp {\n    client_body_temp_path ${dir}/temp/body;\n    proxy_temp_path ${dir}/temp/proxy;\n`
    + `    fastcgi_temp_path ${dir}/temp/fastcgi;\n    uwsgi_temp_path ${dir}/temp/uwsgi;\n    scgi_temp_path ${dir}/temp/scgi;`);
  writeFileSync(join(dir, 'cluster.conf'), text);
  copyFileSync(join(REPO_ROOT, 'nginx/cluster/cors.conf'), join(dir, 'cors.conf'));
  const user = process.getuid?.() === 0 ? ' user root;' : '';
  const child = spawn(NGINX_BIN, ['-p', dir, '-c', join(dir, 'cluster.conf'), '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};${user}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('nginx listening on its three ports', async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${output.slice(-800)}`);
      return (await tcpOpen(ports.ingest)) && (await tcpOpen(ports.origin)) && (await tcpOpen(ports.http));
    }, 10_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ingestBase: `rtmp://127.0.0.1:${ports.ingest}/live`, originBase: `rtmp://127.0.0.1:${ports.origin}/live`,
    httpBase: `http://127.0.0.1:${ports.http}`, output: () => output, stop,
    pids: () => [child.pid!, ...readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === child.pid;
      } catch {
        return false;
      }
    })],
  };
}

/**
 * probeOrigin is ffprobe's video width of `url` at the origin, or undefined after `timeoutMs`.
 * No `-rw_timeout` here: with it, ffprobe gives up on nginx-rtmp's players before their first
 * data (seen with nginx 1.22 / nginx-rtmp 1.2.2); the process is killed at the deadline instead.
 */
export async function probeOrigin(url: string, timeoutMs = 8000): Promise<number | undefined> {
  try {
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width', '-of', 'csv=p=0', url], { timeout: timeoutMs });
    const width = Number(stdout.trim());
    return width > 0 ? width : undefined;
  } catch {
    return undefined;
  }
}
