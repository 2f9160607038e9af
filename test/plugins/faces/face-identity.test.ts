/**
 * The identity rules of face recognition, on plain data: matching against a gallery (best
 * reference per person, threshold and margin), the embedding cadence, votes settling and
 * re-settling an identity that stays with its track, and gallery changes forgetting deleted people.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchEmbedding } from '../../../plugins/faces/face-matching.ts';
import {
  addVote, checkAgain, createIdentityState, DEFAULT_IDENTITY_SETTINGS as S, identityLabel, isShown, pickForEmbedding, syncIdentities, wantsEmbedding,
} from '../../../plugins/faces/face-identity.ts';
import type { FaceGalleryMeta, SharedDatum } from '../../../plugins/plugin-api.ts';
import { glyphCells, glyphRows } from '../../../plugins/faces/bitmap-font.ts';

/** unit is a unit vector of 4 dims at angle `deg` in the x-y plane. */
const unit = (deg: number) => Float32Array.from([Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180), 0, 0]);
function gallery(version: number, people: string[], refs: [number, Float32Array][]): SharedDatum<FaceGalleryMeta> {
  const data = new Float32Array(refs.length * 4);
  refs.forEach(([, e], i) => data.set(e, i * 4));
  return { version, meta: { dims: 4, people: people.map((p) => ({ id: p, name: p.toUpperCase() })), owners: refs.map(([o]) => o) }, data };
}

test('matching: a person scores their best reference; threshold and margin decide', () => {
  const g = gallery(1, ['ann', 'bob'], [[0, unit(0)], [0, unit(40)], [1, unit(90)]]);
  const m = matchEmbedding(unit(35), g, { threshold: 0.9, margin: 0.05 });
  assert.equal(m.personId, 'ann', 'nearest reference of ann is 5 degrees away');
  assert.ok(Math.abs(m.best - Math.cos((5 * Math.PI) / 180)) < 1e-6);
  assert.ok(Math.abs(m.second - Math.cos((55 * Math.PI) / 180)) < 1e-6, 'second is the next PERSON, not the next reference');
  assert.equal(matchEmbedding(unit(65), g, { threshold: 0.9, margin: 0.05 }).personId, null, 'below the threshold: unknown');
  assert.equal(matchEmbedding(unit(70), g, { threshold: 0.9, margin: 0.05 }).nearestId, 'bob');
  assert.equal(matchEmbedding(unit(65), g, { threshold: 0.5, margin: 0.05 }).personId, null, 'ann and bob both at 25 degrees: no margin, unknown');
  assert.equal(matchEmbedding(unit(0), gallery(1, ['ann'], []), { threshold: 0.1, margin: 0 }).personId, null, 'nobody with references: unknown');
  assert.throws(() => matchEmbedding(new Float32Array(3), g, { threshold: 0.9, margin: 0 }), RangeError);
});

test('votes: 2 of 3 settle, the identity stays with its track id, one disagreeing check hides at once', () => {
  let s = syncIdentities(createIdentityState(), [1, 2], undefined);
  assert.deepEqual(pickForEmbedding(s, [1, 2], 0, S), [1, 2], 'new tracks are due at once');
  s = addVote(s, 1, { personId: 'ann', score: 0.97 }, 0, S);
  assert.equal(identityLabel(s.identities[0], undefined), undefined, 'one vote settles nothing');
  assert.equal(isShown(s.identities[0]), false);
  assert.equal(wantsEmbedding(s.identities[0]!, 50, S), false);
  assert.equal(wantsEmbedding(s.identities[0]!, 100, S), true, 'unsettled: again after settleEveryMs');
  s = addVote(s, 1, { personId: 'ann', score: 0.99 }, 100, S);
  assert.deepEqual(s.identities[0]!.settled, { personId: 'ann', score: 0.98 });
  assert.equal(isShown(s.identities[0]), true);
  assert.equal(s.identities[1]!.settled, null, 'track 2 is untouched');
  assert.equal(wantsEmbedding(s.identities[0]!, 600, S), false, 'settled: checked every recheckMs');
  assert.equal(wantsEmbedding(s.identities[0]!, 1100, S), true);
  s = addVote(s, 1, { personId: null, score: 0.5 }, 1100, S);
  assert.equal(s.identities[0]!.settled!.personId, 'ann', '2 of the last 3 still say ann');
  assert.equal(isShown(s.identities[0]), false, 'but the latest check disagrees: hidden');
  assert.equal(wantsEmbedding(s.identities[0]!, 1200, S), true, 'and checked again soon');
  s = addVote(s, 1, { personId: null, score: 0.5 }, 1200, S);
  assert.equal(s.identities[0]!.settled!.personId, null, 'two unknowns of three: settled unknown');
  assert.equal(identityLabel(s.identities[0], undefined), null);
  // Ending track 1 ends its identity; a new track 3 starts with none.
  s = syncIdentities(s, [2, 3], undefined);
  assert.deepEqual(s.identities.map((i) => [i.trackId, i.votes.length]), [[2, 0], [3, 0]]);
});

