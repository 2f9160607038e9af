/**
 * Issue #19, item 2: a publish whose HLS folder cannot be created (a regular file stands where the
 * folder must be) fails alone: one error line, its publisher disconnected, the server and a
 * healthy stream beside it go on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { publishHealthy, streamEntry } from '../helpers/fault-tools.ts';

/** pino's level number of `error`. */
const PINO_ERROR = 50;

let server: ServerProcess;
const publishers: Publisher[] = [];
const healthy = uniqueKey('healthy');
const broken = uniqueKey('nofolder');

function start(key: string): Publisher {
  const p = publishHealthy(server.rtmpBase, key);
  publishers.push(p);
  return p;
}

const framesOut = async (key: string) => Number((await streamEntry(server.httpBase, key))?.stats.framesOut ?? -1);

before(async () => {
  server = await startServerOnFreePorts();
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

test('a publish that cannot create its HLS folder fails alone; the server and a healthy stream go on', { timeout: 120000 }, async (t) => {
  start(healthy);
  await waitFor('the healthy stream to be live', async () => (await framesOut(healthy)) > 25, 60000, 250);
  // A first publish of the key, ended: its playlist is kept for the retention time, so the next
  // publish continues it (no folder removal) and must create the folder.
  const first = start(broken);
  await waitFor('the first publish to be live', async () => (await framesOut(broken)) > 0, 60000, 250);
  await first.stop();
  await waitFor('the first publish to end', async () => (await streamEntry(server.httpBase, broken)) === undefined, 20000);
  const folder = join(server.mediaRoot, 'live', `stream-${broken}`);
  rmSync(folder, { recursive: true, force: true });
  writeFileSync(folder, 'a regular file where the HLS folder must be\n');

  const from = server.logs.length;
  const healthyBefore = await framesOut(healthy);
  const second = start(broken);
  await waitFor('the failing publisher to be disconnected', () => hasExited(second) || server.child.exitCode !== null, 30000);
  assert.equal(server.child.exitCode, null, 'the server is still running');
  assert.equal(server.child.signalCode, null, 'the server is still running');
  await waitFor('the healthy stream to go on (2 s more frames)', async () => (await framesOut(healthy)) > healthyBefore + 50, 20000, 250);

  const errors = server.logs.slice(from).filter((l) => Number(l.level) >= PINO_ERROR);
  t.diagnostic(JSON.stringify(errors));
  assert.equal(errors.length, 1, 'one error line');
  assert.equal(errors[0].streamPath, `/live/${broken}`, 'it names the stream');
  assert.match(String(errors[0].err), new RegExp(`stream-${broken}`), 'it names the folder');
  assert.equal(await streamEntry(server.httpBase, broken), undefined, 'the failed stream is not listed');
  assert.equal((await fetch(`${server.httpBase}/healthz`)).status, 200);
});
