/**
 * The cluster as the docs draw it (docs/scaling.md): nginx (the shipped nginx/cluster/cluster.conf:
 * stream-module balancer, nginx-rtmp origin with HLS), Redis (leases), PostgreSQL (events) and
 * three real nodes, all on loopback. Four publishers, reconnecting like OBS, push through the
 * balancer; every output plays at the origin. The node with the most streams is killed (-9): its
 * publishers reconnect through the balancer to the live nodes, the leases expire, and every output
 * plays at the origin again under the same name, its HLS playlist going on; no key is processed
 * twice, the API of a surviving node sees every stream, and the events written before the kill are
 * still in PostgreSQL. With the lease at 2 s and a 1 s GOP (docs/scaling.md), every moved output is
 * back at the origin within 5 s of the kill, timed by a player that stays on each output
 * (origin-watch.ts) to its first keyframe after the gap; the test prints where the time went.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { probe, publish } from '../helpers/ffmpeg-tools.ts';
import { mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';
import { watchOrigin, type OriginWatch } from './origin-watch.ts';
import {
  clusterPorts, clusterView, probeOrigin, publishPattern, reconnectingPublisher, startClusterNginx,
  type ClusterNginx, type ClusterView, type ReconnectingPublisher,
} from './cluster-helpers.ts';

const LEASE_MS = 2000;
/** The bound: every moved output plays at the origin again within this long of the kill. */
const FAILOVER_BOUND_MS = 5000;

/** holders maps each listed key to the nodes that list it. */
function holders(view: ClusterView): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of view.nodes) for (const s of n.streams) out.set(s.key, [...(out.get(s.key) ?? []), n.nodeId]);
  return out;
}

/** originPlays resolves once the origin serves `key`'s output with video of `width`. */
async function originPlays(originBase: string, key: string, width: number, timeoutMs: number): Promise<void> {
  await waitFor(`stream-${key} at the origin`, async () => (await probeOrigin(`${originBase}/stream-${key}`)) === width, timeoutMs, 100);
}

