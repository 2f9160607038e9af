/**
 * Test helpers for the events: event records and detection frames built from a few numbers.
 */
import { EventIdFactory } from '../../../server/events/event-id.ts';
import type { EventRecord } from '../../../server/events/event-record.ts';

/** T0 is the tests' reference time, 2025-01-02T03:04:05Z. */
export const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

/** makeEvent is an ended face event started `startMs`, with fields overridden by `over`. */
export function makeEvent(ids: EventIdFactory, startMs: number, over: Partial<EventRecord> = {}): EventRecord {
  return {
    id: ids.next(startMs), streamKey: 'cam', kind: 'face', label: null, labelScore: null, trackId: 1,
    startMs, endMs: startMs + 2000, endReason: 'track_lost',
    firstPtsMs: 0, lastPtsMs: 2000, lastSeenMs: startMs + 2000, frameCount: 50,
    topScore: 0.9, topPtsMs: 400, box: { x: 10, y: 20, width: 30, height: 40 },
    boxRelative: { x: 0.1, y: 0.2, width: 0.3, height: 0.4 }, frameWidth: 100, frameHeight: 100, snapshot: null,
    ...over,
  };
}
