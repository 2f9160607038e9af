/**
 * Issue #5, access: with `--publish-secret`, publishers need `?token=<secret>`; nobody outside the
 * server can publish a processed output name (`live/stream-<key>`), neither beside the real output
 * nor before it exists, and the real output is unaffected by the attempts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerOnFreePorts, uniqueKey, apiStreams } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { streamEntry } from '../helpers/fault-tools.ts';
import { scrapeMetrics } from '../ops/ops-helpers.ts';
import { PUBLISH_REFUSAL_REASONS } from '../../server/ingest/stream-registry.ts';

let server: ServerProcess;
const publishers = new Set<Publisher>();
const key = uniqueKey('auth');

const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p'];

function start(path: string, size = '320x240'): Publisher {
  const p = publish(`${server.rtmpBase}/${path}`, ['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=25`], ENCODE);
  publishers.add(p);
  return p;
}

/** refused starts a publisher, waits for it to be disconnected and returns the refusal line. */
async function refused(path: string, size = '160x120'): Promise<Record<string, unknown>> {
  const from = server.logs.length;
  const p = start(path, size);
  await waitFor(`the publisher of '${path}' to be disconnected`, () => hasExited(p), 20000);
  publishers.delete(p);
  const line = server.logs.slice(from).find((l) => String(l.msg).startsWith('publish refused'));
  assert.ok(line, `no refusal logged for '${path}'`);
  return line;
}

before(async () => {
  server = await startServerOnFreePorts(['--publish-secret', 's3cret']);
});

after(async () => {
  await Promise.all([...publishers].map((p) => p.stop()));
  await server?.stop();
});

test('publishing without a token or with a wrong one is refused', { timeout: 60000 }, async (t) => {
  for (const path of [key, `${key}?token=wrong`, `${key}?token=s3cret0`, `${key}?token=`]) {
    const line = await refused(path);
    t.diagnostic(`${path}: ${line.msg}`);
    assert.equal(line.msg, 'publish refused: missing or wrong token');
    assert.equal(line.streamPath, `/live/${key}`);
  }
  assert.deepEqual(await apiStreams(server.httpBase), [], 'nothing started');
});

test('publishing with ?token=s3cret is accepted and processed', { timeout: 90000 }, async (t) => {
  const started = Date.now();
  const p = start(`${key}?token=s3cret&bg=none`);
  await waitFor('the stream to be live', async () => {
    assert.ok(!hasExited(p), `publisher exited: ${p.stderr()}`);
    const e = await streamEntry(server.httpBase, key);
    return e?.state === 'live' && Number(e.stats.framesOut) > 25;
  }, 60000, 250);
  t.diagnostic(`live ${Date.now() - started} ms after publishing`);
  const leaks = server.logs.filter((l) => JSON.stringify(l).includes('s3cret'));
  assert.deepEqual(leaks, [], 'the publish secret never appears in the logs');
});

test('nobody outside the server can publish live/stream-<key>, even with the secret', { timeout: 120000 }, async (t) => {
  const before = await streamEntry(server.httpBase, key);
  assert.ok(before, 'needs the previous test\'s stream');
  const attempts = [`stream-${key}`, `stream-${key}?token=s3cret`, `stream-${uniqueKey('absent')}?token=s3cret`];
  for (const path of attempts) {
    const line = await refused(path);
    t.diagnostic(`${path}: ${line.msg}`);
    assert.equal(line.msg, 'publish refused: processed outputs are published by the server only');
  }
  // The real output: still the 320x240 processed stream (the spoofs were 160x120), still moving.
  const after = await waitFor('the real output to keep moving', async () => {
    const e = await streamEntry(server.httpBase, key);
    return e && Number(e.stats.framesOut) > Number(before.stats.framesOut) + 50 && e;
  }, 20000, 250);
  assert.equal(after.stats.restarts, 0, 'the real stream did not restart');
  const out = await probe(`${server.rtmpBase}/stream-${key}`, 15000);
  const video = out.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([video?.width, video?.height], [320, 240], 'live/stream-<key> is still the real processed output');
  assert.deepEqual((await apiStreams(server.httpBase)).map((s) => s.key), [key], 'no extra stream');
});

test('/metrics counts the refusals by reason', async () => {
  const samples = await scrapeMetrics(server.httpBase);
  const refused = Object.fromEntries(samples.filter((s) => s.name === 'livematte_publishes_refused_total').map((s) => [s.labels.reason, s.value]));
  // Every reason is exported, at 0 unless refused here.
  assert.deepEqual(refused, { ...Object.fromEntries(PUBLISH_REFUSAL_REASONS.map((r) => [r, 0])), output_name: 3, token: 4 });
});
