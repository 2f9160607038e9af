/**
 * Picks the event store the configuration names: SQLite in the data folder (the default, one
 * node), or PostgreSQL (`events.store: postgres`, shared by the nodes of a cluster).
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { ServerConfig } from '../config-schema.ts';
import type { EventStore } from './event-store.ts';
import { PgEventStore } from './pg-event-store.ts';
import { EVENTS_DB_FILE, SqliteEventStore } from './sqlite-event-store.ts';

/** createEventStore makes the configured store (not yet open) and says where it keeps events, for logs (no password). */
export function createEventStore(config: ServerConfig): { store: EventStore; where: string } {
  if (config.events.store === 'postgres') {
    return {
      store: new PgEventStore({ url: config.events.postgresUrl, nodeId: nodeIdOf(config) }),
      where: redactedUrl(config.events.postgresUrl),
    };
  }
  const path = join(resolve(config.dataDir), EVENTS_DB_FILE);
  return { store: new SqliteEventStore({ path, nodeId: nodeIdOf(config) }), where: path };
}

/** redactedUrl is a connection URL without its password, e.g. `postgres://livematte:***@db:5432/livematte`. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** nodeIdOf is the configured `nodeId`, or the host name. */
export function nodeIdOf(config: ServerConfig): string {
  return config.nodeId || hostname();
}
