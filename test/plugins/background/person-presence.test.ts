/**
 * People in view from the mask: a track id while someone is in view, kept over short gaps, a new
 * one after a longer absence; the box and score come from the person pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESENCE_HOLD_FRAMES, updatePresence, type PersonPresence } from '../../../plugins/background/person-presence.ts';

const W = 64, H = 36;
function mask(person: { x: number; y: number; w: number; h: number } | null, value = 0.9): Float32Array {
  const m = new Float32Array(W * H).fill(0.05);
  if (person) for (let y = person.y; y < person.y + person.h; y++) for (let x = person.x; x < person.x + person.w; x++) m[y * W + x] = value;
  return m;
}

test('a person in view: box in frame px, mean score, confirmed on the third frame', () => {
  let presence: PersonPresence | undefined;
  const confirmed: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    const r = updatePresence(mask({ x: 10, y: 4, w: 20, h: 30 }), W, H, 1280, 720, 0.5, presence);
    presence = r.presence;
    confirmed.push(r.detection!.confirmed);
    assert.deepEqual(r.detection!.box, { x: 200, y: 80, width: 400, height: 600 });
    assert.ok(Math.abs(r.detection!.score - 0.9) < 1e-6);
    assert.equal(r.detection!.trackId, 1);
  }
  assert.deepEqual(confirmed, [false, false, true, true]);
});

test('the track survives a short gap and ends after a long one; nobody in view gives no detection', () => {
  let { presence } = updatePresence(mask({ x: 0, y: 0, w: 10, h: 10 }), W, H, W, H, 0.5, undefined);
  for (let i = 0; i < PRESENCE_HOLD_FRAMES; i++) {
    const r = updatePresence(mask(null), W, H, W, H, 0.5, presence);
    assert.equal(r.detection, null);
    presence = r.presence;
  }
  let r = updatePresence(mask({ x: 0, y: 0, w: 10, h: 10 }), W, H, W, H, 0.5, presence);
  assert.equal(r.detection!.trackId, 1, 'back within the hold: the same track');
  presence = r.presence;
  for (let i = 0; i <= PRESENCE_HOLD_FRAMES; i++) presence = updatePresence(mask(null), W, H, W, H, 0.5, presence).presence;
  r = updatePresence(mask({ x: 0, y: 0, w: 10, h: 10 }), W, H, W, H, 0.5, presence);
  assert.equal(r.detection!.trackId, 2, 'after a longer absence: a new track');
  assert.equal(updatePresence(mask({ x: 0, y: 0, w: 2, h: 2 }), W, H, W, H, 0.5, undefined).detection, null, 'under 1% of the mask is nobody');
});
