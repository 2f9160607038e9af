/**
 * Issue #24, failover: "the dead node's open events are closed". Two real nodes on loopback share
 * a real Redis (leases, node records) and a real PostgreSQL (events). A real ffmpeg publishes
 * sister.mkv (one face in view the whole clip, looped) with `?background=off&faces=detect` to
 * node-a, and again.mkv the same way to node-b. Both face events are open in PostgreSQL; node-a is
 * killed with -9; node-b's sweeper must end node-a's event as `node_lost` at its last sighting
 * (told on node-b's live feed and counted in its metrics) within a few lease TTLs, and leave its
 * own stream's events alone. The test reports the delay from the kill.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { parsePrometheusText } from '../ops/ops-helpers.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';
import { connectSse, type SseClient } from '../server/events/sse-client.ts';
import { clusterView } from './cluster-helpers.ts';

const LEASE_MS = 1500;
/** The sweeper closes a node missed at two sweeps in a row, one TTL apart, after its record expired (one TTL). */
const CLOSE_WITHIN_MS = 4 * LEASE_MS + 2000;

interface ApiEvent { id: string; streamKey: string; kind: string; endMs: number | null; endReason: string | null; lastSeenMs: number }

async function metric(node: ServerProcess, name: string): Promise<number | undefined> {
  const { samples } = parsePrometheusText(await (await fetch(`${node.httpBase}/metrics`)).text());
  return samples.find((s) => s.name === name)?.value;
}

async function eventsOf(node: ServerProcess, key: string): Promise<ApiEvent[]> {
  const res = await fetch(`${node.httpBase}/api/events?stream=${key}&limit=100`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { events: ApiEvent[] }).events;
}

describe('a dead node\'s open events (real Redis, PostgreSQL and two servers on loopback)', { skip: mediaSkip }, () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  let a: ServerProcess;
  let b: ServerProcess;
  let live: SseClient | undefined;
  const publishers: Publisher[] = [];
  const keyA = uniqueKey('dead-a');
  const keyB = uniqueKey('dead-b');

  const startNode = async (nodeId: string, db: string) => startServer([], {
    LIVEMATTE_NODE_ID: nodeId, LIVEMATTE_CLUSTER_ENABLED: 'true', LIVEMATTE_CLUSTER_REDIS_URL: redis.url,
    LIVEMATTE_CLUSTER_LEASE_TTL_MS: String(LEASE_MS), LIVEMATTE_INFERENCE_WORKERS: '1',
    LIVEMATTE_EVENTS_STORE: 'postgres', LIVEMATTE_EVENTS_POSTGRES_URL: db, LIVEMATTE_LOG_LEVEL: 'info',
  });
  const faces = (node: ServerProcess, key: string, clip: string) => {
    const p = publish(`${node.rtmpBase}/${key}?background=off&faces=detect`, ['-stream_loop', '-1', '-i', mediaFile(clip)], ['-c', 'copy']);
    publishers.push(p);
    return p;
  };

  before(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const db = await postgres.createDatabase('dead_node');
    [a, b] = await Promise.all([startNode('node-a', db), startNode('node-b', db)]);
    live = await connectSse(`${b.httpBase}/api/events/live`);
  });
  after(async () => {
    live?.close();
    await Promise.all(publishers.map((p) => p.stop()));
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await postgres?.stop();
  });

  it('after kill -9 of node-a, node-b closes node-a\'s open face event as node_lost, and not its own', { timeout: 120_000 }, async (t) => {
    faces(a, keyA, 'sister.mkv');
    faces(b, keyB, 'again.mkv');
    const openOn = async (key: string) => (await eventsOf(b, key)).find((e) => e.kind === 'face' && e.endMs === null);
    const [ofA, ofB] = [
      await waitFor('node-a\'s face event open in PostgreSQL', () => openOn(keyA), 60_000, 200),
      await waitFor('node-b\'s face event open in PostgreSQL', () => openOn(keyB), 60_000, 200),
    ];
    await waitFor('both nodes in the cluster view', async () => (await clusterView(b)).nodes.length === 2, 10_000, 100);
    assert.equal(await metric(b, 'livematte_events_node_lost_total'), 0);

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => a.child.once('exit', r));
    const closed = await waitFor('node-a\'s event ended on node-b', async () => {
      const e = (await eventsOf(b, keyA)).find((x) => x.id === ofA.id);
      return e?.endMs !== null && e;
    }, CLOSE_WITHIN_MS + 5000, 100);
    const tookMs = Date.now() - killedAt;
    const goneAt = await waitFor('node-a gone from the cluster view', async () => !(await clusterView(b)).nodes.some((n) => n.nodeId === 'node-a') && Date.now(), 10_000, 100);
    t.diagnostic(`node-a's open event ended as ${closed!.endReason} ${tookMs} ms after the kill (lease ${LEASE_MS} ms; node-a seen gone from the view by ${goneAt - killedAt} ms)`);
    assert.equal(closed!.endReason, 'node_lost');
    assert.equal(closed!.endMs, closed!.lastSeenMs, 'ended at its last sighting');
    assert.ok(closed!.lastSeenMs <= killedAt, 'that sighting was before the kill');
    assert.ok(tookMs < CLOSE_WITHIN_MS, `closed ${tookMs} ms after the kill`);

    const end = await live!.next((m) => m.event === 'end' && (m.data as ApiEvent).id === ofA.id, 5000);
    assert.equal((end.data as ApiEvent).endReason, 'node_lost', 'told on node-b\'s live feed');
    const nodeA = (await eventsOf(b, keyA)).filter((e) => e.endReason === 'node_lost');
    assert.equal(await metric(b, 'livematte_events_node_lost_total'), nodeA.length, 'each closed event counted once');
    const logged = await b.waitForLog((l) => l.msg === 'closed the open events of a node gone from the cluster (node_lost)', 5000);
    assert.equal(logged.node, 'node-a');
    assert.equal(logged.events, nodeA.length);

    const own = await eventsOf(b, keyB);
    assert.ok(own.some((e) => e.id === ofB.id), 'node-b\'s own event is there');
    assert.ok(own.every((e) => e.endReason !== 'node_lost'), `node-b's own events: ${own.map((e) => e.endReason).join()}`);
    assert.ok(own.some((e) => e.endMs === null), 'node-b\'s stream still has an open event');
    assert.ok((await eventsOf(b, keyA)).every((e) => e.endMs !== null), 'no event of node-a left open');
  });
});
