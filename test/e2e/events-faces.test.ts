/**
 * Issue #20, done-when: detection events from a real clip through the real server. A real ffmpeg
 * publishes sister.mkv (one young man, waist up, his face in view the whole 2.9 s clip) four times
 * over (`-stream_loop 3`, ~11.7 s, the face at the same place across each loop point) with
 * `?faces=detect` (the default background replacement stays on, so its `person` track makes events
 * too), and beside it again.mkv (another man, 2.6 s, also four times) with
 * `?background=off&faces=detect`, its face hidden for 700 ms once (see HIDDEN). While they run
 * the test reads the live feed (`/api/events/live`) and the query API; after the publishers are done every event must be ended, every snapshot a
 * JPEG of the 640x480 frame, and each face ONE event. What the clips give, measured before this
 * test was written: alone on the server, one face track per clip (sister.mkv from ~470 ms of PTS,
 * its first detector hit unconfirmed; again.mkv from its first frame); with the two streams side
 * by side on this 2-core machine, load shedding thinned the detector runs and the faces plugin's
 * tracker gave sister's face 2-4 track ids, one event each, until EventTracker re-linked a new id
 * to the event of the face lost where it appears (the test failed so on the code before: 4 and 3
 * face events). A count above one is a fragmented track.
 *
 * Latency of the live feed: the `start` message is sent on the frame that confirms the track, and
 * that event's `lastSeenMs` is the server's wall clock (Date.now(), same machine) when that frame's
 * processing finished: the moment the face was first confirmed. The test takes the time the
 * message arrived at its own SSE client minus that `lastSeenMs`, and also reports it against
 * `startMs` (first sighting, unconfirmed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { mediaFile, mediaSkip, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { streamEntry } from '../helpers/fault-tools.ts';
import { connectSse, type SseClient, type SseMessage } from '../server/events/sse-client.ts';

const WIDTH = 640;
const HEIGHT = 480;
/** -stream_loop 3: each clip is played 4 times. */
const LOOPS = 3;
/** The live feed's promise: a `start` within this long of the confirmation. */
const START_LATENCY_MS = 2000;

interface ApiEvent {
  id: string; streamKey: string; kind: 'face' | 'person'; trackId: number;
  startMs: number; endMs: number | null; endReason: string | null; lastSeenMs: number;
  firstPtsMs: number; lastPtsMs: number; frameCount: number; topScore: number;
  box: { x: number; y: number; width: number; height: number };
  boxRelative: { x: number; y: number; width: number; height: number };
  frameWidth: number; frameHeight: number;
  snapshot: { url: string; bytes: number } | null;
}

interface Run { key: string; clip: string; query: string; kinds: ApiEvent['kind'][]; filter?: string; publisher?: Publisher; exited?: Promise<void> }

/**
 * HIDDEN: again.mkv's picture is black from 4.0 to 4.7 s (in its second play): longer than the faces
 * plugin's `holdMs` (400 ms), so its tracker drops the face and sees it again under a new track
 * id, within `events.trackLostMs` (1000 ms) of the last sighting: still one event.
 */
const HIDDEN = { fromS: 4, toS: 4.7 };

let server: ServerProcess;
let live: SseClient;
const runs: Run[] = [
  { key: uniqueKey('ev-sister'), clip: 'sister.mkv', query: 'faces=detect', kinds: ['face', 'person'] },
  {
    key: uniqueKey('ev-again'), clip: 'again.mkv', query: 'background=off&faces=detect', kinds: ['face'],
    filter: `drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,${HIDDEN.fromS},${HIDDEN.toS})'`,
  },
];
const dataDir = () => join(dirname(server.mediaRoot), 'data');
const getJson = async <T>(path: string): Promise<T> => {
  const res = await fetch(server.httpBase + path);
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json() as Promise<T>;
};
const eventsOf = async (key: string) => (await getJson<{ events: ApiEvent[]; nextCursor: string | null }>(`/api/events?stream=${key}&limit=500`)).events;
const startsOf = (key: string, kind?: string) => live.messages.filter((m) => m.event === 'start' && (m.data as ApiEvent).streamKey === key && (kind === undefined || (m.data as ApiEvent).kind === kind));

