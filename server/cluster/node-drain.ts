/**
 * A cluster node's drain (SIGTERM, or `POST /api/cluster/drain`): the node stops taking
 * publishers and hands its streams to the other nodes, then may stop without costing a stream
 * more than a reconnect.
 *
 * 1. New publishes are refused: the RTMP port closes, so the balancer (nginx's stream module,
 *    `proxy_next_upstream`) finds it refusing connections and sends publishers to another node at
 *    once; a publish that still reaches the node (a connection it accepted before, a WHIP offer)
 *    is refused as `draining`. `/healthz` answers 503 `status: 'draining'`.
 * 2. Every lease is released, then every publisher disconnected (its stream ends here as when it
 *    leaves: playlist ended, relay to the origin stopped). The publisher reconnects through the
 *    balancer, and the node it lands on takes the key at once: no lease is left to expire.
 * 3. It resolves once the node's streams have ended, or after `cluster.drainTimeoutMs`, and its
 *    record in the cluster view says so at once (draining, no streams).
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';

/** DrainParts are what a drain acts on. */
export interface DrainParts {
  registry: StreamRegistry;
  /** The RTMP ingest (its listener is closed, its connections kept). */
  ingest: { stopAccepting(): void };
  /** The leases (all released at once); refresh rewrites the node's record (the cluster view) at once. */
  leases: { releaseAll(): Promise<string[]>; refresh(): Promise<void> };
  /** Stops every relay to the origin, so the next node's relay publishes the output name at once. */
  stopRelays: () => Promise<void>;
  /** How long to wait for the streams to end, ms (`cluster.drainTimeoutMs`). */
  timeoutMs: number;
  log: Logger;
}

/** DrainResult says what a drain did. */
export interface DrainResult {
  /** The stream keys handed over (their publishers disconnected). */
  handedOver: string[];
  /** Streams still on the node when the drain ended (0 unless it timed out). */
  remaining: number;
  /** How long the drain took, ms. */
  durationMs: number;
}

/** drainNode drains the node as described above; it never rejects (failures are logged). */
export async function drainNode(parts: DrainParts): Promise<DrainResult> {
  const { registry, log } = parts;
  const started = performance.now();
  registry.draining = true;
  parts.ingest.stopAccepting();
  const handedOver = registry.list().map((s) => s.key);
  log.info({ streams: handedOver, timeoutMs: parts.timeoutMs }, 'draining: no new publishers; handing the streams to the other nodes');
  // Released before the publishers go, so that their reconnect finds every key free.
  await parts.leases.releaseAll().catch((err: Error) => log.warn({ err: err.message }, 'draining: releasing the leases failed (they expire by themselves)'));
  await Promise.all([
    parts.stopRelays().catch((err: Error) => log.warn({ err: err.message }, 'draining: stopping the origin relays failed')),
    ...handedOver.map(async (key) => registry.drop(key, 'the node drains; the publisher reconnects to another node')),
  ]);
  const deadline = AbortSignal.timeout(parts.timeoutMs);
  while (registry.size > 0 && !deadline.aborted) await once(registry, 'streamEnded', { signal: deadline }).catch(() => {});
  // The cluster view shows the node draining, without the streams it handed over, now rather than at its next renewal.
  await parts.leases.refresh();
  const result = { handedOver, remaining: registry.size, durationMs: Math.round(performance.now() - started) };
  if (result.remaining > 0) log.warn(result, 'drain timed out (cluster.drainTimeoutMs): streams still here are stopped');
  else log.info(result, 'drained');
  return result;
}
