/**
 * serverPeople wires the gallery for the server: the people store in the events database (SQLite,
 * or the cluster's PostgreSQL),
 * the enrolment pool, the event store's labels, and the events' frame grabber for enrolment from
 * a stream (its last input frame with `snapshots.source: input`, else its next processed frame,
 * where a face the faces plugin anonymised is not found).
 */
import { join, resolve } from 'node:path';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { EventService } from '../events/event-service.ts';
import type { EventStore } from '../events/event-store.ts';
import { EVENTS_DB_FILE } from '../events/sqlite-event-store.ts';
import { EnrolPool } from './enrol-pool.ts';
import { PeopleService } from './people-service.ts';
import { SqlitePeopleStore } from './sqlite-people-store.ts';
import { PgPeopleStore } from './pg-people-store.ts';

/** serverPeople makes the server's PeopleService (not started); its close() also ends the enrolment pool. */
export function serverPeople(config: ServerConfig, events: EventService, eventStore: EventStore, log: Logger): PeopleService {
  const pool = new EnrolPool(config.modelsDir ? resolve(config.modelsDir) : undefined);
  return new PeopleService({
    // The gallery lives beside the events: in a cluster (PostgreSQL) every node shares it.
    store: config.events.store === 'postgres'
      ? new PgPeopleStore({ url: config.events.postgresUrl })
      : new SqlitePeopleStore({ path: join(resolve(config.dataDir), EVENTS_DB_FILE) }),
    enrol: (task) => pool.run(task),
    labels: eventStore,
    currentFrame: (key) => {
      const input = events.grabber.lastInput(key);
      return input ? Promise.resolve(input) : events.grabber.nextOutput(key, 0, 3000);
    },
    log,
    release: () => pool.close(),
  });
}