test('pick: due tracks, unsettled first, then the longest waiting, at most maxPerFrame', () => {
  let s = syncIdentities(createIdentityState(), [1, 2, 3], undefined);
  for (const id of [1, 2]) {
    s = addVote(s, id, { personId: 'ann', score: 1 }, 0, S);
    s = addVote(s, id, { personId: 'ann', score: 1 }, 100, S);
  }
  s = addVote(s, 2, { personId: 'ann', score: 1 }, 2000, S);
  assert.deepEqual(pickForEmbedding(s, [1, 2, 3], 3100, S), [3, 1], 'unsettled 3 first, then 1 (checked at 100, 2 at 2000)');
  assert.deepEqual(pickForEmbedding(s, [1, 2], 3100, { ...S, maxPerFrame: 1 }), [1]);
  assert.deepEqual(pickForEmbedding(s, [2], 2500, S), [], 'not due');
});

test('gallery changes: a deleted person is forgotten at once, renamed keeps the track, a grown gallery rechecks unknowns', () => {
  const g1 = gallery(1, ['ann', 'bob'], [[0, unit(0)], [1, unit(90)]]);
  let s = syncIdentities(createIdentityState(), [1, 2], g1);
  for (const t of [0, 100]) {
    s = addVote(s, 1, { personId: 'ann', score: 0.99 }, t, S);
    s = addVote(s, 2, { personId: null, score: 0.3 }, t, S);
  }
  assert.equal(identityLabel(s.identities[0], g1), 'ANN');
  const renamed = { ...g1, version: 2, meta: { ...g1.meta, people: [{ id: 'ann', name: 'Anna' }, { id: 'bob', name: 'BOB' }] } };
  s = syncIdentities(s, [1, 2], renamed);
  assert.equal(identityLabel(s.identities[0], renamed), 'Anna', 'renamed: same identity, new name');
  assert.equal(wantsEmbedding(s.identities[1]!, 150, S), true, 'a changed gallery rechecks the unknown at once');
  const deleted = gallery(3, ['bob'], [[0, unit(90)]]);
  s = syncIdentities(s, [1, 2], deleted);
  assert.equal(s.identities[0]!.settled, null, 'ann deleted: unsettled');
  assert.equal(isShown(s.identities[0]), false);
  assert.deepEqual(s.identities[0]!.votes, [], 'and her votes are gone');
  s = syncIdentities(s, [1, 2], undefined);
  assert.equal(s.galleryVersion, 0, 'no gallery');
});

test('bitmap font: letters in either case, digits, and ? for the rest', () => {
  assert.deepEqual(glyphRows('a'), glyphRows('A'));
  assert.deepEqual(glyphRows('é'), glyphRows('?'));
  assert.equal(glyphCells(' ').length, 0);
  const i = glyphCells('I');
  assert.equal(i.length, 3 + 1 + 1 + 1 + 3);
  assert.ok(glyphCells('AB').some(([col]) => col >= 4), 'the second glyph starts 4 columns on');
});

test('checkAgain: a track that may have swapped faces is hidden and embedded first, until its next vote', () => {
  let s = syncIdentities(createIdentityState(), [1, 2], undefined);
  for (const t of [0, 100]) {
    s = addVote(s, 1, { personId: 'ann', score: 0.99 }, t, S);
    s = addVote(s, 2, { personId: null, score: 0.3 }, t, S);
  }
  assert.equal(isShown(s.identities[0]), true);
  s = checkAgain(s, [1]);
  assert.equal(isShown(s.identities[0]), false, 'hidden at once');
  assert.deepEqual(pickForEmbedding(s, [1, 2], 200, { ...S, maxPerFrame: 1 }), [1], 'due first');
  s = addVote(s, 1, { personId: 'ann', score: 0.98 }, 200, S);
  assert.equal(isShown(s.identities[0]), true, 'the check agreed: shown again');
  s = checkAgain(s, [1]);
  s = addVote(s, 1, { personId: null, score: 0.5 }, 233, S);
  assert.equal(isShown(s.identities[0]), false, 'the check disagreed: stays hidden');
});
