/**
 * Test harness: runs the real server as a child process on loopback with random ports and a
 * temporary media root, and waits (with a deadline, never a fixed sleep) for it to listen.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** REPO_ROOT is the repository's root folder. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** SHARED_MEDIA is ../shared/media beside the repository (real footage; may be absent). */
export const SHARED_MEDIA = resolve(REPO_ROOT, '..', 'shared', 'media');

/** ServerProcess is a running server child. */
export interface ServerProcess {
  child: ChildProcess;
  rtmpPort: number;
  httpPort: number;
  mediaRoot: string;
  /** rtmp://127.0.0.1:<port>/live */
  rtmpBase: string;
  /** http://127.0.0.1:<port> */
  httpBase: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** waitForLog resolves with the first log line (past or future) matching, or rejects at the deadline. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** stop sends SIGTERM and waits for exit (SIGKILL after 10 s); removes the temp folder. */
  stop(): Promise<number | null>;
}

let compiled = false;
/**
 * compileServer compiles server/, plugins/ and models/ to dist/ as `npm start` does (the same
 * script), once per test process.
 */
export function compileServer(): void {
  if (compiled) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/ensure-ready.mjs'), '--compile'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  compiled = true;
}

/** StartOptions: `compiled` runs dist/server/main.js with plain node through scripts/run-server.sh, as `npm start` does (see compileServer). */
export interface StartOptions {
  compiled?: boolean;
  /** Another entry module run through tsx instead of server/main.ts (a test fixture taking the same flags). */
  entry?: string;
  /** Give the child a stdin pipe (`child.stdin`) instead of none. */
  stdin?: boolean;
}

/**
 * startServer starts the server with `--rtmp-port 0 --http-port 0` plus `args`: the TypeScript
 * sources through tsx (default), or the compiled dist/ like `npm start` (`options.compiled`).
 */
export async function startServer(args: string[] = [], env: NodeJS.ProcessEnv = {}, options: StartOptions = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'live-matte-test-'));
  const mediaRoot = join(dir, 'media');
  if (options.compiled) compileServer();
  // Compiled: through npm start's launcher, which execs node on dist/server/main.js (same pid).
  const [command, entry] = options.compiled
    ? ['sh', [join(REPO_ROOT, 'scripts/run-server.sh')]]
    : [process.execPath, ['--import', import.meta.resolve('tsx'), options.entry ?? join(REPO_ROOT, 'server/main.ts')]];
  const child = spawn(command, [...entry,
    '--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', '--media-root', mediaRoot, ...args], {
    cwd: dir,
    env: { ...process.env, LIVEMATTE_DATA_DIR: join(dir, 'data'), LIVEMATTE_LOG_LEVEL: 'debug', ...env },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try { line = JSON.parse(text); } catch { return; }
    logs.push(line);
    for (const w of [...waiters]) if (w.match(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const waitForLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 20000) => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no matching server log within ${timeoutMs} ms; stderr: ${stderr.slice(-500)}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => { clearTimeout(timer); res(l); } });
      exited.then((code) => { clearTimeout(timer); rej(new Error(`server exited (${code}) before the log line; stderr: ${stderr.slice(-800)}`)); });
    });
  };
  const listening = await waitForLog((l) => l.msg === 'server listening', 30000);
  const rtmpPort = Number(listening.rtmpPort);
  const httpPort = Number(listening.httpPort);
  return {
    child, rtmpPort, httpPort, mediaRoot, logs, waitForLog,
    rtmpBase: `rtmp://127.0.0.1:${rtmpPort}/live`,
    httpBase: `http://127.0.0.1:${httpPort}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** waitFor polls `check` every `intervalMs` until it returns a value other than undefined/false, or rejects at the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
