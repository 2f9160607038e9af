/**
 * Issue #19, item 9: bursts of HTTP requests. A real ffmpeg publishes a 640x360 30 fps stream with
 * the background plugin (colour); 10 rounds of 500 concurrent reads (`/api/streams`, the plugin
 * routes, `/healthz`) hit the server. API requests over the per-client rate limit are answered 429
 * at once with `retry-after`, `/healthz` is never limited, and the stream stays live. The frames
 * the stream dropped meanwhile are reported (on a busy 2-core machine, with the 500 clients on the
 * same cores, a burst still costs a few frames: the item stays open until they are 0).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { streamEntry } from '../helpers/fault-tools.ts';

const ROUNDS = 10;
const CONCURRENT = 500;
let server: ServerProcess;
let publisher: Publisher | undefined;
const key = uniqueKey('burst');

before(async () => {
  server = await startServerOnFreePorts();
});

after(async () => {
  await publisher?.stop();
  await server?.stop();
});

test(`${ROUNDS} rounds of ${CONCURRENT} concurrent requests: API excess answered 429, health never limited, the stream goes on`, { timeout: 180000 }, async (t) => {
  publisher = publish(`${server.rtmpBase}/${key}?bg=color`, ['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30'],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p']);
  // steady first: past the start-up frames the encoder may skip
  await waitFor('the stream to run steadily', async () => Number((await streamEntry(server.httpBase, key))?.stats.framesOut) > 150, 60000, 250);
  const before = (await streamEntry(server.httpBase, key))!.stats;
  const statuses = new Map<number, number>();
  const paths = ['/api/streams', '/healthz', `/api/streams/${key}/plugins/background`, '/api/plugins'];
  const healthStatuses = new Set<number>();
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
      const res = await fetch(`${server.httpBase}${paths[i % paths.length]}`);
      await res.arrayBuffer();
      if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) >= 1, '429 says when to come back');
      if (paths[i % paths.length] === '/healthz') healthStatuses.add(res.status);
      return res.status;
    }));
    for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }
  const burstMs = Date.now() - started;
  // the frames of the burst's last moments reach the stats a moment later
  const after = await waitFor('frames after the bursts', async () => {
    const s = (await streamEntry(server.httpBase, key))?.stats;
    return s && Number(s.framesOut) > Number(before.framesOut) + 30 * (burstMs / 1000) * 0.9 && s;
  }, 30000, 250);
  const dropped = Number(after.droppedFrames) - Number(before.droppedFrames);
  const skipped = Number(after.decoderSkippedTags) - Number(before.decoderSkippedTags);
  t.diagnostic(`bursts took ${burstMs} ms; answers ${JSON.stringify(Object.fromEntries(statuses))}; dropped ${dropped}, decoder skipped ${skipped}, frames out ${Number(after.framesOut) - Number(before.framesOut)}`);
  assert.equal([...statuses.keys()].filter((s) => s !== 200 && s !== 429).length, 0, 'every answer is 200 or 429');
  assert.ok((statuses.get(200) ?? 0) > 0);
  assert.ok((statuses.get(429) ?? 0) > 0, 'the bursts exceed the default limit (50 API requests per second per client)');
  assert.deepEqual([...healthStatuses], [200], '/healthz is never rate limited');
  assert.equal((await streamEntry(server.httpBase, key))!.state, 'live');
});
