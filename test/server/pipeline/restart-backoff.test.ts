import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Backoff } from '../../../server/pipeline/restart-backoff.ts';

test('restarts back off 250 ms, 500 ms, 1 s, 2 s, then 4 s, and start over after 30 s without one', (t) => {
  let now = 100_000;
  t.mock.method(performance, 'now', () => now);
  const b = new Backoff();
  const delays = [0, 1, 2, 3, 4, 5].map(() => { now += 1000; return b.next(); });
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 4000]);
  now += 30_000;
  assert.equal(b.next(), 4000, 'exactly 30 s after the last restart is not yet stable');
  now += 30_001;
  assert.equal(b.next(), 250, 'more than 30 s after the last restart starts over');
  assert.equal(b.next(), 500);
});
