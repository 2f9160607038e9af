/**
 * Which node processes which stream key, as leases in Redis (ioredis): `livematte:lease:<key>`
 * holds the node id, with an expiry (`cluster.leaseTtlMs`, default 5 s) the holder renews every
 * third of it. A key held by a live node is refused on every other node; a node that dies stops
 * renewing, its leases expire, and its publishers, reconnecting through the balancer, are taken
 * by the node they land on. Each node also keeps `livematte:node:<id>` (its URLs and its streams)
 * under the same expiry, which is the cluster view.
 *
 * Redis down: commands fail at once (no offline queue), a new publish is refused as
 * `registry_unavailable`, running streams go on (their renewals fail and are retried; once Redis
 * is back a renewal takes the lease again if nobody else did). A renewal that finds the lease held
 * by another node reports it `lost`: the stream must stop here (it is processed there now).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

/** The key prefix of everything the cluster keeps in Redis. */
export const REDIS_PREFIX = 'livematte:';

/** NodeRecord is what one node publishes about itself (the cluster view, `GET /api/cluster`). */
export interface NodeRecord {
  nodeId: string;
  /** Base URL other nodes reach its HTTP API at, e.g. `http://10.0.0.5:8000` ('' = not reachable). */
  httpUrl: string;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** Its live streams: key, state and output fps. */
  streams: { key: string; state: string; fps: number }[];
  /** Load: 1-minute load average over CPU count. */
  load: number;
  /** True while the node drains (it takes no new publishers and is about to stop). */
  draining?: boolean;
}

/** ClaimResult says whether a node may process a stream key. */
export type ClaimResult =
  | { ok: true }
  | { ok: false; reason: 'key_elsewhere' | 'registry_unavailable'; message: string };

/** RedisLeasesOptions configure the leases. */
export interface RedisLeasesOptions {
  /** Redis URL, e.g. `redis://10.0.0.2:6379/0`. */
  url: string;
  nodeId: string;
  /** Lease expiry, ms (renewed every third of it). */
  ttlMs: number;
  /** This node's record without its id (asked at every renewal). */
  describe: () => Omit<NodeRecord, 'nodeId'>;
}

