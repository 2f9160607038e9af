import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { RedisLeases } from '../../../server/cluster/redis-leases.ts';
import { createLogger } from '../../../server/logger.ts';
import { startRedis, type RedisServer } from '../../helpers/redis-server.ts';

const TTL = 600;

/** until polls `check` every 20 ms until it holds (deadline `ms`). */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RedisLeases (a real redis-server on loopback)', () => {
  let redis: RedisServer;
  const nodes: RedisLeases[] = [];
  const node = async (nodeId: string, streams: string[] = []) => {
    const n = new RedisLeases({
      url: redis.url, nodeId, ttlMs: TTL,
      describe: () => ({ httpUrl: `http://${nodeId}.test`, startedAt: '2025-01-02T00:00:00.000Z', streams: streams.map((key) => ({ key, state: 'live', fps: 30 })), load: 0.5 }),
    }, createLogger('silent'));
    nodes.push(n);
    await n.start();
    return n;
  };
  before(async () => { redis = await startRedis(); });
  after(async () => {
    for (const n of nodes) await n.close();
    await redis?.stop();
  });

  it('gives a key to one node at a time; the holder may claim it again (a reconnect), the other is told who holds it', async () => {
    const [a, b] = [await node('a'), await node('b')];
    assert.deepEqual(await a.acquire('cam1'), { ok: true });
    // The holder renews while b watches its lease: refused once a renewal is seen (every TTL/3).
    const asked = Date.now();
    assert.deepEqual(await b.acquire('cam1'), { ok: false, reason: 'key_elsewhere', message: 'stream key is being processed by node a' });
    const refusedMs = Date.now() - asked;
    assert.ok(refusedMs < TTL, `refused after ${refusedMs} ms (lease ${TTL} ms, renewed every ${TTL / 3} ms)`);
    // A publisher that left ends the wait at once.
    const gone = Date.now();
    assert.equal((await b.acquire('cam1', () => false)).ok, false);
    assert.ok(Date.now() - gone < TTL / 3, `a publisher that left is answered after ${Date.now() - gone} ms`);
    assert.deepEqual(await a.acquire('cam1'), { ok: true });
    // Held past several expiries: the renewals keep it.
    const t0 = Date.now();
    await until('three lease lifetimes', () => Date.now() - t0 > 3 * TTL);
    assert.equal(await b.holder('cam1'), 'a');
    await a.release('cam1');
    assert.equal(await b.holder('cam1'), undefined);
    assert.deepEqual(await b.acquire('cam1'), { ok: true });
    await b.release('cam1');
  });

  it('locate names a key\'s holder with its node record (none for this node\'s own keys), and nobody for a free key', async () => {
    const [a, b] = [await node('loc-a', ['cam6']), await node('loc-b')];
    assert.deepEqual(await a.acquire('cam6'), { ok: true });
    const seen = await b.locate('cam6');
    assert.equal(seen?.nodeId, 'loc-a');
    assert.equal(seen?.record?.httpUrl, 'http://loc-a.test');
    assert.deepEqual(seen?.record?.streams, [{ key: 'cam6', state: 'live', fps: 30 }]);
    assert.deepEqual(await a.locate('cam6'), { nodeId: 'loc-a' });
    assert.equal(await b.locate('free-key'), undefined);
    // The holder's record gone while its lease lives (the node left): the lease alone is named.
    const raw = (b as unknown as { redis: { del(k: string): Promise<unknown> } }).redis;
    const stopped = a as unknown as { timer: NodeJS.Timeout; renewing?: Promise<void> };
    stopped.timer.close();
    await stopped.renewing;
    await raw.del('livematte:node:loc-a');
    assert.deepEqual(await b.locate('cam6'), { nodeId: 'loc-a', record: undefined });
    await a.release('cam6');
    assert.equal(await b.locate('cam6'), undefined);
  });

  it('a node that stops renewing (dead) loses its keys within the lease time; its record leaves the cluster view', async () => {
    const dead = await node('dead', ['cam2']);
    const live = await node('live');
    assert.deepEqual(await dead.acquire('cam2'), { ok: true });
    assert.deepEqual((await live.nodes()).map((n) => n.nodeId).filter((id) => id === 'dead' || id === 'live'), ['dead', 'live']);
    assert.deepEqual((await live.nodes()).find((n) => n.nodeId === 'dead')?.streams, [{ key: 'cam2', state: 'live', fps: 30 }]);
    // kill -9 stands in: the renewal timer stops, nothing is released.
    (dead as unknown as { timer: NodeJS.Timeout }).timer.close();
    const killedAt = Date.now();
    // One claim: it waits while the dead node's lease runs out, and gets the key then.
    assert.deepEqual(await live.acquire('cam2'), { ok: true });
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs <= TTL + 100, `taken over after ${tookMs} ms (lease ${TTL} ms)`);
    await until('the dead node\'s record to expire', async () => !(await live.nodes()).some((n) => n.nodeId === 'dead'), 3 * TTL);
    await live.release('cam2');
  });

  it('releaseAll (a drain) gives up every held key at once: another node takes each without waiting', async () => {
    const draining = await node('drain-a');
    const other = await node('drain-b');
    for (const key of ['cam6', 'cam7']) assert.deepEqual(await draining.acquire(key), { ok: true });
    assert.deepEqual((await draining.releaseAll()).sort(), ['cam6', 'cam7']);
    for (const key of ['cam6', 'cam7']) {
      const asked = Date.now();
      assert.deepEqual(await other.acquire(key), { ok: true });
      assert.ok(Date.now() - asked < 50, `${key} taken after ${Date.now() - asked} ms`);
    }
    // Renewals after the drain do not take them back.
    const t0 = Date.now();
    await until('two renewals', () => Date.now() - t0 > TTL);
    for (const key of ['cam6', 'cam7']) assert.equal(await other.holder(key), 'drain-b');
    assert.ok((await other.nodes()).some((n) => n.nodeId === 'drain-a'), 'the drained node still has its record');
  });

  it('Redis down: a claim is refused as registry_unavailable at once, held keys stay held, all recovers when it is back', async () => {
    const a = await node('outage-a');
    const b = await node('outage-b');
    assert.deepEqual(await a.acquire('cam3'), { ok: true });
    let lost = false;
    a.on('lost', () => { lost = true; });
    await redis.stop();
    const asked = Date.now();
    const refused = await b.acquire('cam4');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, 'registry_unavailable');
    assert.ok(Date.now() - asked < 1500, `refused after ${Date.now() - asked} ms`);
    await until('the outage to be seen by both', () => !a.reachable && !b.reachable, 3 * TTL);
    // Down for longer than the lease: the key expires with the server (no persistence), and is
    // taken again by its holder's renewal once Redis is back.
    const t0 = Date.now();
    await until('two lease lifetimes of outage', () => Date.now() - t0 > 2 * TTL);
    await redis.start();
    await until('the holder to reach Redis again', () => a.reachable, 5000);
    await until('the key held by its node again', async () => (await b.holder('cam3').catch(() => undefined)) === 'outage-a', 5000);
    assert.equal(lost, false);
    assert.deepEqual(await b.acquire('cam4'), { ok: true });
    assert.equal((await b.acquire('cam3')).ok, false);
  });

  it('a lease taken by another node while this one could not renew is reported lost', async () => {
    const a = await node('split-a');
    const b = await node('split-b');
    assert.deepEqual(await a.acquire('cam5'), { ok: true });
    const lost = once(a, 'lost');
    // b takes the key as if a's lease had expired during a partition.
    const raw = (b as unknown as { redis: { set(k: string, v: string): Promise<unknown> } }).redis;
    await raw.set('livematte:lease:cam5', 'split-b');
    const [key, holder] = await lost;
    assert.deepEqual([key, holder], ['cam5', 'split-b']);
  });
});
