/**
 * Issue #19, item 5: leftovers after a crash. The server and its ffmpeg children are killed with
 * SIGKILL mid-stream (a container or machine going down: nobody ends the playlist or removes the
 * folder); a new server started on the same media root ends the leftover playlist at start-up and
 * removes its folder after `hls.retentionMs`, so old playlists are not served as live and folders
 * do not pile up across restarts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegChildren, parsePlaylist, uniqueKey, fetchPlaylist } from '../helpers/e2e-media.ts';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { publishHealthy } from '../helpers/fault-tools.ts';

const RETENTION_MS = 5000;
const env = { LIVEMATTE_HLS_RETENTION_MS: String(RETENTION_MS), LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000' };
const servers: ServerProcess[] = [];
const publishers: Publisher[] = [];

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  // The later servers first: the first one's temporary folder holds the shared media root.
  for (const s of [...servers].reverse()) await s.stop();
});

test('after kill -9 of the server, a restart on the same media root ends the old playlist and removes its folder after the retention time', { timeout: 150000 }, async (t) => {
  const first = await startServer([], env);
  servers.push(first);
  const key = uniqueKey('crashed');
  const p = publishHealthy(first.rtmpBase, key);
  publishers.push(p);
  const folder = join(first.mediaRoot, 'live', `stream-${key}`);
  const playlistPath = join(folder, 'index.m3u8');
  await waitFor('two segments in the playlist', () => {
    assert.ok(!hasExited(p), `publisher exited: ${p.stderr()}`);
    return existsSync(playlistPath) && parsePlaylist(readFileSync(playlistPath, 'utf8')).segments.length >= 2;
  }, 60000, 250);

  // Everything at once, as when the container is killed: the encoder gets no chance to end the playlist.
  const pids = [first.child.pid!, ...ffmpegChildren(first.child.pid!)];
  assert.ok(pids.length >= 3, `the server runs its decoder and encoder (pids ${pids.join(', ')})`);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  await waitFor('the server to die', () => first.child.signalCode === 'SIGKILL', 10000, 50);
  await waitFor('its ffmpeg children to die', () => pids.slice(1).every((pid) => !existsSync(`/proc/${pid}/stat`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')), 10000, 50);
  const leftover = parsePlaylist(readFileSync(playlistPath, 'utf8'));
  assert.equal(leftover.ended, false, 'the crash left the playlist unended');

  const restartedAt = Date.now();
  const second = await startServer(['--media-root', first.mediaRoot], env);
  servers.push(second);
  const url = `${second.httpBase}/live/stream-${key}/index.m3u8`;
  const served = await fetchPlaylist(url);
  assert.ok(served, 'the old playlist is still served for late players during the retention time');
  assert.equal(served.ended, true, 'the restarted server ended the old playlist (#EXT-X-ENDLIST)');
  assert.equal(served.segments.length, leftover.segments.length, 'its segments are kept');
  const line = second.logs.find((l) => String(l.msg).startsWith('HLS folders of an earlier run'));
  assert.equal(line?.folders, 1, 'the sweep is logged');

  await waitFor('the old folder to be removed', () => !existsSync(folder), RETENTION_MS + 15000, 100);
  const goneMs = Date.now() - restartedAt;
  t.diagnostic(`folder removed ${goneMs} ms after the restart began (retention ${RETENTION_MS} ms)`);
  assert.ok(goneMs >= RETENTION_MS, 'kept for the retention time');
  assert.equal((await fetch(url)).status, 404, 'the old playlist is no longer served');
  assert.equal(second.child.exitCode, null, 'the restarted server runs on');
});
