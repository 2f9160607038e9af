/**
 * Issue #3: the command line as the README gives it. `npm start -- --rtmp-port <n> --http-port <n>
 * --media-root <dir>` serves on those ports and writes HLS under that folder; an invalid flag
 * value fails with one line on stderr and exit code 1 before anything listens.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { REPO_ROOT, waitFor, startServer } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { freePort } from '../helpers/free-port.ts';
import { uniqueKey } from '../helpers/e2e-media.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
const publishers: Publisher[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/**
 * Ends a child we spawned in its own process group (npm -> node -> ffmpeg), SIGKILLs the group after
 * 10 s, and waits until every process of the group is gone (the server's ffmpeg children may still
 * be writing HLS files when npm itself has exited).
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10000);
  await exited;
  await waitFor('process group gone', () => {
    try { process.kill(-child.pid!, 0); return false; } catch { return true; }
  }, 15000, 50);
  clearTimeout(timer);
}

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all(children.map(stopGroup));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

test('npm start -- --rtmp-port <n> --http-port <n> --media-root <dir> serves there and writes HLS there', { timeout: 90000 }, async (t) => {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const dir = tempDir('cli-e2e-');
  const mediaRoot = join(dir, 'hls-out');
  // Bind and data folder through the environment, so the flags under test are exactly the README's.
  const child = spawn('npm', ['start', '--silent', '--', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--media-root', mediaRoot], {
    cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LIVEMATTE_BIND: '127.0.0.1', LIVEMATTE_DATA_DIR: join(dir, 'data') },
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const started = Date.now();
  const health = await waitFor('GET /healthz on the given HTTP port', async () => {
    assert.equal(child.exitCode, null, `npm start exited: ${output.slice(-1500)}`);
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    return res.ok && (await res.json()) as Record<string, unknown>;
  }, 45000, 250);
  t.diagnostic(`npm start answered /healthz after ${Date.now() - started} ms`);
  assert.equal(health.status, 'ok');
  assert.equal(health.rtmpPort, rtmpPort);
  assert.ok(await portAccepts(rtmpPort), 'RTMP listens on the given port');

  const key = uniqueKey('cli');
  const pub = publish(`rtmp://127.0.0.1:${rtmpPort}/live/${key}?bg=none`, ['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=15'],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p']);
  publishers.push(pub);
  const playlist = join(mediaRoot, 'live', `stream-${key}`, 'index.m3u8');
  await waitFor(`HLS written under --media-root (${playlist})`, () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    return existsSync(playlist);
  }, 45000, 250);
  const res = await fetch(`http://127.0.0.1:${httpPort}/live/stream-${key}/index.m3u8`);
  assert.equal(res.status, 200, 'the playlist on disk is the one served');
  assert.match(await res.text(), /#EXTM3U/);
});

// One row per kind of rule: commander's own parser, then the config schema (range, enum, minimum).
const INVALID: { args: string[]; mention: RegExp }[] = [
  { args: ['--rtmp-port', 'abc'], mention: /rtmp-port/ },
  { args: ['--http-port', '70000'], mention: /'http\.port' must be <= 65535/ },
  { args: ['--bg', 'sparkles'], mention: /'plugins\.background\.mode'/ },
  { args: ['--workers', '-1'], mention: /'inference\.workers' must be >= 0/ },
  { args: ['--log-level', 'loud'], mention: /'log\.level'/ },
];

// Each case is a short-lived process; run them side by side to keep the suite short.
describe('invalid flag values', { concurrency: true }, () => {
  for (const { args, mention } of INVALID) {
    test(`${args.join(' ')}: one-line error, exit code 1, nothing listens`, { timeout: 60000 }, async () => {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()];
      // The other ports are valid and free: had the server got as far as listening, they would be open.
      const ports = args[0] === '--rtmp-port' ? ['--http-port', String(httpPort)]
        : args[0] === '--http-port' ? ['--rtmp-port', String(rtmpPort)] : ['--rtmp-port', String(rtmpPort), '--http-port', String(httpPort)];
      const dir = tempDir('cli-bad-');
      // node directly, not npm: npm adds its own lines about the failed script to stderr.
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--bind', '127.0.0.1', ...ports, ...args], {
        cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LIVEMATTE_DATA_DIR: join(dir, 'data'), LIVEMATTE_MEDIA_ROOT: join(dir, 'media') },
      });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      let everListened = false;
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      // Watch the ports while it runs: a server that opened them before failing would be caught here.
      await waitFor('the process to exit', async () => {
        if (await portAccepts(httpPort) || await portAccepts(rtmpPort)) everListened = true;
        return child.exitCode !== null || child.signalCode !== null;
      }, 30000, 50);
      const [code] = await exited;
      assert.equal(code, 1, `exit code (stderr: ${stderr})`);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${stderr}`);
      assert.match(lines[0], mention);
      assert.equal(everListened, false, 'no port opened');
      assert.doesNotMatch(stdout, /listening/i, 'nothing logged as listening');
      assert.ok(!existsSync(join(dir, 'media')), 'nothing written to the media root');
    });
  }
});

// The config schema documents `rtmp.port: 0` as "pick a free port" and the test harness starts
// every server that way; node-media-server v4 opens no RTMP listener for a falsy port, which the
// ingest adapter must work around (it crashed with "reading 'listening'" before e3a9ca5).
test('--rtmp-port 0 --http-port 0 picks free ports (as config-schema.ts documents)', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    assert.ok(server.rtmpPort > 0 && server.httpPort > 0);
    assert.ok(await portAccepts(server.rtmpPort), 'RTMP listens on the picked port');
    const res = await fetch(`${server.httpBase}/healthz`);
    assert.equal(((await res.json()) as { rtmpPort: number }).rtmpPort, server.rtmpPort);
  } finally {
    await server.stop();
  }
});
