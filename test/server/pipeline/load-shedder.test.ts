import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadShedder } from '../../../server/pipeline/load-shedder.ts';

/** feed observes the same queue depth n times and returns the shedder. */
function feed(s: LoadShedder, queued: number, n: number, dropped = false): LoadShedder {
  for (let i = 0; i < n; i++) s.observe(queued, dropped);
  return s;
}

test('short bursts of queued frames keep full quality', () => {
  const s = new LoadShedder(4);
  for (let i = 0; i < 600; i++) s.observe(i % 10 === 0 ? 3 : i % 3 === 0 ? 1 : 0, false);
  assert.equal(s.modelIntervalFrames, 1, 'a burst of 3 every 10 frames is not a backlog');
  assert.ok(s.backlogFrames < 1, `smoothed depth ${s.backlogFrames}`);
});

test('a sustained backlog sheds one step, then waits for the change to act before the next', () => {
  const s = new LoadShedder(4);
  feed(s, 2, 15);
  assert.equal(s.modelIntervalFrames, 1, 'half a second of a queue of 2 does not shed yet');
  let frames = 0;
  while (s.modelIntervalFrames === 1 && frames < 100) { s.observe(3, false); frames += 1; }
  assert.equal(s.modelIntervalFrames, 2, 'a queue that stays up sheds');
  assert.ok(frames > 0 && frames < 15, `shed after ${frames} more frames`);
  frames = 0;
  while (s.modelIntervalFrames === 2 && frames < 100) { s.observe(3, false); frames += 1; }
  assert.equal(frames, 30, 'the next step comes once the first has had 30 frames to act');
  feed(s, 3, 200);
  assert.equal(s.modelIntervalFrames, 4, 'capped at the maximum');
});

test('a dropped frame sheds at once; more drops in the next second are the same step', () => {
  const s = new LoadShedder(4);
  s.observe(0, true);
  assert.equal(s.modelIntervalFrames, 2);
  feed(s, 0, 3, true);
  assert.equal(s.modelIntervalFrames, 2, "a start-up burst's drops are one step");
  feed(s, 0, 26);
  s.observe(0, true);
  assert.equal(s.modelIntervalFrames, 3, 'a drop 30 frames after the last step is the next step');
});

test('the interval relaxes one step per 60 calm frames, and a standing queue is not calm', () => {
  const s = new LoadShedder(4);
  feed(s, 0, 90, true);
  assert.equal(s.modelIntervalFrames, 4);
  feed(s, 0, 59);
  assert.equal(s.modelIntervalFrames, 4, 'not yet relaxed');
  feed(s, 0, 1);
  assert.equal(s.modelIntervalFrames, 3, 'relaxes by one after 60 calm frames');
  feed(s, 1, 300);
  assert.equal(s.modelIntervalFrames, 3, 'a standing queue of one is neither calm nor backlog');
  feed(s, 0, 200);
  assert.equal(s.modelIntervalFrames, 1, 'calm again: back to every frame');
});

test('an interval of 1 disables shedding', () => {
  const s = new LoadShedder(1);
  feed(s, 5, 100, true);
  assert.equal(s.modelIntervalFrames, 1);
});
