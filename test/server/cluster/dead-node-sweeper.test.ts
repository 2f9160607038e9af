/**
 * The dead-node sweeper on a real Redis (the nodes' records, RedisLeases) and a real PostgreSQL
 * (PgEventStore per node): a node whose record is gone has its open events closed at the second
 * sweep that misses it, a live node's never, also across a Redis restart in which the records
 * come back one renewal apart, and a sweep while Redis is down does nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeadNodeSweeper, type SweptEvents } from '../../../server/cluster/dead-node-sweeper.ts';
import { RedisLeases } from '../../../server/cluster/redis-leases.ts';
import { PgEventStore } from '../../../server/events/pg-event-store.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import { createLogger } from '../../../server/logger.ts';
import { startRedis, type RedisServer } from '../../helpers/redis-server.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres-server.ts';
import { waitFor } from '../../helpers/server-process.ts';
import { makeEvent, T0 } from '../events/event-fixtures.ts';

/** The sweeping node renews every 200 ms; the other live node only every 2 s. */
const FAST_TTL = 600;
const SLOW_TTL = 6000;

describe('DeadNodeSweeper (real Redis and PostgreSQL)', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  let url: string;
  const closers: (() => Promise<void>)[] = [];
  const ids = new EventIdFactory();

  const store = async (nodeId: string) => {
    const s = new PgEventStore({ url, nodeId });
    await s.open();
    closers.push(() => s.close());
    return s;
  };
  const leases = async (nodeId: string, ttlMs: number) => {
    const l = new RedisLeases({ url: redis.url, nodeId, ttlMs, describe: () => ({ httpUrl: '', startedAt: '', streams: [], load: 0 }) }, createLogger('silent'));
    await l.start();
    closers.push(() => l.close());
    return l;
  };
  const openEvents = async (s: PgEventStore, n: number) => {
    const events = Array.from({ length: n }, (_, i) => makeEvent(ids, T0 + i, { endMs: null, endReason: null }));
    await s.writeBatch(events.map((event) => ({ op: 'upsert' as const, event })));
    return events;
  };
  /** The sweeper's view of the events, as EventService gives it, on node b's store. */
  const sweptEvents = (s: PgEventStore): SweptEvents => ({
    openEventNodes: () => s.openEventNodes(),
    closeLostNodeEvents: async (nodeId) => (await s.closeNodeEvents(nodeId, 'node_lost')).length,
  });

  before(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    url = await postgres.createDatabase('sweeper');
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await redis?.stop();
    await postgres?.stop();
  });

  it('closes a gone node\'s open events at the second sweep that misses it, never a live node\'s, also across a Redis restart', async () => {
    const [storeB, storeC, storeDead] = [await store('b'), await store('c'), await store('dead')];
    const leasesB = await leases('b', FAST_TTL);
    const leasesC = await leases('c', SLOW_TTL);
    const leasesDead = await leases('dead', FAST_TTL);
    const [ofB, ofC, ofDead] = [await openEvents(storeB, 2), await openEvents(storeC, 3), await openEvents(storeDead, 4)];
    const sweeper = new DeadNodeSweeper({ nodeId: 'b', intervalMs: FAST_TTL }, leasesB, sweptEvents(storeB), createLogger('silent'));

    assert.deepEqual(await sweeper.sweep(), { absent: [], closed: [] }, 'every node with open events is live');
    await leasesDead.close();
    assert.deepEqual(await sweeper.sweep(), { absent: ['dead'], closed: [] }, 'missed once: not closed yet');
    assert.deepEqual(await sweeper.sweep(), { absent: ['dead'], closed: [{ nodeId: 'dead', events: 4 }] });
    for (const e of ofDead) assert.deepEqual(await storeB.get(e.id), { ...e, endMs: e.lastSeenMs, endReason: 'node_lost' });
    assert.deepEqual(await sweeper.sweep(), { absent: [], closed: [] });

    await redis.stop();
    const down = await sweeper.sweep();
    assert.match(down.skipped ?? '', /^the cluster registry \(Redis\) does not answer/);
    await redis.start();
    // Back, but empty until each node renews: b (every 200 ms) comes back before c (every 2 s).
    await waitFor('b listed again, c not yet', async () => {
      const live = (await leasesB.nodes()).map((n) => n.nodeId);
      return live.includes('b') && !live.includes('c');
    }, 5000, 20);
    assert.deepEqual(await sweeper.sweep(), { absent: ['c'], closed: [] }, 'c missed once after the restart: not closed');
    await waitFor('c listed again', async () => (await leasesC.nodes()).some((n) => n.nodeId === 'c'), SLOW_TTL, 50);
    assert.deepEqual(await sweeper.sweep(), { absent: [], closed: [] });
    for (const e of [...ofB, ...ofC]) assert.deepEqual(await storeB.get(e.id), e, 'live nodes\' events stay open');
    assert.deepEqual(await storeB.openEventNodes(), ['b', 'c']);
  });

  it('skips while this node is not in the registry view (its record not renewed yet)', async () => {
    const storeX = await store('x');
    const leasesY = await leases('y', FAST_TTL);
    const sweeper = new DeadNodeSweeper({ nodeId: 'x', intervalMs: FAST_TTL }, leasesY, sweptEvents(storeX), createLogger('silent'));
    const result = await sweeper.sweep();
    assert.deepEqual(result, { absent: [], closed: [], skipped: 'the cluster registry does not list this node (x) yet' });
  });
});
