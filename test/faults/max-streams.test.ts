/**
 * `pipeline.maxStreams` (`--max-streams`): with that many publishers live, one more is refused
 * with a log line naming the limit and is counted in `/metrics`; the live streams go on untouched;
 * the place is free again once a publisher leaves.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerOnFreePorts, uniqueKey, apiStreams } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { publishHealthy, streamEntry } from '../helpers/fault-tools.ts';
import { scrapeMetrics } from '../ops/ops-helpers.ts';

const MAX_STREAMS = 2;
let server: ServerProcess;
const publishers = new Map<string, Publisher>();
const [first, second, third] = ['full-a', 'full-b', 'full-c'].map(uniqueKey);

function start(key: string): Publisher {
  const p = publishHealthy(server.rtmpBase, key);
  publishers.set(key, p);
  return p;
}

async function stop(key: string): Promise<void> {
  await publishers.get(key)?.stop();
  publishers.delete(key);
}

/** framesOut of each key's API entry (undefined: not listed). */
async function framesOut(keys: string[]): Promise<(number | undefined)[]> {
  return Promise.all(keys.map(async (k) => {
    const e = await streamEntry(server.httpBase, k);
    return e?.state === 'live' ? Number(e.stats.framesOut) : undefined;
  }));
}

/** scrape reads `/metrics` once; the returned function finds a sample's value by name and labels. */
async function scrape(): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const samples = await scrapeMetrics(server.httpBase);
  return (name, labels = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

const refusedTotal = async (reason: string) => (await scrape())('livematte_publishes_refused_total', { reason });

before(async () => {
  server = await startServerOnFreePorts(['--max-streams', String(MAX_STREAMS)]);
});

after(async () => {
  await Promise.all([...publishers.keys()].map(stop));
  await server?.stop();
});

test('a publisher beyond pipeline.maxStreams is refused and the live streams go on', { timeout: 90000 }, async (t) => {
  start(first);
  start(second);
  const live = await waitFor('both streams to be live', async () => {
    const out = await framesOut([first, second]);
    return out.every((n) => n !== undefined && n > 25) && out;
  }, 60000, 250);
  const metric = await scrape();
  assert.equal(metric('livematte_publishes_refused_total', { reason: 'server_full' }), 0, 'the series exists before any refusal');
  assert.equal(metric('livematte_max_streams'), MAX_STREAMS);
  assert.equal(metric('livematte_active_streams'), MAX_STREAMS);

  const from = server.logs.length;
  const extra = start(third);
  await waitFor('the third publisher to be disconnected', () => hasExited(extra), 20000);
  publishers.delete(third);
  const line = server.logs.slice(from).find((l) => String(l.msg).startsWith('publish refused'));
  assert.ok(line, 'a refusal is logged');
  t.diagnostic(String(line.msg));
  assert.equal(line.msg, `publish refused: server full: ${MAX_STREAMS} of ${MAX_STREAMS} streams are live (pipeline.maxStreams)`);
  assert.equal(line.reason, 'server_full');
  assert.equal(line.streamPath, `/live/${third}`);
  assert.equal(await refusedTotal('server_full'), 1);
  assert.deepEqual((await apiStreams(server.httpBase)).map((s) => s.key).sort(), [first, second].sort(), 'no third stream');

  // Both live streams keep producing frames, without a restart.
  await waitFor('both live streams to go on', async () => {
    const out = await framesOut([first, second]);
    return out.every((n, i) => n !== undefined && n > live[i]! + 50);
  }, 20000, 250);
  for (const key of [first, second]) assert.equal((await streamEntry(server.httpBase, key))?.stats.restarts, 0, key);
});

test('the place is free again once a publisher leaves', { timeout: 90000 }, async () => {
  await stop(first);
  await waitFor('the first stream to end', async () => (await streamEntry(server.httpBase, first)) === undefined, 20000, 250);
  start(third);
  await waitFor('the third stream to be live', async () => ((await framesOut([third]))[0] ?? 0) > 25, 60000, 250);
  assert.deepEqual((await apiStreams(server.httpBase)).map((s) => s.key).sort(), [second, third].sort());
  assert.equal(await refusedTotal('server_full'), 1, 'nothing else refused');
});
