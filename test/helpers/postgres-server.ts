/**
 * A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a new cluster in a temp
 * folder (initdb, trust auth, C locale), listening on a free loopback port, run as the `postgres`
 * user when the tests run as root (PostgreSQL refuses root). `down()` and `up()` again on the same
 * port and data make an outage. Nothing is left behind on stop.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';

/** PostgresServer is one running test server. */
export interface PostgresServer {
  /** Connection URL of its `postgres` database, e.g. `postgres://livematte@127.0.0.1:54321/postgres`. */
  url: string;
  port: number;
  /** urlFor gives the URL of another database on the same server. */
  urlFor(database: string): string;
  /** createDatabase makes an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * down stops the server in immediate mode (SIGQUIT: every connection dropped at once, no
   * checkpoint, as a crash), keeping its data and port: an outage. Resolves once it has exited.
   */
  down(): Promise<void>;
  /** up starts it again after `down` (crash recovery on the same data and port); resolves once it accepts connections. */
  up(): Promise<void>;
  /** stop shuts the server down (fast mode) and removes its folder. */
  stop(): Promise<void>;
}

/** postgresBinDir finds Debian's newest `/usr/lib/postgresql/<major>/bin`, or throws saying what to install. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'postgres'))) : [];
  if (majors.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  majors.sort((a, b) => Number(b) - Number(a));
  return join(root, majors[0]!, 'bin');
}

/** startPostgres initialises and starts a server; resolves once it accepts connections (30 s at most). */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? userIds('postgres') : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'livematte', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    encoding: 'utf8', ...(owner ?? {}),
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited = Promise.resolve();
  let stderr = '';
  const urlFor = (database: string) => `postgres://livematte@127.0.0.1:${port}/${database}`;
  const url = urlFor('postgres');
  /** run starts the postmaster on the data folder and port; resolves once it accepts connections. */
  const run = async () => {
    const c: ChildProcess = spawn(join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'max_connections=200',
    ], { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) });
    child = c;
    c.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`postgres exited (${c.exitCode}): ${stderr}`);
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => {});
        if (Date.now() > deadline) { c.kill('SIGKILL'); throw new Error(`postgres did not start: ${String(err)} ${stderr}`); }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  /** halt stops the postmaster with `signal` (its children go with it) and waits for its exit. */
  const halt = async (signal: NodeJS.Signals) => {
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill(signal);
      await exited;
    }
  };
  await run();
  return {
    url, port, urlFor,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try { await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`); } finally { await client.end(); }
      return urlFor(name);
    },
    down: () => halt('SIGQUIT'),
    async up() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      await run();
    },
    async stop() {
      await halt('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const out = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const grp = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (out.status !== 0 || grp.status !== 0) throw new Error(`no user ${name} to run PostgreSQL as (apt-get install postgresql creates it)`);
  return { uid: Number(out.stdout.trim()), gid: Number(grp.stdout.trim()) };
}
