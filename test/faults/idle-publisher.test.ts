/**
 * Issue #19, item 3: a publisher that sends nothing for `rtmp.idlePublisherTimeoutMs` (here 2 s; a
 * real ffmpeg frozen with SIGSTOP) is dropped: the stream leaves the API, its playlist ends, and a
 * new publisher of the same key is accepted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerOnFreePorts, uniqueKey, parsePlaylist } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { publishHealthy, streamEntry } from '../helpers/fault-tools.ts';

const IDLE_MS = 2000;
let server: ServerProcess;
const publishers: Publisher[] = [];
const key = uniqueKey('stall');
let frozen: Publisher | undefined;

function start(): Publisher {
  const p = publishHealthy(server.rtmpBase, key);
  publishers.push(p);
  return p;
}

before(async () => {
  server = await startServerOnFreePorts([], { LIVEMATTE_RTMP_IDLE_PUBLISHER_TIMEOUT_MS: String(IDLE_MS) });
});

after(async () => {
  if (frozen?.child.pid && !hasExited(frozen)) process.kill(frozen.child.pid, 'SIGCONT');
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

test('a publisher frozen with SIGSTOP is dropped, its playlist ends and its key is free again', { timeout: 120000 }, async (t) => {
  frozen = start();
  await waitFor('the stream to be live', async () => Number((await streamEntry(server.httpBase, key))?.stats.framesOut) > 25, 60000, 250);
  process.kill(frozen.child.pid!, 'SIGSTOP');
  const stoppedAt = Date.now();
  await waitFor('the stream to leave /api/streams', async () => (await streamEntry(server.httpBase, key)) === undefined, 20000, 100);
  const goneMs = Date.now() - stoppedAt;
  t.diagnostic(`gone ${goneMs} ms after SIGSTOP (timeout ${IDLE_MS} ms)`);
  assert.ok(goneMs >= IDLE_MS - 200, 'not dropped before the timeout');
  const line = server.logs.find((l) => String(l.msg).startsWith('publisher dropped'));
  assert.ok(line, 'the drop is logged');
  assert.equal(line.streamPath, `/live/${key}`);
  const playlist = join(server.mediaRoot, 'live', `stream-${key}`, 'index.m3u8');
  await waitFor('the playlist to end', () => parsePlaylist(readFileSync(playlist, 'utf8')).ended, 10000);

  const again = start();
  await waitFor('a new publisher of the same key to be live', async () => {
    assert.ok(!hasExited(again), `the new publisher was refused: ${again.stderr()}`);
    const e = await streamEntry(server.httpBase, key);
    return e?.state === 'live' && Number(e.stats.framesOut) > 25;
  }, 60000, 250);
});
