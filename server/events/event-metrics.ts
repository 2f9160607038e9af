/**
 * The events' metrics (server-wide, no `stream` label), read from the event service at scrape time.
 */
import type { EventMetricsSource } from './event-service.ts';

/** EventMetricSpec is one events metric: name (without the prefix), type, labels, help, reader. */
export interface EventMetricSpec {
  name: string;
  type: 'gauge' | 'counter';
  labels: string[];
  help: string;
  read(source: EventMetricsSource): { labels?: Record<string, string>; value: number }[];
}

/** EVENT_METRICS lists them. */
export const EVENT_METRICS: readonly EventMetricSpec[] = [
  {
    name: 'events_started_total', type: 'counter', labels: ['kind'],
    help: 'Detection events started since the server started (a track confirmed), by kind (face, person).',
    read: (s) => [...s.startedByKind()].map(([kind, value]) => ({ labels: { kind }, value })),
  },
  {
    name: 'events_queue_depth', type: 'gauge', labels: [],
    help: 'Event writes waiting for the store (grows while it can not be written; merged beyond events.maxQueue).',
    read: (s) => [{ value: s.queueDepth() }],
  },
  {
    name: 'events_write_errors_total', type: 'counter', labels: [],
    help: 'Failed writes of the event store (flushes and opens: disk full, read-only, locked) and of snapshot files; the server logs each cause once and retries.',
    read: (s) => [{ value: s.writeErrors() }],
  },
  {
    name: 'events_node_lost_total', type: 'counter', labels: [],
    help: 'Open events of dead cluster nodes this node closed (end reason node_lost; a node gone from the registry while its events stayed open in the shared store).',
    read: (s) => [{ value: s.nodeLostEvents() }],
  },
  {
    name: 'snapshot_bytes_total', type: 'counter', labels: [],
    help: 'Bytes of JPEG snapshots written (event snapshots, including replaced ones, and periodic frames).',
    read: (s) => [{ value: s.snapshotBytes() }],
  },
];
