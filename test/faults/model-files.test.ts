/**
 * Issue #5, a missing or corrupt model file at start: the server exits with one clear error naming
 * the model, the file and the fix, before any port opens. The models are pointed at a copy with
 * LIVEMATTE_MODELS_DIR (models/build itself is never touched: other tests use it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/server-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { MODELS_BUILD_DIR } from '../../models/registry.ts';

let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'faults-models-'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** modelsCopy copies models/build to a new folder and lets `change` break it. */
function modelsCopy(name: string, change: (dir: string) => void): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const f of readdirSync(MODELS_BUILD_DIR)) if (f.endsWith('.onnx')) copyFileSync(join(MODELS_BUILD_DIR, f), join(dir, f));
  change(dir);
  return dir;
}

const portOpen = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/** runServer starts the server with a models folder and waits for it to exit (or be listening). */
async function runServer(modelsDir: string): Promise<{ code: number | null; stderr: string; stdout: string; ms: number; rtmpPort: number; httpPort: number; openAtExit: boolean[] }> {
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'server/main.ts'), '--bind', '127.0.0.1',
    '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--media-root', join(work, 'media')], {
    cwd: work, env: { ...process.env, LIVEMATTE_MODELS_DIR: modelsDir, LIVEMATTE_DATA_DIR: join(work, 'data') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const openAtExit: boolean[] = [];
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
  try {
    const code = await new Promise<number | null>((resolve) => {
      // Poll the ports while it runs: neither may ever accept a connection.
      const poll = setInterval(async () => {
        openAtExit.push(await portOpen(rtmpPort) || await portOpen(httpPort));
      }, 100);
      child.once('exit', (c) => { clearInterval(poll); resolve(c); });
    });
    return { code, stderr, stdout, ms: Date.now() - started, rtmpPort, httpPort, openAtExit };
  } finally {
    clearTimeout(timer);
  }
}

test('missing model file: exits 1 with ERR_MODEL_MISSING before any port opens', { timeout: 90000 }, async (t) => {
  const dir = modelsCopy('missing', (d) => rmSync(join(d, 'selfie.onnx')));
  const r = await runServer(dir);
  t.diagnostic(`exit ${r.code} after ${r.ms} ms; stderr: ${r.stderr.trim()}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^live-matte: ERR_MODEL_MISSING: model 'selfie' is missing: .*selfie\.onnx does not exist; run `npm run build:models`\n$/);
  assert.ok(!r.stdout.includes('server listening'));
  assert.ok(!r.openAtExit.includes(true), `a port accepted a connection (${r.openAtExit.length} polls)`);
});

test('corrupt model file: exits 1 with ERR_MODEL_CORRUPT before any port opens', { timeout: 90000 }, async (t) => {
  const dir = modelsCopy('corrupt', (d) => {
    const bytes = readFileSync(join(d, 'selfie-landscape.onnx'));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(d, 'selfie-landscape.onnx'), bytes);
  });
  const r = await runServer(dir);
  t.diagnostic(`exit ${r.code} after ${r.ms} ms; stderr: ${r.stderr.trim()}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERR_MODEL_CORRUPT: .*selfie-landscape/);
  assert.ok(!r.openAtExit.includes(true), 'no port accepted a connection');
});

test('an intact copy in LIVEMATTE_MODELS_DIR starts normally', { timeout: 90000 }, async (t) => {
  const dir = modelsCopy('intact', () => {});
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'server/main.ts'), '--bind', '127.0.0.1',
    '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--media-root', join(work, 'media2')], {
    cwd: work, env: { ...process.env, LIVEMATTE_MODELS_DIR: dir, LIVEMATTE_DATA_DIR: join(work, 'data2') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening within 45 s: ${out.slice(-300)}`)), 45000);
      child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('server listening')) { clearTimeout(timer); resolve(); } });
      child.once('exit', (c) => { clearTimeout(timer); reject(new Error(`exited ${c}`)); });
    });
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    assert.equal(res.status, 200);
    t.diagnostic('listening with models from the copy');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
