/**
 * Helpers for the operations tests: a test-pattern publisher, a Prometheus text parser, and
 * Debian's nginx started on loopback with a copy of `nginx/` whose addresses are substituted.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, waitFor } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { freePort } from '../helpers/free-port.ts';

const run = promisify(execFile);

/** NGINX_BIN is Debian's nginx binary. */
export const NGINX_BIN = '/usr/sbin/nginx';
/** NGINX_DIR holds the shipped nginx configuration. */
export const NGINX_DIR = join(REPO_ROOT, 'nginx');

/** publishTestPattern publishes an endless lavfi clip (testsrc2 320x240 at 25 fps + a 440 Hz sine) to `url`. */
export function publishTestPattern(url: string): Publisher {
  return publish(url, ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k']);
}

/** PromSample is one sample line of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,\s*|$)/gy;
const HELP_OR_TYPE = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/;
const SUFFIXES = ['', '_bucket', '_sum', '_count', '_total', '_created'];

/**
 * parsePrometheusText parses the text exposition format 0.0.4 strictly enough for a test.
 * @throws Error naming the first malformed line, an unknown TYPE, or a sample of an undeclared family.
 */
export function parsePrometheusText(text: string): { types: Map<string, string>; samples: PromSample[] } {
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = HELP_OR_TYPE.exec(line);
      if (!m) continue; // other comments are allowed
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`line ${i + 1}: bad TYPE: ${line}`);
        types.set(m[2], m[3]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL.exec(m[2]); l; l = LABEL.exec(m[2])) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        consumed = LABEL.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`line ${i + 1}: bad labels: ${line}`);
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN in any case; prom-client
    // 15 writes 'Nan' (e.g. the event-loop lag mean when a scrape follows the previous one within its
    // 10 ms sampling resolution).
    if (Number.isNaN(value) && m[3].toLowerCase() !== 'nan') throw new Error(`line ${i + 1}: bad value: ${line}`);
    const family = SUFFIXES.map((s) => (s && m[1].endsWith(s) ? m[1].slice(0, -s.length) : m[1])).find((f) => types.has(f));
    if (!family) throw new Error(`line ${i + 1}: sample of an undeclared family: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

/** scrapeMetrics reads `<httpBase>/metrics` once and parses it (see parsePrometheusText). */
export async function scrapeMetrics(httpBase: string): Promise<PromSample[]> {
  return parsePrometheusText(await (await fetch(`${httpBase}/metrics`)).text()).samples;
}

/** tcpOpen is true when something accepts connections on 127.0.0.1:`port`. */
export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** NginxAddresses are the values substituted into the test copy of the config. */
export interface NginxAddresses {
  /** Port nginx serves HTTP on (127.0.0.1). */
  httpPort: number;
  /** Port nginx takes RTMP on (127.0.0.1), used by rtmp.conf. */
  rtmpPort: number;
  /** The server's HTTP port (replaces `server:8000`). */
  upstreamHttpPort: number;
  /** The server's RTMP port (replaces `server:1935`). */
  upstreamRtmpPort: number;
  /** The server's media root (replaces `/srv/media`). */
  mediaRoot: string;
}

function replaceOnce(text: string, file: string, from: string, to: string): string {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`nginx/${file}: expected '${from}' exactly once, found ${count}: the test's substitutions need updating`);
  return text.replace(from, to);
}

/**
 * renderNginxConfig copies every `nginx/*.conf` into `dir`, with the Compose addresses, the
 * public ports and the media path replaced, and temp paths inside `dir`. Each replaced line
 * must occur exactly once, so the test breaks loudly when the shipped config drifts.
 */
