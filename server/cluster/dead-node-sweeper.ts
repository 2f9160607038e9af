/**
 * Closes the open events a dead node left in the cluster's shared event store (PostgreSQL).
 * A node killed with -9 ends none of its events. Each event row records its node, so once per
 * lease TTL every node compares the nodes that have open events with the live nodes of the
 * registry (their `livematte:node:<id>` records, which expire one TTL after their node stops
 * renewing them). A node missing from the registry at two sweeps in a row has its open events
 * ended as `node_lost`, at their last sighting.
 *
 * Two sweeps in a row, and only while the registry lists this node itself: after a Redis restart
 * the records come back one renewal (a third of the TTL) later, so a live node is never taken
 * for dead from an empty view; a registry that does not answer skips the sweep. Two survivors
 * sweeping at once close each event once (EventStore.closeNodeEvents). Should a live node's events
 * still be closed (a partition from Redis longer than two TTLs), its next write of the event opens
 * it again, as every write carries the whole event.
 */
import type { Logger } from '../logger.ts';
import type { NodeRecord } from './redis-leases.ts';

/** LiveNodes is the registry's view of the cluster (RedisLeases). */
export interface LiveNodes {
  /** nodes lists every live node's record; rejects when the registry does not answer. */
  nodes(): Promise<Pick<NodeRecord, 'nodeId'>[]>;
}

/** SweptEvents is what the sweeper needs of the events (EventService). */
export interface SweptEvents {
  /** openEventNodes lists the nodes that have open events in the shared store. */
  openEventNodes(): Promise<string[]>;
  /** closeLostNodeEvents ends one dead node's open events as node_lost; resolves with how many this call closed. */
  closeLostNodeEvents(nodeId: string): Promise<number>;
}

/** DeadNodeSweeperOptions: who this node is and how often to look. */
export interface DeadNodeSweeperOptions {
  nodeId: string;
  /** Sweep period, ms: the lease TTL (`cluster.leaseTtlMs`), at least 100. */
  intervalMs: number;
}

/** SweepResult says what one sweep did. */
export interface SweepResult {
  /** Nodes with open events that are not in the registry (this sweep). */
  absent: string[];
  /** Nodes whose events this sweep closed, with how many (absent at the previous sweep too). */
  closed: { nodeId: string; events: number }[];
  /** Why the sweep was skipped (the registry or the store did not answer, or the view lacks this node). */
  skipped?: string;
}

/** DeadNodeSweeper runs the sweep on a timer. */
export class DeadNodeSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<SweepResult>;
  /** Nodes with open events that the previous sweep did not find in the registry. */
  private absentBefore = new Set<string>();
  private failing?: string;

  constructor(
    private readonly options: DeadNodeSweeperOptions,
    private readonly registry: LiveNodes,
    private readonly events: SweptEvents,
    private readonly log: Logger,
  ) {}

  /** start sweeps every `intervalMs` (the first sweep one period from now). */
  start(): void {
    this.timer = setInterval(() => { void this.sweep(); }, Math.max(100, this.options.intervalMs));
    this.timer.unref();
  }

  /** sweep runs one sweep (joins the one running); never rejects. */
  sweep(): Promise<SweepResult> {
    this.running ??= this.sweepOnce().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async sweepOnce(): Promise<SweepResult> {
    const self = this.options.nodeId;
    let live: Set<string>;
    let withOpen: string[];
    try {
      live = new Set((await this.registry.nodes()).map((n) => n.nodeId));
    } catch (err) {
      return this.skip(`the cluster registry (Redis) does not answer: ${(err as Error).message}`);
    }
    // Our own record missing: Redis has just restarted (or our renewals fail), the view is not whole.
    if (!live.has(self)) return this.skip(`the cluster registry does not list this node (${self}) yet`);
    try {
      withOpen = await this.events.openEventNodes();
    } catch (err) {
      return this.skip(`the event store does not answer: ${(err as Error).message}`);
    }
    const absent = withOpen.filter((n) => n !== self && !live.has(n));
    const closed: SweepResult['closed'] = [];
    const stillAbsent = new Set<string>();
    let failed = false;
    for (const nodeId of absent) {
      if (!this.absentBefore.has(nodeId)) {
        stillAbsent.add(nodeId);
        continue;
      }
      try {
        const events = await this.events.closeLostNodeEvents(nodeId);
        closed.push({ nodeId, events });
        if (events > 0) this.log.warn({ node: nodeId, events }, 'closed the open events of a node gone from the cluster (node_lost)');
      } catch (err) {
        stillAbsent.add(nodeId);
        failed = true;
        this.fail(`closing the events of node ${nodeId} failed: ${(err as Error).message}`);
      }
    }
    this.absentBefore = stillAbsent;
    if (!failed) this.recovered();
    return { absent, closed };
  }

  private skip(reason: string): SweepResult {
    // The next sweep that sees the view whole starts counting again.
    this.absentBefore.clear();
    this.fail(reason);
    return { absent: [], closed: [], skipped: reason };
  }

  /** fail logs a cause once until a sweep succeeds. */
  private fail(cause: string): void {
    if (this.failing === cause) return;
    this.failing = cause;
    this.log.warn({ cause }, 'dead-node sweep skipped; tried again at the next');
  }

  private recovered(): void {
    if (this.failing === undefined) return;
    this.failing = undefined;
    this.log.info('dead-node sweeps work again');
  }

  /** stop ends the timer and waits for a sweep that is running. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
