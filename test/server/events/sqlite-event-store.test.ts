import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../server/events/sqlite-event-store.ts';
import { MIGRATIONS } from '../../../server/events/sqlite-migrations.ts';
import { eventStoreContract } from './event-store-contract.ts';

describe('SqliteEventStore', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'events-store-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates a new file to the latest version once, in WAL mode, and applies later migrations on the next open', async () => {
    const path = join(dir, 'migrate.sqlite');
    const store = new SqliteEventStore({ path });
    await store.open();
    assert.equal(store.schemaVersion, MIGRATIONS.at(-1)!.version);
    await store.close();
    const again = new SqliteEventStore({ path });
    await again.open();
    const latest = MIGRATIONS.at(-1)!.version;
    assert.equal(again.schemaVersion, latest);
    await again.close();
    const v2 = new SqliteEventStore({ path, migrations: [...MIGRATIONS, { version: latest + 1, description: 'test column', sql: 'ALTER TABLE events ADD COLUMN note TEXT' }] });
    await v2.open();
    assert.equal(v2.schemaVersion, latest + 1);
    await v2.close();
    const raw = new Database(path, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(raw.prepare('SELECT version FROM schema_version ORDER BY version').all().map((r) => (r as { version: number }).version), [...MIGRATIONS.map((m) => m.version), latest + 1]);
    assert.ok((raw.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string }).sql.includes('note'));
    raw.close();
  });

  describe('the EventStore contract', () => {
    eventStoreContract(async (name, nodeId) => new SqliteEventStore({ path: join(dir, `${name}.sqlite`), nodeId }));
  });
});