before(async () => {
  if (mediaSkip) return;
  server = await startServerOnFreePorts([], { LIVEMATTE_LOG_LEVEL: 'info' });
  live = await connectSse(`${server.httpBase}/api/events/live`);
});

after(async () => {
  live?.close();
  await Promise.all(runs.map((r) => r.publisher?.stop()));
  await server?.stop();
});

test('live: a start within 2 s of the confirmation, open events readable over the API while the clips play', { skip: mediaSkip, timeout: 120_000 }, async (t) => {
  for (const r of runs) {
    const filter = r.filter ? ['-vf', r.filter] : [];
    r.publisher = publish(`${server.rtmpBase}/${r.key}?${r.query}`, ['-stream_loop', String(LOOPS), '-i', mediaFile(r.clip)], [...filter, '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '30']);
    r.exited = new Promise((res) => r.publisher!.child.once('exit', () => res()));
  }
  for (const r of runs) {
    const start = await live.next((m) => m.event === 'start' && (m.data as ApiEvent).streamKey === r.key && (m.data as ApiEvent).kind === 'face', 60_000);
    const e = start.data as ApiEvent;
    const sinceConfirmed = start.at - e.lastSeenMs;
    t.diagnostic(`${r.clip}: face track ${e.trackId} confirmed at PTS ${e.lastPtsMs.toFixed(0)} ms after ${e.frameCount} frames; start arrived ${sinceConfirmed} ms after the confirmation, ${start.at - e.startMs} ms after the first sighting`);
    assert.ok(sinceConfirmed >= 0 && sinceConfirmed < START_LATENCY_MS, `start ${sinceConfirmed} ms after the confirming frame`);
    assert.equal(e.endMs, null);
    assert.equal(e.frameWidth, WIDTH);
    assert.equal(e.frameHeight, HEIGHT);

    // The open event over the API, while the publisher still plays: listed (written by the
    // batched writer) and readable by id as the tracker has it now.
    const listed = await waitFor(`${r.key}: the open face event listed`, async () => (await eventsOf(r.key)).find((x) => x.id === e.id), 10_000, 100);
    assert.equal(listed.endMs, null);
    assert.equal(listed.kind, 'face');
    const byId = await waitFor(`${r.key}: the open event growing`, async () => {
      const got = await getJson<ApiEvent>(`/api/events/${e.id}`);
      return got.frameCount > e.frameCount && got;
    }, 10_000, 100);
    assert.equal(byId.endMs, null);
    assert.ok(byId.lastPtsMs > e.lastPtsMs);
    assert.equal(r.publisher!.child.exitCode, null, 'read while the publisher plays');
  }
  const personStart = await live.next((m) => m.event === 'start' && (m.data as ApiEvent).streamKey === runs[0]!.key && (m.data as ApiEvent).kind === 'person', 30_000);
  t.diagnostic(`${runs[0]!.clip}: person (background plugin) start ${personStart.at - (personStart.data as ApiEvent).lastSeenMs} ms after its confirmation`);
  // The faces count of the stream list agrees: one confirmed face in view.
  const entry = await streamEntry(server.httpBase, runs[1]!.key);
  assert.equal(entry?.state, 'live');
});

test('the publishers done: every event ended (stream_ended or track_lost), each snapshot a JPEG of the frame size', { skip: mediaSkip, timeout: 120_000 }, async (t) => {
  await Promise.all(runs.map((r) => r.exited));
  for (const r of runs) {
    const events = await waitFor(`${r.key}: every event ended, with its snapshot`, async () => {
      const list = await eventsOf(r.key);
      return list.length > 0 && list.every((e) => e.endMs !== null && e.snapshot !== null) && list;
    }, 20_000, 200);
    const ends = live.messages.filter((m: SseMessage) => m.event === 'end' && (m.data as ApiEvent).streamKey === r.key);
    t.diagnostic(`${r.clip}: ${events.map((e) => `${e.kind} track ${e.trackId}: ${e.frameCount} frames, PTS ${e.firstPtsMs.toFixed(0)}-${e.lastPtsMs.toFixed(0)} ms, top ${e.topScore.toFixed(2)}, ${e.endReason}, snapshot ${e.snapshot?.bytes} B`).join('; ')}`);
    assert.deepEqual(new Set(events.map((e) => e.kind)), new Set(r.kinds), 'the kinds the stream\'s plugins report');
    assert.equal(ends.length, startsOf(r.key).length, 'an end on the live feed for every start');
    for (const e of events) {
      assert.ok(e.endReason === 'stream_ended' || e.endReason === 'track_lost', `${e.id} ended as ${e.endReason}`);
      assert.ok(e.endMs! >= e.startMs);
      assert.ok(e.topScore > 0 && e.topScore <= 1);
      assert.ok(e.boxRelative.x >= 0 && e.boxRelative.x + e.boxRelative.width <= 1.000001, JSON.stringify(e.boxRelative));
      assert.equal(e.snapshot!.url, `/api/events/${e.id}/snapshot.jpg`);
      const res = await fetch(server.httpBase + e.snapshot!.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      const jpeg = Buffer.from(await res.arrayBuffer());
      assert.equal(jpeg.byteLength, e.snapshot!.bytes);
      const meta = await sharp(jpeg).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', WIDTH, HEIGHT], `${e.id}'s snapshot`);
      const day = new Date(e.startMs).toISOString().slice(0, 10);
      assert.ok(existsSync(join(dataDir(), 'snapshots', r.key, day, `${e.id}.jpg`)), 'at <data>/snapshots/<key>/<UTC date>/<id>.jpg');
    }
  }
});

test('track fragmentation: a face in view the whole clip is one event, not one per detector miss, also across a 700 ms loss', { skip: mediaSkip, timeout: 60_000 }, async (t) => {
  for (const r of runs) {
    const faces = (await eventsOf(r.key)).filter((e) => e.kind === 'face');
    const ended = server.logs.find((l) => l.msg === 'stream ended' && l.streamPath === `/live/${r.key}`) as { frames?: number; dropped?: number } | undefined;
    // Frames that went through the plugins: written out minus those dropped (repeats carry no detections).
    const frames = ended?.frames === undefined ? undefined : ended.frames - (ended.dropped ?? 0);
    t.diagnostic(`${r.clip}: ${faces.length} face event(s), ${faces.map((e) => e.frameCount).join('+')} frames of ${frames ?? '?'} processed`);
    assert.equal(faces.length, 1, `${r.clip}: one face event, got ${faces.length}`);
    // The one event spans the clip: from the first confirmation to the last frame, and covers all
    // but the frames before the confirmation (a fragmented track would cover part of it).
    const [face] = faces;
    assert.ok(face!.lastPtsMs - face!.firstPtsMs > LOOPS * 2000, `${r.clip}: the event spans ${face!.lastPtsMs - face!.firstPtsMs} ms of PTS`);
    // again.mkv's 700 ms of black: up to 21 frames without the face (minus the plugin's 400 ms of prediction).
    const hiddenFrames = r.filter ? Math.ceil((HIDDEN.toS - HIDDEN.fromS) * 30) : 0;
    if (frames !== undefined) assert.ok(face!.frameCount >= (frames - hiddenFrames) * 0.85, `${r.clip}: ${face!.frameCount} of ${frames} frames`);
    assert.equal(startsOf(r.key, 'face').length, 1, 'one face start on the live feed');
  }
  const person = (await eventsOf(runs[0]!.key)).filter((e) => e.kind === 'person');
  assert.equal(person.length, 1, 'the person in view the whole clip is one event too');
});