describe('cluster failover (nginx balancer and origin, Redis, PostgreSQL, three nodes on loopback)', { skip: mediaSkip }, () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  let nginx: ClusterNginx;
  const nodes = new Map<string, ServerProcess>();
  const publishers = new Map<string, ReconnectingPublisher>();
  const watches: OriginWatch[] = [];
  const faceKey = uniqueKey('face');
  const keys = [faceKey, uniqueKey('a'), uniqueKey('b'), uniqueKey('c')];
  const widths = new Map(keys.map((k) => [k, 320]));

  before(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const ports = await clusterPorts();
    const env = {
      LIVEMATTE_CLUSTER_ENABLED: 'true', LIVEMATTE_CLUSTER_REDIS_URL: redis.url, LIVEMATTE_CLUSTER_LEASE_TTL_MS: String(LEASE_MS),
      LIVEMATTE_CLUSTER_ORIGIN_RTMP_URL: `rtmp://127.0.0.1:${ports.origin}/live`,
      LIVEMATTE_EVENTS_STORE: 'postgres', LIVEMATTE_EVENTS_POSTGRES_URL: await postgres.createDatabase('cluster'),
      LIVEMATTE_EVENTS_FLUSH_INTERVAL_MS: '100', LIVEMATTE_INFERENCE_WORKERS: '1', LIVEMATTE_ENCODER_KEYFRAME_INTERVAL_MS: '1000',
    };
    // Each node is kept as it starts, so that after() stops it even if another fails to start.
    await Promise.all(['n1', 'n2', 'n3'].map(async (id) => { nodes.set(id, await startServer([], { ...env, LIVEMATTE_NODE_ID: id })); }));
    nginx = await startClusterNginx(ports, ['n1', 'n2', 'n3'].map((id) => nodes.get(id)!));
  });
  after(async () => {
    await Promise.all([...publishers.values()].map((p) => p.stop()));
    await Promise.all(watches.map((w) => w.stop()));
    for (const n of nodes.values()) await n.stop();
    await nginx?.stop();
    await redis?.stop();
    await postgres?.stop();
  });

  it('spreads four publishers over the nodes through the balancer; every output plays at the origin', async () => {
    // One stream with a face (events), three test patterns; all through the one ingest address.
    publishers.set(faceKey, reconnectingPublisher(() => publish(`${nginx.ingestBase}/${faceKey}?bg=none&faces=detect`,
      ['-stream_loop', '-1', '-i', mediaFile('sister.mkv')],
      ['-vf', 'scale=320:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-an'])));
    for (const key of keys.slice(1)) publishers.set(key, reconnectingPublisher(() => publishPattern(`${nginx.ingestBase}/${key}?bg=none`)));
    const any = nodes.get('n1')!;
    const view = await waitFor('every key live on one node', async () => {
      const v = await clusterView(any);
      const h = holders(v);
      const live = v.nodes.flatMap((n) => n.streams).filter((s) => s.state === 'live').length;
      return keys.every((k) => h.get(k)?.length === 1) && live === keys.length && v;
    }, 60_000, 200);
    assert.ok(view.nodes.filter((n) => n.streams.length > 0).length >= 2, `least connections spread them: ${JSON.stringify([...holders(view)])}`);
    const faceProbe = await probe(`${nodes.get(holders(view).get(faceKey)![0]!)!.rtmpBase}/stream-${faceKey}`);
    widths.set(faceKey, faceProbe.streams.find((s) => s.codec_type === 'video')!.width!);
    for (const key of keys) await originPlays(nginx.originBase, key, widths.get(key)!, 30_000);
    await waitFor('the origin HLS playlist of every output', async () => {
      for (const key of keys) {
        const res = await fetch(`${nginx.httpBase}/live/stream-${key}/index.m3u8`);
        if (res.status !== 200 || !(await res.text()).includes('.ts')) return false;
      }
      return true;
    }, 30_000, 200);
  });

  it('after kill -9 of the busiest node every output plays at the origin again, each key on one node, events kept', async (t) => {
    const any = nodes.get('n1')!;
    const before = await clusterView(any);
    const busiest = [...before.nodes].sort((a, b) => b.streams.length - a.streams.length)[0]!;
    const moved = busiest.streams.map((s) => s.key);
    const survivor = [...nodes.entries()].find(([id]) => id !== busiest.nodeId)![1];
    const eventsBefore = await waitFor('an event of the face stream in PostgreSQL', async () => {
      const { events } = await (await fetch(`${survivor.httpBase}/api/events?stream=${faceKey}`)).json() as { events: { id: string }[] };
      return events.length > 0 && events;
    }, 30_000, 200);

    // A player on each output that will move, timing it to the packet.
    const watching = new Map(moved.map((key) => [key, watchOrigin(`${nginx.originBase}/stream-${key}`)]));
    watches.push(...watching.values());
    await waitFor('every watcher receiving packets', () => [...watching.values()].every((w) => w.packets.length > 10), 20_000, 50);
    const exitsBefore = new Map(moved.map((key) => [key, publishers.get(key)!.exits.length]));

    const victim = nodes.get(busiest.nodeId)!;
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => victim.child.once('exit', r));
    nodes.delete(busiest.nodeId);

    const back = new Map<string, number>();
    const breakdown: string[] = [];
    await Promise.all(moved.map(async (key) => {
      const resumed = await watching.get(key)!.resumedAfter(killedAt, 30_000);
      back.set(key, resumed.keyAt - killedAt);
      const holder = await waitFor(`${key} live on a surviving node`, async () => {
        const h = holders(await clusterView(survivor)).get(key);
        return h?.length === 1 && h[0] !== busiest.nodeId && h[0];
      }, 10_000, 100);
      const node = nodes.get(holder)!;
      const started = node.logs.find((l) => l.msg === 'stream started' && l.streamPath === `/live/${key}` && Number(l.time) > killedAt)!;
      const startedMs = Number(started.time) - killedAt;
      const at = (match: (l: Record<string, unknown>) => boolean) => {
        const line = node.logs.find((l) => Number(l.time) > killedAt && match(l));
        return line ? `${Number(line.time) - killedAt} ms` : 'not logged';
      };
      const firstFrame = at((l) => l.msg === 'stream format' && l.streamPath === `/live/${key}`);
      const output = at((l) => String(l.msg).endsWith(`start push /live/stream-${key}`));
      const relay = at((l) => l.msg === 'origin relay started' && l.key === key);
      const refusedHere = node.logs.filter((l) => l.reason === 'key_elsewhere' && l.streamPath === `/live/${key}` && Number(l.time) > killedAt).length;
      const publisher = publishers.get(key)!;
      breakdown.push(`${key}: publisher cut ${publisher.exits[exitsBefore.get(key)!]! - killedAt} ms, `
        + `${publisher.exits.length - exitsBefore.get(key)! - 1} refused attempt(s) (${refusedHere} key_elsewhere on ${holder}), `
        + `held for the lease ${String(started.claimMs)} ms, stream started ${startedMs} ms, first frame decoded ${firstFrame}, `
        + `output published ${output}, relay started ${relay}, first packet at the origin ${resumed.at - killedAt} ms, `
        + `first keyframe ${resumed.keyAt - killedAt} ms`);
    }));
    t.diagnostic(`killed ${busiest.nodeId} (${moved.length} of ${keys.length} streams), lease ${LEASE_MS} ms, GOP 1 s; after the kill:\n${breakdown.join('\n')}`);
    for (const [key, ms] of back) assert.ok(ms <= FAILOVER_BOUND_MS, `stream-${key} plays at the origin again ${ms} ms after the kill (bound ${FAILOVER_BOUND_MS} ms)`);

    const after = await clusterView(survivor);
    assert.deepEqual(after.nodes.map((n) => n.nodeId).filter((id) => id === busiest.nodeId), [], 'the dead node left the cluster view');
    for (const key of keys) assert.equal(holders(after).get(key)?.length, 1, `${key} is processed by exactly one node`);
    assert.equal(after.streams, keys.length, 'a surviving node\'s API sees every stream');
    for (const key of keys) await originPlays(nginx.originBase, key, widths.get(key)!, 10_000);

    // The origin's playlist of a moved stream goes on, with new segments.
    const playlist = await waitFor('the moved stream\'s origin playlist', async () => {
      const res = await fetch(`${nginx.httpBase}/live/stream-${moved[0]}/index.m3u8`);
      const text = res.status === 200 ? await res.text() : '';
      return text.includes('.ts') && text;
    }, 15_000, 200);
    t.diagnostic(`origin playlist after the move:\n${playlist}`);

    const { events } = await (await fetch(`${survivor.httpBase}/api/events?stream=${faceKey}&limit=500`)).json() as { events: { id: string }[] };
    for (const e of eventsBefore) assert.ok(events.some((x) => x.id === e.id), `event ${e.id} written before the kill is still there`);
  });
});
