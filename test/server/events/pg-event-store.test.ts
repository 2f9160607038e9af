import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgEventStore } from '../../../server/events/pg-event-store.ts';
import { PG_MIGRATIONS } from '../../../server/events/pg-migrations.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres-server.ts';
import { eventStoreContract } from './event-store-contract.ts';
import { makeEvent, T0 } from './event-fixtures.ts';

describe('PgEventStore (a real PostgreSQL on loopback)', () => {
  let server: PostgresServer;
  const databases = new Map<string, Promise<string>>();
  /** url of database `name`, created on first use. */
  const database = (name: string) => {
    if (!databases.has(name)) databases.set(name, server.createDatabase(name.replace(/-/g, '_')));
    return databases.get(name)!;
  };
  before(async () => { server = await startPostgres(); });
  after(() => server?.stop());

  it('migrates a new database once, also when two nodes open it at the same moment', async () => {
    const url = await database('migrate');
    const [a, b] = [new PgEventStore({ url, nodeId: 'a' }), new PgEventStore({ url, nodeId: 'b' })];
    await Promise.all([a.open(), b.open()]);
    assert.equal(await a.schemaVersion(), PG_MIGRATIONS.at(-1)!.version);
    await Promise.all([a.close(), b.close()]);
    const latest = PG_MIGRATIONS.at(-1)!.version;
    const v2 = new PgEventStore({ url, migrations: [...PG_MIGRATIONS, { version: latest + 1, description: 'test column', sql: 'ALTER TABLE events ADD COLUMN note TEXT' }] });
    await v2.open();
    assert.equal(await v2.schemaVersion(), latest + 1);
    await v2.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const versions = (await client.query('SELECT version FROM schema_version ORDER BY version')).rows.map((r) => r.version);
    const note = (await client.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'events' AND column_name = 'note'`)).rowCount;
    await client.end();
    assert.deepEqual(versions, [...PG_MIGRATIONS.map((m) => m.version), latest + 1]);
    assert.equal(note, 1);
  });

  it('a node that starts again closes only its own open events, not those of a node still running', async () => {
    const url = await database('nodes');
    const ids = new EventIdFactory();
    const [a, b] = [new PgEventStore({ url, nodeId: 'a' }), new PgEventStore({ url, nodeId: 'b' })];
    await a.open();
    await b.open();
    const ofA = makeEvent(ids, T0, { endMs: null, endReason: null, lastSeenMs: T0 + 50 });
    const ofB = makeEvent(ids, T0 + 1, { endMs: null, endReason: null, streamKey: 'door' });
    await a.writeBatch([{ op: 'upsert', event: ofA }]);
    await b.writeBatch([{ op: 'upsert', event: ofB }]);
    await a.close();
    const again = new PgEventStore({ url, nodeId: 'a' });
    assert.deepEqual(await again.open(), { closedOnRestart: 1 });
    assert.equal((await again.get(ofA.id))?.endReason, 'server_restart');
    assert.deepEqual(await again.get(ofB.id), ofB, 'the running node\'s event stays open');
    assert.deepEqual((await b.query({ limit: 10 })).events.map((e) => e.id), [ofB.id, ofA.id], 'every node sees every event');
    await Promise.all([again.close(), b.close()]);
  });

  it('lists every node with open events; two survivors closing a dead node\'s events at once close each once', async () => {
    const url = await database('dead-node');
    const ids = new EventIdFactory();
    const [dead, b, c] = ['dead', 'b', 'c'].map((nodeId) => new PgEventStore({ url, nodeId }));
    await Promise.all([dead!.open(), b!.open(), c!.open()]);
    const ofDead = Array.from({ length: 50 }, (_, i) => makeEvent(ids, T0 + i, { endMs: null, endReason: null, lastSeenMs: T0 + 1000 + i }));
    const ofB = makeEvent(ids, T0 + 100, { endMs: null, endReason: null });
    await dead!.writeBatch(ofDead.map((event) => ({ op: 'upsert' as const, event })));
    await b!.writeBatch([{ op: 'upsert', event: ofB }]);
    await dead!.close();
    assert.deepEqual(await c!.openEventNodes(), ['b', 'dead']);
    const [byB, byC] = await Promise.all([b!.closeNodeEvents('dead', 'node_lost'), c!.closeNodeEvents('dead', 'node_lost')]);
    assert.equal(byB.length + byC.length, ofDead.length, `closed ${byB.length} + ${byC.length}`);
    assert.deepEqual([...byB, ...byC].map((e) => e.id).sort(), ofDead.map((e) => e.id), 'each event once');
    assert.ok([...byB, ...byC].every((e) => e.endReason === 'node_lost' && e.endMs === e.lastSeenMs));
    assert.deepEqual(await c!.openEventNodes(), ['b']);
    assert.deepEqual(await c!.get(ofB.id), ofB, 'the live node\'s event stays open');
    await Promise.all([b!.close(), c!.close()]);
  });

  it('rejects with the driver\'s error when the server is unreachable, and opens once it is there', async () => {
    const store = new PgEventStore({ url: `postgres://livematte@127.0.0.1:1/none` });
    await assert.rejects(store.open(), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    const ok = new PgEventStore({ url: await database('reachable') });
    await ok.open();
    await ok.close();
  });

  describe('the EventStore contract', () => {
    eventStoreContract(async (name, nodeId) => new PgEventStore({ url: await database(name), nodeId }));
  });
});
