/**
 * The face tracker on constructed detections: ids live while a face stays in view, a face missed
 * for a few frames keeps its track (predicted at its velocity) until holdMs, confirmation counts
 * detector runs, boxes are smoothed, a timeline going backwards starts over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FaceDetection } from '../../../models/face/decode.ts';
import { createTrackerState, predictTracks, trackPixelBox, updateTracks, type TrackerState } from '../../../plugins/faces/face-tracker.ts';

const settings = { holdMs: 400, confirmRuns: 3 };
const FRAME_MS = 1000 / 30;

function face(x: number, y: number, size: number, score = 0.9): FaceDetection {
  return { xMin: x, yMin: y, width: size, height: size, score, keypoints: Array.from({ length: 6 }, () => ({ x: x + size / 2, y: y + size / 2 })) };
}

function run(frames: FaceDetection[][], start: TrackerState = createTrackerState()): TrackerState[] {
  const states: TrackerState[] = [];
  let s = start;
  frames.forEach((dets, i) => {
    s = updateTracks(s, dets, i, i * FRAME_MS, settings);
    states.push(s);
  });
  return states;
}

test('two faces moving across keep their ids, confirmed on the third run', () => {
  const frames = Array.from({ length: 30 }, (_, i) => [face(100 + 4 * i, 100, 60), face(400 - 3 * i, 120, 50)]);
  const states = run(frames);
  assert.deepEqual(states.map((s) => s.tracks.map((t) => t.id)), frames.map(() => [1, 2]));
  assert.deepEqual(states.slice(0, 4).map((s) => s.tracks.every((t) => t.confirmed)), [false, false, true, true]);
  const last = states.at(-1)!.tracks;
  assert.ok(Math.abs(last[0]!.velocity.cx - 4) < 0.5, `velocity ${last[0]!.velocity.cx} px/frame follows the motion`);
  assert.ok(Math.abs(trackPixelBox(last[0]!).x - (100 + 4 * 29)) < 3, 'the smoothed box stays on the face');
});

test('a face the detector misses for 8 frames keeps its track, predicted along its motion, then ends after holdMs', () => {
  const seen = Array.from({ length: 10 }, (_, i) => [face(100 + 5 * i, 100, 60)]);
  let s = run(seen).at(-1)!;
  for (let i = 10; i < 18; i++) s = updateTracks(s, [], i, i * FRAME_MS, settings);
  assert.equal(s.tracks.length, 1, 'still tracked after 8 missed frames (267 ms < 400 ms)');
  const predictedX = trackPixelBox(s.tracks[0]!).x;
  assert.ok(predictedX > 100 + 5 * 9 + 10, `predicted box moved on (${predictedX.toFixed(1)})`);
  assert.equal(s.tracks[0]!.measured, null);
  s = updateTracks(s, [face(100 + 5 * 18, 100, 60)], 18, 18 * FRAME_MS, settings);
  assert.deepEqual(s.tracks.map((t) => t.id), [1], 'the face found again continues its track');
  for (let i = 19; i < 19 + 13; i++) s = updateTracks(s, [], i, i * FRAME_MS, settings);
  assert.equal(s.tracks.length, 0, 'ended 400 ms after its last detection');
});

test('boxes do not jitter: detector noise of +-3 px moves the smoothed box less', () => {
  const noise = [3, -3, 2, -2, 3, -3, 1, -1, 3, -3, 2, -2, 3, -3, 2, -2, 3, -3, 2, -2];
  const states = run(noise.map((n) => [face(200 + n, 150 - n, 80 + n)]));
  const xs = states.slice(5).map((s) => trackPixelBox(s.tracks[0]!).x);
  const raw = noise.slice(5).map((n) => 200 + n);
  const spread = (v: number[]) => Math.max(...v) - Math.min(...v);
  assert.ok(spread(xs) < spread(raw) * 0.8, `smoothed spread ${spread(xs).toFixed(2)} vs raw ${spread(raw)}`);
});

test('far apart faces and new ones get new ids; a timeline that goes back starts over, ids keep counting', () => {
  let s = run([[face(0, 0, 40)], [face(0, 0, 40), face(500, 300, 40)]]).at(-1)!;
  assert.deepEqual(s.tracks.map((t) => t.id), [1, 2]);
  s = predictTracks(s, 0, 0, settings);
  assert.deepEqual(s.tracks, [], 'frame index went backwards: no tracks');
  s = updateTracks(s, [face(10, 10, 40)], 1, FRAME_MS, settings);
  assert.deepEqual(s.tracks.map((t) => t.id), [3]);
  assert.equal(s.tracks[0]!.confirmed, false);
});

test('the state survives a structured clone (it travels between worker threads)', () => {
  const s = run([[face(10, 10, 40)], [face(12, 10, 40)]]).at(-1)!;
  const copy = structuredClone(s);
  assert.deepEqual(updateTracks(copy, [face(14, 10, 40)], 2, 2 * FRAME_MS, settings), updateTracks(s, [face(14, 10, 40)], 2, 2 * FRAME_MS, settings));
});

test('an association that is not clear-cut is flagged (ambiguousAt): a jump matched by distance, two faces overlapping', () => {
  const [, clear] = run([[face(100, 100, 50)], [face(104, 100, 50)]]);
  assert.equal(clear!.tracks[0]!.ambiguousAt, undefined, 'a small move matched by overlap is clear-cut');
  // A face whose box shrinks as it moves: no overlap of 0.1 with the track, but its centre is near.
  const [, jump] = run([[face(100, 100, 80)], [face(189, 130, 20)]]);
  assert.equal(jump!.tracks.length, 1, 'still one track');
  assert.equal(jump!.tracks[0]!.ambiguousAt, 1, 'matched by centre distance');
  const [, crossing] = run([[face(100, 100, 50), face(170, 100, 50)], [face(130, 100, 50), face(140, 100, 50)]]);
  assert.deepEqual(crossing!.tracks.map((t) => t.ambiguousAt), [1, 1], 'each detection overlaps both tracks: either could be either face');
});

test('missed detector runs: under sparse runs a track outlives holdMs until two runs in a row missed it', () => {
  const s0 = updateTracks(createTrackerState(), [face(100, 100, 50)], 0, 0, settings);
  const s1 = updateTracks(s0, [], 15, 500, settings);
  assert.equal(s1.tracks.length, 1, '500 ms > holdMs, but only one run missed it');
  const s2 = updateTracks(s1, [], 30, 1000, settings);
  assert.equal(s2.tracks.length, 1, 'the second missed run is counted after the prediction');
  assert.equal(predictTracks(s2, 31, 1033, settings).tracks.length, 0, 'then it ends');
});
