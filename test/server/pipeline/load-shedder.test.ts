import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadShedder } from '../../../server/pipeline/load-shedder.ts';

test('the model interval rises under backlog or drops, capped, and relaxes after calm frames', () => {
  const s = new LoadShedder(4);
  assert.equal(s.modelIntervalFrames, 1);
  s.observe(0, false);
  assert.equal(s.modelIntervalFrames, 1, 'calm stays at every frame');
  s.observe(2, false);
  assert.equal(s.modelIntervalFrames, 2, 'a backlog sheds');
  s.observe(3, true);
  assert.equal(s.modelIntervalFrames, 4, 'backlog and a drop shed faster');
  s.observe(3, true);
  assert.equal(s.modelIntervalFrames, 4, 'capped');
  for (let i = 0; i < 59; i++) s.observe(0, false);
  assert.equal(s.modelIntervalFrames, 4, 'not yet relaxed');
  s.observe(0, false);
  assert.equal(s.modelIntervalFrames, 3, 'relaxes by one after 60 calm frames');
  s.observe(1, false);
  for (let i = 0; i < 60; i++) s.observe(1, false);
  assert.equal(s.modelIntervalFrames, 3, 'a queue of one is neither calm nor backlog');
});

test('an interval of 1 disables shedding', () => {
  const s = new LoadShedder(1);
  s.observe(5, true);
  assert.equal(s.modelIntervalFrames, 1);
});