export function renderNginxConfig(dir: string, a: NginxAddresses): void {
  const temp = join(dir, 'temp');
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(temp, sub), { recursive: true });
  for (const file of readdirSync(NGINX_DIR).filter((f) => f.endsWith('.conf'))) {
    let text = readFileSync(join(NGINX_DIR, file), 'utf8');
    if (file === 'nginx.conf') {
      text = replaceOnce(text, file, 'server server:8000;', `server 127.0.0.1:${a.upstreamHttpPort};`);
      text = replaceOnce(text, file, 'listen 80;', `listen 127.0.0.1:${a.httpPort};`);
      text = replaceOnce(text, file, 'root /srv/media;', `root ${a.mediaRoot};`);
      // /dev/stdout can not be opened when stdout is a socket, as it is under child_process.
      text = replaceOnce(text, file, 'access_log /dev/stdout live_matte;', `access_log ${dir}/access.log live_matte;`);
      text = replaceOnce(text, file, '\nhttp {', `\nhttp {\n    client_body_temp_path ${temp}/body;\n    proxy_temp_path ${temp}/proxy;\n`
        + `    fastcgi_temp_path ${temp}/fastcgi;\n    uwsgi_temp_path ${temp}/uwsgi;\n    scgi_temp_path ${temp}/scgi;`);
    } else if (file === 'rtmp.conf') {
      text = replaceOnce(text, file, 'listen 1935;', `listen 127.0.0.1:${a.rtmpPort};`);
      text = replaceOnce(text, file, 'push rtmp://server:1935/live;', `push rtmp://127.0.0.1:${a.upstreamRtmpPort}/live;`);
    }
    writeFileSync(join(dir, file), text);
  }
}

/** NginxProcess is a running nginx. */
export interface NginxProcess {
  child: ChildProcess;
  httpPort: number;
  rtmpPort: number;
  /** http://127.0.0.1:<httpPort> */
  httpBase: string;
  /** rtmp://127.0.0.1:<rtmpPort>/live */
  rtmpBase: string;
  output(): string;
  /** stop sends SIGQUIT (graceful), SIGKILL after 5 s, and removes the temp folder. */
  stop(): Promise<void>;
}

function nginxArgs(dir: string, configFile: string): string[] {
  // Workers read the server's private temp folder, so they run as the (root) test user.
  const user = process.getuid?.() === 0 ? ' user root;' : '';
  return ['-p', dir, '-c', join(dir, configFile), '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};${user}`];
}

/** nginxConfigLoads is true when `nginx -t` accepts `configFile` (e.g. the rtmp module is installed). */
export async function nginxConfigLoads(configFile: string, a: NginxAddresses): Promise<boolean> {
  if (!existsSync(NGINX_BIN)) return false;
  const dir = mkdtempSync(join(tmpdir(), 'live-matte-nginx-t-'));
  try {
    renderNginxConfig(dir, a);
    await run(NGINX_BIN, ['-t', ...nginxArgs(dir, configFile)]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * startNginx runs nginx in the foreground with a rendered copy of `configFile` on fresh loopback
 * ports (retrying if a port was taken meanwhile) and resolves once it answers HTTP.
 */
export async function startNginx(configFile: 'nginx.conf' | 'nginx-rtmp.conf', upstream: { httpPort: number; rtmpPort: number; mediaRoot: string }): Promise<NginxProcess> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const dir = mkdtempSync(join(tmpdir(), 'live-matte-nginx-'));
    const a: NginxAddresses = {
      httpPort: await freePort(), rtmpPort: await freePort(),
      upstreamHttpPort: upstream.httpPort, upstreamRtmpPort: upstream.rtmpPort, mediaRoot: upstream.mediaRoot,
    };
    try {
      renderNginxConfig(dir, a);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const child = spawn(NGINX_BIN, nginxArgs(dir, configFile), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let gone = false;
    void exited.then(() => { gone = true; });
    const stop = async () => {
      if (!gone) child.kill('SIGQUIT');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      const state = await waitFor('nginx to answer HTTP', async () => {
        if (gone) return 'exited';
        return (await fetch(`http://127.0.0.1:${a.httpPort}/healthz`)).status === 200 && 'up';
      }, 10000, 100);
      if (state === 'exited') throw new Error(`nginx exited: ${output.slice(-800)}`);
      return {
        child, httpPort: a.httpPort, rtmpPort: a.rtmpPort,
        httpBase: `http://127.0.0.1:${a.httpPort}`, rtmpBase: `rtmp://127.0.0.1:${a.rtmpPort}/live`,
        output: () => output, stop,
      };
    } catch (err) {
      await stop();
      lastError = err as Error;
      if (!/Address already in use/.test(output)) break;
    }
  }
  throw lastError ?? new Error('nginx did not start');
}

/** metricsTable renders metric descriptions as the Markdown table docs/production.md carries. */
export function metricsTable(metrics: { name: string; type: string; labels: string[]; help: string }[]): string {
  const rows = metrics.map((m) => `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '-'} | ${m.help} |`);
  return ['| Metric | Type | Labels | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
