import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOutputName, isValidStreamKey } from '../../../server/ingest/stream-key.ts';

test('stream keys: only 1-128 of A-Z a-z 0-9 _ -', () => {
  const good = ['demo', 'a', 'A_b-9', 'x'.repeat(128)];
  const bad = ['', '..', '../x', 'a/b', '%2e%2e', 'x'.repeat(129), 'caf\u00e9', 'a b', 'a.b', 'a\\b', '\u0000'];
  for (const k of good) assert.equal(isValidStreamKey(k), true, k);
  for (const k of bad) assert.equal(isValidStreamKey(k), false, JSON.stringify(k));
  assert.equal(isOutputName('stream-demo'), true);
  assert.equal(isOutputName('demo'), false);
});
