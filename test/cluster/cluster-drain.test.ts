/**
 * The drain (server/cluster/node-drain.ts), with a real Redis, two real nodes and the shipped
 * nginx front (stream balancer, nginx-rtmp origin): a publisher reconnecting like OBS pushes
 * through the balancer. SIGTERM to its node: the node stops taking publishers (a publish that
 * still reaches it is refused as `draining`), releases the lease, disconnects the publisher, and
 * exits; the publisher lands on the other node, which takes the key at once (the lease, 10 s here,
 * is not waited for), and the output plays on at the origin under its name. Then a rolling
 * restart: the stopped node starts again on its ports, and the other is drained through
 * `POST /api/cluster/drain`, which leaves it up but not ready (`/healthz` 503) until SIGTERM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { uniqueKey } from '../helpers/e2e-media.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { parsePrometheusText, tcpOpen } from '../ops/ops-helpers.ts';
import {
  clusterPorts, clusterView, probeOrigin, publishPattern, reconnectingPublisher, startClusterNginx,
  type ClusterNginx, type ReconnectingPublisher,
} from './cluster-helpers.ts';
import { watchOrigin, type OriginWatch } from './origin-watch.ts';

// Long on purpose: a handover that waited for the lease to expire would take longer than this.
const LEASE_MS = 10_000;
const DRAIN_TIMEOUT_MS = 5000;
const ADMIN_TOKEN = 'drain-test-token';

/** RtmpClient is node-media-server's RTMP client (connect, createStream, publish), the part a test needs. */
interface RtmpClient {
  connect(url: string): Promise<void>;
  sendConnect(): Promise<unknown>;
  sendCreateStream(): Promise<number>;
  sendPublish(streamName: string): Promise<unknown>;
  disconnect(): void;
  onCloseCallback: (hadError: boolean) => void;
}
const RtmpClientClass = createRequire(import.meta.url)('node-media-server/src/protocol/rtmp_client.js') as new () => RtmpClient;

/**
 * PreparedPublisher is an RTMP publisher that connected to a node (handshake, connect,
 * createStream) and sends its `publish` only when told: one that reached the node just before
 * the drain closed the node's RTMP port and publishes while it drains.
 */
interface PreparedPublisher { publish(): void; closed: Promise<void>; close(): void }

