import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventHealthReport, type EventHealth } from '../../../server/events/event-service.ts';

const healthy: EventHealth = { storeOpen: true, queued: 3, unwrittenSnapshots: 0, writeErrors: 0 };

describe('eventHealthReport', () => {
  it('words the events part of /healthz: degraded, with a sentence per problem, only while something can not be written', () => {
    const cases: [string, EventHealth, string[] | undefined, boolean][] = [
      ['writing', healthy, undefined, true],
      ['store not open', { ...healthy, storeOpen: false, storeFailing: 'SQLITE_CANTOPEN' }, ['event store can not be opened (SQLITE_CANTOPEN): 3 writes kept in memory'], false],
      ['store full', { ...healthy, storeFailing: 'SQLITE_FULL', writeErrors: 4 }, ['event store writes failing (SQLITE_FULL): 3 writes kept in memory'], false],
      ['snapshots', { ...healthy, snapshotsFailing: 'ENOSPC', unwrittenSnapshots: 2 }, ['snapshot files can not be written (ENOSPC): 2 kept in memory'], false],
    ];
    for (const [name, h, problems, writing] of cases) {
      const r = eventHealthReport(h);
      assert.deepEqual(r.problems, problems, name);
      assert.equal(r.status, problems ? 'degraded' : undefined, name);
      assert.deepEqual(r.events, { storeOpen: h.storeOpen, writing, queued: h.queued, unwrittenSnapshots: h.unwrittenSnapshots, writeErrors: h.writeErrors }, name);
    }
  });
});
