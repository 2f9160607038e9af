import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventTracker } from '../../../server/events/event-tracker.ts';
import { decodeTimePrefix, EventIdFactory } from '../../../server/events/event-id.ts';
import type { DetectionsEvent, Detection } from '../../../server/pipeline/detections-event.ts';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const FPS = 25;

function frame(index: number, detections: Partial<Detection>[], streamKey = 'cam'): DetectionsEvent {
  return {
    streamKey, streamPath: `/live/${streamKey}`, frameIndex: index, ptsMs: (index * 1000) / FPS,
    wallClockMs: T0 + (index * 1000) / FPS, width: 640, height: 480,
    detections: detections.map((d) => ({
      kind: 'face', trackId: 1, score: 0.8, box: { x: 64, y: 48, width: 64, height: 96 }, confirmed: true, detected: true, ...d,
    })),
  };
}

describe('EventTracker', () => {
  it('starts one event when a track is confirmed, dated from its first sighting', () => {
    const t = new EventTracker({ trackLostMs: 500 });
    assert.deepEqual(t.observe(frame(0, [{ confirmed: false }])).changes, []);
    assert.deepEqual(t.observe(frame(1, [{ confirmed: false }])).changes, []);
    const out = t.observe(frame(2, [{}]));
    assert.equal(out.changes.length, 1);
    const e = out.changes[0]!.event;
    assert.equal(out.changes[0]!.type, 'start');
    assert.equal(e.startMs, T0);
    assert.equal(decodeTimePrefix(e.id), T0, 'the id sorts by start time');
    assert.equal(e.firstPtsMs, 0);
    assert.equal(e.frameCount, 3);
    assert.deepEqual(e.boxRelative, { x: 0.1, y: 0.1, width: 0.1, height: 0.2 });
    assert.deepEqual(out.improved.map((i) => i.id), [e.id], 'the start is the first best moment');
  });

  it('keeps a track that is never confirmed out of the events', () => {
    const t = new EventTracker({ trackLostMs: 100 });
    const changes = [0, 1, 2, 3].flatMap((i) => t.observe(frame(i, [{ confirmed: false }])).changes);
    changes.push(...t.observe(frame(20, [])).changes, ...t.endStream('cam'));
    assert.deepEqual(changes, []);
  });

  it('follows the top score, its box and frame, throttles updates, counts frames', () => {
    const t = new EventTracker({ trackLostMs: 500, updateIntervalMs: 1000 });
    const scores = [0.5, 0.9, 0.7, 0.9, 0.6];
    const outs = scores.map((score, i) => t.observe(frame(i, [{ score, box: { x: i, y: 0, width: 10 + i, height: 10 } }])));
    assert.equal(outs[0]!.changes[0]!.type, 'start');
    assert.deepEqual(outs.map((o) => o.improved.length), [1, 1, 0, 1, 0], 'same score, larger box is better');
    const open = t.open()[0]!;
    assert.equal(open.topScore, 0.9);
    assert.equal(open.topPtsMs, (3 * 1000) / FPS);
    assert.deepEqual(open.box, { x: 3, y: 0, width: 13, height: 10 });
    assert.equal(open.frameCount, 5);
    assert.deepEqual(outs.flatMap((o) => o.changes.map((c) => c.type)), ['start'], 'no update within 1 s');
    const later = t.observe(frame(FPS, [{ score: 0.1 }]));
    assert.deepEqual(later.changes.map((c) => c.type), ['update']);
    assert.equal(later.changes[0]!.event.lastPtsMs, 1000);
  });

  it('ends a track absent for longer than trackLostMs (not at the grace itself), at its last sighting', () => {
    const t = new EventTracker({ trackLostMs: 200 });
    const id = t.observe(frame(0, [{}])).changes[0]!.event.id;
    t.observe(frame(1, [{}]));
    // 5 frames at 25 fps = 200 ms after frame 1: still within the grace.
    assert.deepEqual(t.observe(frame(6, [])).changes, []);
    const end = t.observe(frame(7, [])).changes;
    assert.equal(end.length, 1);
    assert.equal(end[0]!.type, 'end');
    assert.equal(end[0]!.event.id, id);
    assert.equal(end[0]!.event.endReason, 'track_lost');
    assert.equal(end[0]!.event.endMs, T0 + 40);
    assert.equal(t.isOpen(id), false);
    // The same track id seen again later is a new appearance: a new event.
    const again = t.observe(frame(30, [{}])).changes[0]!;
    assert.equal(again.type, 'start');
    assert.notEqual(again.event.id, id);
    assert.ok(again.event.id > id, 'ids sort by start');
  });

  it('a track that flickers within the grace stays one event', () => {
    const t = new EventTracker({ trackLostMs: 500 });
    const types: string[] = [];
    for (let i = 0; i < 200; i++) types.push(...t.observe(frame(i, i % 7 < 4 ? [{}] : [])).changes.map((c) => c.type));
    assert.equal(types.filter((x) => x === 'start').length, 1);
    assert.equal(types.filter((x) => x === 'end').length, 0);
  });

  it('a new track id where an open event\'s track was lost within trackLostMs continues that event (the plugin gave up sooner)', () => {
    const t = new EventTracker({ trackLostMs: 1000 });
    const types: string[] = [];
    const observe = (i: number, dets: Partial<Detection>[]) => types.push(...t.observe(frame(i, dets)).changes.map((c) => c.type));
    for (let i = 0; i < 10; i++) observe(i, [{ trackId: 1 }]);
    // 600 ms without the face (15 frames at 25 fps), then the plugin's new track 2, moved a little and unconfirmed at first.
    for (let i = 10; i < 25; i++) observe(i, []);
    observe(25, [{ trackId: 2, confirmed: false, box: { x: 80, y: 50, width: 64, height: 96 } }]);
    for (let i = 26; i < 40; i++) observe(i, [{ trackId: 2 }]);
    assert.deepEqual(types.filter((x) => x !== 'update'), ['start'], 'no end, no second start');
    const [e] = t.open();
    assert.equal(e!.trackId, 1, 'the event keeps the track id it started with');
    assert.equal(e!.frameCount, 25);
    assert.equal(e!.lastPtsMs, (39 * 1000) / FPS);
    const end = t.observe(frame(100, [])).changes;
    assert.deepEqual(end.map((c) => [c.type, c.event.endReason, c.event.frameCount]), [['end', 'track_lost', 25]]);
  });

  it('does not take over an event from afar, of another kind, past trackLostMs, or while its own track is still reported', () => {
    const t = new EventTracker({ trackLostMs: 400 });
    const starts = (i: number, dets: Partial<Detection>[]) => t.observe(frame(i, dets)).changes.filter((c) => c.type === 'start').map((c) => c.event.trackId);
    assert.deepEqual(starts(0, [{ trackId: 1 }]), [1]);
    // Far away (another face), and another kind at the same place: events of their own.
    assert.deepEqual(starts(3, [{ trackId: 2, box: { x: 400, y: 300, width: 64, height: 96 } }, { kind: 'person', trackId: 1 }]), [2, 1]);
    // Its own track reported on the same frame: a neighbour is a second face, not the same one.
    assert.deepEqual(starts(4, [{ trackId: 3, box: { x: 70, y: 48, width: 64, height: 96 } }, { trackId: 1 }]), [3]);
    // Track 1 last seen at frame 4; 440 ms later (past trackLostMs) its event has ended: a new track is new.
    const later = t.observe(frame(15, [{ trackId: 4 }]));
    assert.deepEqual(later.changes.filter((c) => c.type === 'start').map((c) => c.event.trackId), [4]);
    assert.ok(later.changes.some((c) => c.type === 'end' && c.event.trackId === 1));
  });

  it('keeps kinds, tracks and streams apart; a stream end closes only its own events', () => {
    const t = new EventTracker({ trackLostMs: 500 });
    t.observe(frame(0, [{ trackId: 1 }, { trackId: 2 }, { kind: 'person', trackId: 1 }]));
    t.observe(frame(0, [{ trackId: 1 }], 'other'));
    assert.equal(t.open().length, 4);
    const ended = t.endStream('cam');
    assert.equal(ended.length, 3);
    assert.ok(ended.every((c) => c.type === 'end' && c.event.endReason === 'stream_ended' && c.event.streamKey === 'cam'));
    assert.deepEqual(t.open().map((e) => e.streamKey), ['other']);
    assert.deepEqual(t.endAll('server_restart').map((c) => c.event.endReason), ['server_restart']);
  });

  it('keeps a settled label, and takes a later one', () => {
    const t = new EventTracker({ trackLostMs: 500 });
    t.observe(frame(0, [{ label: null }]));
    assert.equal(t.open()[0]!.label, null);
    t.observe(frame(1, [{ label: 'ada' }]));
    t.observe(frame(2, [{ label: null }]));
    t.observe(frame(3, [{}]));
    assert.equal(t.open()[0]!.label, 'ada');
  });

  it('hands out copies: changing one does not change the tracker', () => {
    const t = new EventTracker({ trackLostMs: 500 });
    const e = t.observe(frame(0, [{}])).changes[0]!.event;
    e.topScore = 0;
    assert.equal(t.open()[0]!.topScore, 0.8);
  });
});

describe('EventIdFactory', () => {
  it('makes strictly increasing ids, within one ms too', () => {
    const ids = new EventIdFactory();
    const made = [ids.next(T0), ids.next(T0), ids.next(T0), ids.next(T0 - 5), ids.next(T0 + 1)];
    assert.deepEqual([...made].sort(), made);
    assert.equal(new Set(made).size, made.length);
    for (const id of made) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(decodeTimePrefix(made[4]!), T0 + 1);
  });
});