async function preparedPublisher(rtmpPort: number, key: string): Promise<PreparedPublisher> {
  const client = new RtmpClientClass();
  const closed = new Promise<void>((resolve) => { client.onCloseCallback = () => resolve(); });
  await client.connect(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`);
  await client.sendConnect();
  await client.sendCreateStream();
  return {
    // Its answer does not matter: the node closes the connection when it refuses.
    publish: () => { client.sendPublish(key).catch(() => {}); },
    closed,
    close: () => client.disconnect(),
  };
}

async function refusals(node: ServerProcess, reason: string): Promise<number> {
  const { samples } = parsePrometheusText(await (await fetch(`${node.httpBase}/metrics`)).text());
  return samples.find((s) => s.name === 'livematte_publishes_refused_total' && s.labels.reason === reason)?.value ?? 0;
}

/** holderOf is the node id listing `key` in `node`'s cluster view (undefined: none), asserting at most one. */
async function holderOf(node: ServerProcess, key: string): Promise<string | undefined> {
  const ids = (await clusterView(node)).nodes.filter((n) => n.streams.some((s) => s.key === key && s.state === 'live')).map((n) => n.nodeId);
  assert.ok(ids.length <= 1, `${key} on one node at most: ${ids.join(', ')}`);
  return ids[0];
}

describe('cluster drain (SIGTERM and POST /api/cluster/drain; nginx balancer and origin, Redis, two nodes)', () => {
  let redis: RedisServer;
  let nginx: ClusterNginx;
  const nodes = new Map<string, ServerProcess>();
  const nodePorts = new Map<string, { rtmpPort: number; httpPort: number }>();
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let publisher: ReconnectingPublisher;
  let watch: OriginWatch;
  let env: Record<string, string>;
  const key = uniqueKey('drain');
  let firstDrainAt = 0;

  const startNode = async (nodeId: string, ports?: { rtmpPort: number; httpPort: number }) => {
    const args = ports ? ['--rtmp-port', String(ports.rtmpPort), '--http-port', String(ports.httpPort)] : [];
    const node = await startServer(args, { ...env, LIVEMATTE_NODE_ID: nodeId });
    nodes.set(nodeId, node);
    nodePorts.set(nodeId, { rtmpPort: node.rtmpPort, httpPort: node.httpPort });
    return node;
  };
  const holderNode = async () => {
    const id = await waitFor(`${key} live on one node`, () => holderOf(nodes.values().next().value!, key), 60_000, 100);
    return { id, node: nodes.get(id)! };
  };
  /** exitOf resolves with a node process's exit code and when it exited (Date.now()). */
  const exitOf = (node: ServerProcess) => new Promise<{ code: number | null; at: number }>((resolve) => {
    if (node.child.exitCode !== null) resolve({ code: node.child.exitCode, at: Date.now() });
    else node.child.once('exit', (code) => resolve({ code, at: Date.now() }));
  });

  before(async () => {
    redis = await startRedis();
    const ports = await clusterPorts();
    env = {
      LIVEMATTE_CLUSTER_ENABLED: 'true', LIVEMATTE_CLUSTER_REDIS_URL: redis.url, LIVEMATTE_CLUSTER_LEASE_TTL_MS: String(LEASE_MS),
      LIVEMATTE_CLUSTER_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS), LIVEMATTE_CLUSTER_ORIGIN_RTMP_URL: `rtmp://127.0.0.1:${ports.origin}/live`,
      LIVEMATTE_ENCODER_KEYFRAME_INTERVAL_MS: '1000', LIVEMATTE_INFERENCE_WORKERS: '1', LIVEMATTE_AUTH_ADMIN_TOKEN: ADMIN_TOKEN,
    };
    // startNode keeps each node as it starts, so that after() stops it even if the other fails to start.
    const started = await Promise.all([startNode('d1'), startNode('d2')]);
    nginx = await startClusterNginx(ports, started);
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await publisher?.stop();
    await watch?.stop();
    for (const n of nodes.values()) await n.stop();
    await nginx?.stop();
    await redis?.stop();
  });

  it('SIGTERM: the node refuses publishes as draining, hands its stream to the other node at once, and exits', async (t) => {
    publisher = reconnectingPublisher(() => publishPattern(`${nginx.ingestBase}/${key}?bg=none`));
    const { id: holderId, node: holder } = await holderNode();
    const other = [...nodes.values()].find((n) => n !== holder)!;
    await waitFor(`stream-${key} at the origin`, async () => (await probeOrigin(`${nginx.originBase}/stream-${key}`)) === 320, 30_000, 100);
    watch = watchOrigin(`${nginx.originBase}/stream-${key}`);
    await waitFor('the origin watcher receiving packets', () => watch.packets.length > 25, 15_000, 50);

    // A publisher of another key that reached the holder just before the drain.
    const lateKey = uniqueKey('late');
    const late = await preparedPublisher(holder.rtmpPort, lateKey);
    cleanups.push(() => late.close());

    const exited = exitOf(holder);
    const exitsBefore = publisher.exits.length;
    const termAt = Date.now();
    firstDrainAt = termAt;
    holder.child.kill('SIGTERM');
    await holder.waitForLog((l) => l.msg === 'draining: no new publishers; handing the streams to the other nodes', 5000);
    late.publish();
    const refused = await holder.waitForLog((l) => l.reason === 'draining' && String(l.msg).startsWith('publish refused: this node is draining'), 5000);
    assert.equal(refused.streamPath, `/live/${lateKey}`);
    await late.closed;

    const resumed = await watch.resumedAfter(termAt, 20_000);
    const { code, at: exitAt } = await exited;
    nodes.delete(holderId);
    assert.equal(code, 0, 'the drained node exits cleanly');
    assert.ok(exitAt - termAt < DRAIN_TIMEOUT_MS + 3000, `exited ${exitAt - termAt} ms after SIGTERM`);
    const drained = await holder.waitForLog((l) => l.msg === 'drained', 1000);
    assert.deepEqual(drained.handedOver, [key]);
    assert.equal(drained.remaining, 0);
    const otherId = [...nodes.keys()][0]!;
    await waitFor(`${otherId} listed as ${key}'s holder`, async () => (await holderOf(other, key)) === otherId, LEASE_MS, 100);
    const publisherExit = publisher.exits[exitsBefore]! - termAt;
    const taken = other.logs.find((l) => l.msg === 'stream started' && l.streamPath === `/live/${key}` && Number(l.time) >= termAt);
    assert.ok(taken, 'the stream started on the other node after the SIGTERM');
    assert.equal(other.logs.filter((l) => l.reason === 'key_elsewhere' && Number(l.time) >= termAt).length, 0, 'no key_elsewhere refusal: the lease was released');
    t.diagnostic(`SIGTERM to ${holderId}: publisher disconnected after ${publisherExit} ms, stream started on the other node after ${Number(taken.time) - termAt} ms, `
      + `first packet at the origin after ${resumed.at - termAt} ms (gap ${resumed.gapMs} ms), first keyframe after ${resumed.keyAt - termAt} ms; `
      + `the node drained in ${String(drained.durationMs)} ms and exited after ${exitAt - termAt} ms (lease ${LEASE_MS} ms)`);
    assert.ok(resumed.keyAt - termAt < LEASE_MS / 2, `back at the origin ${resumed.keyAt - termAt} ms after SIGTERM, not after the lease (${LEASE_MS} ms)`);
  });

  it('POST /api/cluster/drain (rolling restart): the stream moves back; the node stays up, not ready and refusing, until SIGTERM', async (t) => {
    // The node stopped above starts again on its ports, so the balancer's list stays as it was.
    const stoppedId = ['d1', 'd2'].find((id) => !nodes.has(id))!;
    const [drainingId, draining] = [...nodes.entries()][0]!;
    const restarted = await startNode(stoppedId, nodePorts.get(stoppedId));
    // nginx skips a node for fail_timeout (10 s) after its port refused a connection (during the
    // drain above): a rolling restart waits that out before it drains the next node.
    await waitFor('nginx\'s fail_timeout since the first drain', () => Date.now() - firstDrainAt > 10_500, 15_000, 100);
    assert.equal(restarted.rtmpPort, nodePorts.get(stoppedId)!.rtmpPort);
    assert.equal(await holderOf(restarted, key), drainingId);
    assert.equal((await fetch(`${draining.httpBase}/healthz`)).status, 200);

    const denied = await fetch(`${draining.httpBase}/api/cluster/drain`, { method: 'POST' });
    assert.equal(denied.status, 401, 'draining needs the admin token');
    const lateKey = uniqueKey('late');
    const late = await preparedPublisher(draining.rtmpPort, lateKey);
    cleanups.push(() => late.close());

    const askedAt = Date.now();
    const res = await fetch(`${draining.httpBase}/api/cluster/drain`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    const answer = await res.json() as { nodeId: string; handedOver: string[]; remaining: number; durationMs: number };
    assert.deepEqual({ ...answer, durationMs: 0 }, { nodeId: drainingId, handedOver: [key], remaining: 0, durationMs: 0 });
    const resumed = await watch.resumedAfter(askedAt, 20_000);
    // The new holder lists the key from its next record renewal (a third of the lease); the drained node's record has dropped it at once.
    await waitFor(`${key} on ${stoppedId}`, async () => (await holderOf(restarted, key)) === stoppedId, LEASE_MS, 100);

    // Up, idle, not ready, taking no publisher.
    const health = await fetch(`${draining.httpBase}/healthz`);
    assert.equal(health.status, 503);
    assert.equal((await health.json() as { status: string }).status, 'draining');
    assert.equal(await tcpOpen(draining.rtmpPort), false, 'the RTMP port is closed: the balancer sends publishers elsewhere');
    late.publish();
    const refused = await draining.waitForLog((l) => l.reason === 'draining' && l.streamPath === `/live/${lateKey}`, 10_000);
    assert.match(String(refused.msg), /^publish refused: this node is draining/);
    await late.closed;
    assert.equal(await refusals(draining, 'draining'), 1);
    // WHIP too: no offer is answered (no session, no sockets), the publisher is told to go elsewhere.
    const whip = await fetch(`${draining.httpBase}/whip/live/${uniqueKey('whip')}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(whip.status, 503);
    assert.equal((await whip.json() as { error: string }).error, 'ERR_DRAINING');
    assert.equal(await refusals(draining, 'draining'), 2);
    await waitFor('the node shown draining in the cluster view', async () => (await clusterView(restarted)).nodes.find((n) => n.nodeId === drainingId)?.draining === true, LEASE_MS, 200);
    const again = await fetch(`${draining.httpBase}/api/cluster/drain`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.deepEqual((await again.json() as { handedOver: string[] }).handedOver, [key], 'a second call answers the same');

    const exited = exitOf(draining);
    const termAt = Date.now();
    draining.child.kill('SIGTERM');
    const { code, at } = await exited;
    nodes.delete(drainingId);
    assert.equal(code, 0);
    assert.ok(at - termAt < 3000, `a drained node stops ${at - termAt} ms after SIGTERM`);
    t.diagnostic(`drained ${drainingId} through the API in ${answer.durationMs} ms; ${key} back at the origin from ${stoppedId} after ${resumed.at - askedAt} ms `
      + `(first keyframe ${resumed.keyAt - askedAt} ms); SIGTERM then stopped it in ${at - termAt} ms`);
  });
});
