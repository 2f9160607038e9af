/**
 * Two real server nodes on loopback sharing a real Redis (the leases) and a real PostgreSQL (the
 * events): a key live on one node is refused on the other (key_elsewhere) and both see it in
 * GET /api/cluster; after kill -9 of the holder, a publisher reconnecting in a loop to the other
 * node is processed there once the dead node's lease expires; with Redis down the running stream
 * goes on, a new publish is refused as registry_unavailable, and it is taken once Redis is back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, probe } from '../helpers/ffmpeg-tools.ts';
import { clusterView, reconnectingPublisher, type ClusterView } from './cluster-helpers.ts';
import { publishHealthy, streamEntry, StatsWatcher } from '../helpers/fault-tools.ts';
import { uniqueKey } from '../helpers/e2e-media.ts';
import { parsePrometheusText } from '../ops/ops-helpers.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';

const LEASE_MS = 1500;

async function refusals(node: ServerProcess, reason: string): Promise<number> {
  const { samples } = parsePrometheusText(await (await fetch(`${node.httpBase}/metrics`)).text());
  return samples.find((s) => s.name === 'livematte_publishes_refused_total' && s.labels.reason === reason)?.value ?? 0;
}

describe('a cluster of two nodes (real Redis, PostgreSQL and servers on loopback)', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  const nodes: Record<string, ServerProcess> = {};
  const stoppers: (() => Promise<unknown>)[] = [];
  const key = uniqueKey('cl');

  const startNode = async (nodeId: string, env: Record<string, string>) => {
    nodes[nodeId] = await startServer([], {
      LIVEMATTE_NODE_ID: nodeId, LIVEMATTE_CLUSTER_ENABLED: 'true', LIVEMATTE_CLUSTER_REDIS_URL: redis.url,
      LIVEMATTE_CLUSTER_LEASE_TTL_MS: String(LEASE_MS), LIVEMATTE_INFERENCE_WORKERS: '1', ...env,
    });
    return nodes[nodeId]!;
  };

  before(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const env = { LIVEMATTE_EVENTS_STORE: 'postgres', LIVEMATTE_EVENTS_POSTGRES_URL: await postgres.createDatabase('cluster') };
    await Promise.all([startNode('node-a', env), startNode('node-b', env)]);
  });
  after(async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    for (const n of Object.values(nodes)) await n.stop();
    await redis?.stop();
    await postgres?.stop();
  });

  it('processes a key on one node only: the other refuses it as key_elsewhere, and both list it in the cluster view', async () => {
    const a = nodes['node-a']!;
    const b = nodes['node-b']!;
    const first = publishHealthy(a.rtmpBase, key);
    stoppers.push(() => first.stop());
    await waitFor('the stream live on node-a', async () => (await streamEntry(a.httpBase, key))?.state === 'live', 30_000);
    const second = publishHealthy(b.rtmpBase, key);
    stoppers.push(() => second.stop());
    const refused = await b.waitForLog((l) => l.msg === 'publish refused: stream key is being processed by node node-a' && l.reason === 'key_elsewhere', 20_000);
    assert.equal(refused.streamPath, `/live/${key}`);
    await waitFor('the refused publisher disconnected', () => hasExited(second), 10_000);
    assert.equal(await streamEntry(b.httpBase, key), undefined);
    assert.equal(await refusals(b, 'key_elsewhere'), 1);
    await waitFor('both nodes in the cluster view of either', async () => {
      const [va, vb] = [await clusterView(a), await clusterView(b)];
      const ok = (v: ClusterView) => v.nodes.map((n) => n.nodeId).join() === 'node-a,node-b'
        && v.nodes[0]!.streams.map((s) => s.key).join() === key && v.nodes[1]!.streams.length === 0 && v.streams === 1;
      return ok(va) && ok(vb) && va.nodeId === 'node-a' && vb.nodeId === 'node-b';
    }, 10_000, 100);
    const view = await clusterView(b);
    assert.equal(view.nodes[0]!.httpUrl, a.httpBase, 'the node advertises where its API is');
  });

  it('after kill -9 of the holder, the key is processed by the other node once the lease expires', async (t) => {
    const a = nodes['node-a']!;
    const b = nodes['node-b']!;
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => a.child.once('exit', r));
    // The publisher follows (as through a balancer that marks node-a down): reconnects to node-b.
    const follower = reconnectingPublisher(() => publishHealthy(b.rtmpBase, key));
    stoppers.push(() => follower.stop());
    await waitFor('the stream live on node-b', async () => (await streamEntry(b.httpBase, key))?.state === 'live', 30_000, 100);
    const tookMs = Date.now() - killedAt;
    t.diagnostic(`live on node-b ${tookMs} ms after the kill (lease ${LEASE_MS} ms, ${follower.attempts} publish attempts)`);
    const streams = (await probe(`${b.rtmpBase}/stream-${key}`)).streams;
    assert.ok(streams.some((s) => s.codec_type === 'video' && s.width === 320), JSON.stringify(streams));
    // Lease expiry plus a stream start (decoder, first frame, encoder) on a shared 2-core machine.
    assert.ok(tookMs < LEASE_MS + 8000, `live on node-b ${tookMs} ms after the kill`);
    await waitFor('node-a gone from the cluster view', async () => (await clusterView(b)).nodes.map((n) => n.nodeId).join() === 'node-b', 10_000, 100);
  });

  it('with Redis down the running stream goes on, a new key is refused as registry_unavailable, and is taken once Redis is back', async (t) => {
    const b = nodes['node-b']!;
    const watcher = new StatsWatcher(b.httpBase, key, 250);
    stoppers.push(async () => watcher.close());
    await waitFor('samples of the running stream', () => watcher.points.length >= 2, 10_000, 100);
    await redis.stop();
    const downAt = watcher.mark();
    const other = uniqueKey('cl2');
    const refusedBefore = await refusals(b, 'registry_unavailable');
    const late = publishHealthy(b.rtmpBase, other);
    stoppers.push(() => late.stop());
    const refused = await b.waitForLog((l) => l.reason === 'registry_unavailable' && l.streamPath === `/live/${other}`, 20_000);
    assert.match(String(refused.msg), /^publish refused: the cluster registry \(Redis\) does not answer/);
    assert.equal(await refusals(b, 'registry_unavailable'), refusedBefore + 1);
    await waitFor('2 s of outage', () => Date.now() - downAt > 2000, 5000, 100);
    const during = watcher.window(downAt);
    t.diagnostic(`during the outage: ${during.framesOut} frames out in ${during.seconds.toFixed(1)} s, lowest API fps ${during.minApiFps}`);
    assert.ok(during.framesOut >= during.seconds * 15, `${during.framesOut} frames out in ${during.seconds} s of outage`);
    await redis.start();
    const retry = reconnectingPublisher(() => publishHealthy(b.rtmpBase, other));
    stoppers.push(() => retry.stop());
    await waitFor('the new key live once Redis is back', async () => (await streamEntry(b.httpBase, other))?.state === 'live', 30_000, 100);
    assert.equal((await streamEntry(b.httpBase, key))?.state, 'live', 'the running stream never stopped');
  });
});
