/**
 * Table-driven tests of the player's pure event helpers (player/event-format.js, the query and URL
 * builders of player/events-api.js, the history's datetime-local conversion), run in node: they
 * touch no DOM. The page itself is tested in Chromium by player-events.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/server-process.ts';

// The player is plain JavaScript without types: loaded by URL, typed here by what the tests use.
type Ev = Record<string, unknown>;
const load = (file: string) => import(pathToFileURL(join(REPO_ROOT, 'player', file)).href);
const format = (await load('event-format.js')) as {
  formatDuration(ms: number): string; formatScore(s: unknown): string; labelText(l: unknown): string; kindLabel(k: string): string;
  isLive(e: Ev): boolean; durationMs(e: Ev): number; formatClock(ms: number, now: number): string; formatDateTime(ms: number): string;
  endReasonText(r: string | null): string; eventSummary(e: Ev, now: number): string;
};
const api = (await load('events-api.js')) as {
  eventsQuery(f: Ev): URLSearchParams; liveEventsUrl(k: string | null): string; snapshotUrl(e: Ev | null): string | null;
};
const history = (await load('events-history.js')) as { localTimeToIso(v: string): string | undefined };

describe('event formatting', () => {
  test('formatDuration', () => {
    const table: [number, string][] = [[0, '0.0 s'], [-5, '0.0 s'], [4240, '4.2 s'], [59_949, '59.9 s'], [60_000, '1 min 00 s'],
      [185_400, '3 min 05 s'], [3_599_999, '59 min 59 s'], [3_600_000, '1 h 00 min'], [7_620_000, '2 h 07 min']];
    for (const [ms, text] of table) assert.equal(format.formatDuration(ms), text, `${ms} ms`);
  });

  test('formatScore, labelText, kindLabel, endReasonText', () => {
    assert.equal(format.formatScore(0.934), '93%');
    assert.equal(format.formatScore(1), '100%');
    assert.equal(format.formatScore(undefined), '—');
    assert.equal(format.formatScore(Number.NaN), '—');
    assert.equal(format.labelText(null), 'unknown');
    assert.equal(format.labelText(''), 'unknown');
    assert.equal(format.labelText('alice'), 'alice');
    assert.equal(format.kindLabel('face'), 'Face');
    assert.equal(format.kindLabel('person'), 'Person');
    assert.equal(format.kindLabel('car'), 'car');
    assert.equal(format.endReasonText('track_lost'), 'left the view');
    assert.equal(format.endReasonText('stream_ended'), 'stream ended');
    assert.equal(format.endReasonText('server_restart'), 'server restarted');
    assert.equal(format.endReasonText('node_lost'), 'node lost');
    assert.equal(format.endReasonText(null), '');
  });

  test('durationMs: to the end, or to the last sighting while live', () => {
    assert.equal(format.durationMs({ startMs: 1000, endMs: 5200, lastSeenMs: 5000 }), 4200);
    assert.equal(format.durationMs({ startMs: 1000, endMs: null, lastSeenMs: 3000 }), 2000);
    assert.equal(format.isLive({ endMs: null }), true);
    assert.equal(format.isLive({ endMs: 5 }), false);
  });

  test('formatClock: the time today, the date and time another day (local time)', () => {
    const now = new Date(2026, 11, 7, 15, 0, 0).getTime();
    assert.equal(format.formatClock(new Date(2026, 11, 7, 9, 5, 3).getTime(), now), '09:05:03');
    assert.equal(format.formatClock(new Date(2026, 11, 6, 23, 59, 59).getTime(), now), '2026-12-06 23:59');
    assert.equal(format.formatDateTime(new Date(2026, 0, 2, 3, 4, 5).getTime()), '2026-01-02 03:04:05');
  });

  test('eventSummary', () => {
    const now = new Date(2026, 11, 7, 15, 0, 0).getTime();
    const start = new Date(2026, 11, 7, 14, 3, 27).getTime();
    const e = { kind: 'face', label: null, streamKey: 'demo', startMs: start, endMs: start + 4200, lastSeenMs: start + 4100, topScore: 0.93 };
    assert.equal(format.eventSummary(e, now), 'Face, unknown, on demo at 14:03:27, 4.2 s, top score 93%');
    assert.equal(format.eventSummary({ ...e, endMs: null }, now), 'Face, unknown, on demo at 14:03:27, live for 4.1 s, top score 93%');
  });
});

describe('events API URLs', () => {
  test('eventsQuery leaves empty filters out', () => {
    assert.equal(api.eventsQuery({ stream: 'a b', kind: '', label: undefined, minScore: 0, limit: 50, cursor: null }).toString(), 'stream=a+b&minScore=0&limit=50');
    assert.equal(api.eventsQuery({}).toString(), '');
  });

  test('liveEventsUrl and snapshotUrl', () => {
    assert.equal(api.liveEventsUrl(null), '/api/events/live');
    assert.equal(api.liveEventsUrl('cam/1'), '/api/events/live?stream=cam%2F1');
    assert.equal(api.snapshotUrl({ snapshot: null }), null);
    assert.equal(api.snapshotUrl(null), null);
    assert.equal(api.snapshotUrl({ snapshot: { url: '/api/events/X/snapshot.jpg', bytes: 1234 } }), '/api/events/X/snapshot.jpg?v=1234');
  });

  test('localTimeToIso turns a datetime-local value into UTC ISO', () => {
    assert.equal(history.localTimeToIso(''), undefined);
    assert.equal(history.localTimeToIso('not a time'), undefined);
    assert.equal(history.localTimeToIso('2026-12-07T14:03:27'), new Date(2026, 11, 7, 14, 3, 27).toISOString());
    assert.equal(history.localTimeToIso('2026-12-07T14:03'), new Date(2026, 11, 7, 14, 3).toISOString());
  });
});