// GET then PEXPIRE (ours), SET (nobody's: taken again after an outage) or nothing (another node's).
const RENEW = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;
// How much longer than expected a lease's remaining time may be before it counts as renewed (Redis rounds, clocks jitter).
const RENEWAL_TOLERANCE_MS = 50;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// SET NX, or extend it when the holder is this node already (a reconnect on the same node).
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1] end
return v`;

/** LeaseEvents: a held key found taken by another node. */
interface LeaseEvents {
  lost: [key: string, holder: string];
}

/** RedisLeases holds this node's stream leases and its node record. */
export class RedisLeases extends EventEmitter<LeaseEvents> {
  private readonly redis: Redis;
  private readonly held = new Set<string>();
  private timer?: NodeJS.Timeout;
  private up = true;
  private renewing?: Promise<void>;

  constructor(private readonly options: RedisLeasesOptions, private readonly log: Logger) {
    super();
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: Math.max(500, Math.floor(options.ttlMs / 3)),
      lazyConnect: true, retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // Connection errors are reported by the commands that fail; without a listener ioredis would log them.
    this.redis.on('error', () => {});
  }

  /** reachable is false while Redis does not answer (from the last command). */
  get reachable(): boolean {
    return this.up;
  }

  /** start connects (a Redis that is down is not fatal: publishes are refused until it answers) and starts renewing. */
  async start(): Promise<void> {
    await this.redis.connect().catch((err: Error) => this.markDown(err));
    this.timer = setInterval(() => { void this.refresh(); }, Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
    await this.renew();
  }

  /** refresh renews now instead of at the next third of the TTL (e.g. once the node's record has its HTTP URL); resolves when done. */
  refresh(): Promise<void> {
    return (this.renewing ??= this.renew().finally(() => { this.renewing = undefined; }));
  }

  /**
   * acquire claims `key` for this node. A key held by another node is not refused at once: a
   * holder that died stops renewing and its lease runs out within one TTL, so the publisher (who
   * reconnected here through the balancer) is kept while the lease's expiry is watched, and gets
   * the key as soon as it is free instead of being refused and left to retry. A holder that renews
   * meanwhile is alive: the publish is then refused (`key_elsewhere`), a third of the TTL or less
   * after it came. `stillWanted` returning false (the publisher left) ends the wait with that refusal.
   */
  async acquire(key: string, stillWanted: () => boolean = () => true): Promise<ClaimResult> {
    const period = Math.max(100, Math.floor(this.options.ttlMs / 3));
    const deadline = performance.now() + this.options.ttlMs + period;
    let result = await this.tryAcquire(key);
    let expected: { ttlMs: number; at: number } | undefined;
    while (!result.ok && result.reason === 'key_elsewhere' && stillWanted() && performance.now() < deadline) {
      let ttlMs: number;
      try {
        ttlMs = await this.redis.pttl(leaseKey(key));
      } catch {
        break;
      }
      const now = performance.now();
      // Longer than it would be had nobody renewed it since the last look: its holder is alive.
      if (ttlMs === -1 || (expected && ttlMs > expected.ttlMs - (now - expected.at) + RENEWAL_TOLERANCE_MS)) break;
      expected = { ttlMs, at: now };
      if (ttlMs > 0) await delay(Math.min(ttlMs + 5, period + RENEWAL_TOLERANCE_MS));
      if (stillWanted()) result = await this.tryAcquire(key);
    }
    return result;
  }

  private async tryAcquire(key: string): Promise<ClaimResult> {
    try {
      const holder = await this.redis.eval(ACQUIRE, 1, leaseKey(key), this.options.nodeId, this.options.ttlMs) as string;
      this.markUp();
      if (holder !== this.options.nodeId) return { ok: false, reason: 'key_elsewhere', message: `stream key is being processed by node ${holder}` };
      this.held.add(key);
      return { ok: true };
    } catch (err) {
      this.markDown(err as Error);
      return { ok: false, reason: 'registry_unavailable', message: `the cluster registry (Redis) does not answer: ${(err as Error).message}` };
    }
  }

  /** release gives `key` up if this node holds it (a failure only logs: the lease expires by itself). */
  async release(key: string): Promise<void> {
    this.held.delete(key);
    try {
      await this.redis.eval(RELEASE, 1, leaseKey(key), this.options.nodeId);
    } catch (err) {
      this.markDown(err as Error);
    }
  }

  /**
   * releaseAll gives up every held lease at once (a drain: the publishers, disconnected next, are
   * taken by another node without waiting for the TTL) and resolves with their keys. The node
   * record is kept and renewed; a failure only logs, as in release.
   */
  async releaseAll(): Promise<string[]> {
    const keys = [...this.held];
    this.held.clear();
    // A renewal under way may still SET a key it read before; the releases go after it.
    await this.renewing;
    await Promise.all(keys.map((key) => this.redis.eval(RELEASE, 1, leaseKey(key), this.options.nodeId).catch((err: Error) => this.markDown(err))));
    return keys;
  }

  /** holder says which node holds `key` (undefined: nobody); rejects when Redis does not answer. */
  async holder(key: string): Promise<string | undefined> {
    return (await this.redis.get(leaseKey(key))) ?? undefined;
  }

  /**
   * locate says which node holds `key` and, when it is another node, that node's record (absent
   * once the node has left the cluster: its record expired or was deleted while its lease lives
   * on); undefined when nobody holds the key. Two GETs; rejects when Redis does not answer.
   */
  async locate(key: string): Promise<{ nodeId: string; record?: NodeRecord } | undefined> {
    const holder = await this.redis.get(leaseKey(key));
    if (holder === null) return undefined;
    if (holder === this.options.nodeId) return { nodeId: holder };
    const raw = await this.redis.get(nodeKey(holder));
    return { nodeId: holder, record: raw === null ? undefined : JSON.parse(raw) as NodeRecord };
  }

  /** nodes lists every live node's record, by node id (rejects when Redis does not answer). */
  async nodes(): Promise<NodeRecord[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}node:*`, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(keys);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as NodeRecord)
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** renew extends every held lease and the node record once. */
  private async renew(): Promise<void> {
    const { nodeId, ttlMs } = this.options;
    try {
      const record: NodeRecord = { nodeId, ...this.options.describe() };
      const pipeline = this.redis.pipeline();
      pipeline.set(nodeKey(nodeId), JSON.stringify(record), 'PX', ttlMs);
      const keys = [...this.held];
      for (const key of keys) pipeline.eval(RENEW, 1, leaseKey(key), nodeId, ttlMs);
      // exec may resolve with an error per command (e.g. while reconnecting): any one is an outage.
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err) ?? (results.length === keys.length + 1 ? undefined : [new Error('no reply')]);
      if (failed) throw failed[0];
      for (const [i, key] of keys.entries()) {
        if (results[i + 1]![1] === 0 && this.held.delete(key)) this.emit('lost', key, (await this.holder(key)) ?? 'another node');
      }
      this.markUp();
    } catch (err) {
      this.markDown(err as Error);
    }
  }

  private markDown(err: Error): void {
    if (!this.up) return;
    this.up = false;
    this.log.error({ err: err.message, held: this.held.size }, 'cluster registry (Redis) unreachable: running streams go on, new publishes are refused');
  }

  private markUp(): void {
    if (this.up) return;
    this.up = true;
    this.log.info({ held: this.held.size }, 'cluster registry (Redis) reachable again');
  }

  /** close stops renewing, releases every held lease and the node record, and disconnects. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    const keys = [...this.held];
    this.held.clear();
    if (this.redis.status === 'ready') {
      await Promise.all([
        ...keys.map((key) => this.redis.eval(RELEASE, 1, leaseKey(key), this.options.nodeId)),
        this.redis.del(nodeKey(this.options.nodeId)),
      ]).catch(() => {});
    }
    this.redis.disconnect();
  }
}

const leaseKey = (key: string) => `${REDIS_PREFIX}lease:${key}`;
const nodeKey = (nodeId: string) => `${REDIS_PREFIX}node:${nodeId}`;
