/**
 * kill -9 and restart: the server (test/fixtures/events-server-child.ts: server/app.ts fed
 * detections on stdin, no detecting plugin ships yet) is killed with SIGKILL while one event lasts
 * and another has ended; started again on the same data folder, the database opens, both events
 * are there, and the open one is closed as `server_restart` at its last sighting. The same with
 * the events in PostgreSQL (a real server on loopback, started by the test).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startServer, waitFor, type ServerProcess } from '../../helpers/server-process.ts';
import type { Detection, DetectionsEvent } from '../../../server/pipeline/detections-event.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres-server.ts';

const CHILD = join(REPO_ROOT, 'test/fixtures/events-server-child.ts');

for (const backend of ['sqlite', 'postgres'] as const) describe(`events across kill -9 (${backend})`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'events-restart-'));
  const servers: ServerProcess[] = [];
  let postgres: PostgresServer | undefined;
  const env: Record<string, string> = { LIVEMATTE_DATA_DIR: dataDir, LIVEMATTE_EVENTS_TRACK_LOST_MS: '200', LIVEMATTE_EVENTS_FLUSH_INTERVAL_MS: '50', LIVEMATTE_INFERENCE_WORKERS: '1' };
  before(async () => {
    if (backend !== 'postgres') return;
    postgres = await startPostgres();
    Object.assign(env, { LIVEMATTE_EVENTS_STORE: 'postgres', LIVEMATTE_EVENTS_POSTGRES_URL: await postgres.createDatabase('events'), LIVEMATTE_NODE_ID: 'node-a' });
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps what was written before the kill and closes the open event as server_restart', async () => {
    const first = await startServer([], env, { entry: CHILD, stdin: true });
    servers.push(first);
    let pts = 0;
    const feed = (detections: Partial<Detection>[]) => {
      const d: DetectionsEvent = {
        streamKey: 'door', streamPath: '/live/door', frameIndex: pts / 40, ptsMs: pts, wallClockMs: Date.now(), width: 640, height: 480,
        detections: detections.map((x) => ({ kind: 'face', trackId: 1, score: 0.7, box: { x: 10, y: 10, width: 50, height: 50 }, confirmed: true, detected: true, ...x })),
      };
      pts += 40;
      first.child.stdin!.write(`${JSON.stringify(d)}\n`);
    };
    // Track 1 comes and goes (track_lost); track 2 stays in view until the kill.
    for (let i = 0; i < 5; i++) feed([{ trackId: 1 }, { trackId: 2, kind: 'person' }]);
    // Frames paced at 25 fps for 1.6 s: updates are written at most once a second per event.
    for (let i = 0; i < 40; i++) {
      feed([{ trackId: 2, kind: 'person', score: i === 5 ? 0.9 : 0.6 }]);
      await new Promise((r) => setTimeout(r, 40));
    }
    const before = await waitFor('both events written', async () => {
      const { events } = await (await fetch(`${first.httpBase}/api/events?stream=door`)).json() as { events: Record<string, any>[] };
      const lost = events.find((e) => e.trackId === 1 && e.endReason === 'track_lost');
      const open = events.find((e) => e.trackId === 2 && e.endMs === null && e.topScore === 0.9);
      return lost && open ? { lost, open } : undefined;
    }, 20_000, 50);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await startServer([], env, { entry: CHILD });
    servers.push(second);
    const opened = await second.waitForLog((l) => l.msg === 'event store open');
    assert.equal(opened.closedOnRestart, 1);
    assert.equal(opened.store, backend);
    const { events } = await (await fetch(`${second.httpBase}/api/events?stream=door`)).json() as { events: Record<string, any>[] };
    assert.equal(events.length, 2);
    const lost = events.find((e) => e.id === before.lost.id)!;
    assert.deepEqual(lost, before.lost);
    const closed = events.find((e) => e.id === before.open.id)!;
    assert.equal(closed.endReason, 'server_restart');
    assert.equal(closed.endMs, closed.lastSeenMs);
    assert.ok(closed.frameCount >= before.open.frameCount);
    assert.equal(closed.topScore, before.open.topScore);
  });
});
