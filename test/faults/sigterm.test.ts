/**
 * Issue #5, shutdown: SIGTERM with two streams publishing disconnects the publishers, ends both
 * playlists with #EXT-X-ENDLIST, reaps every ffmpeg child (none left, none orphaned) and exits
 * within 5 s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { fetchPlaylist, startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { cmdline, ffmpegChildArgs, processesMentioning, streamEntry } from '../helpers/fault-tools.ts';

let server: ServerProcess;
const publishers: Publisher[] = [];
const keys = [uniqueKey('term'), uniqueKey('term')];

before(async () => {
  server = await startServerOnFreePorts();
  keys.forEach((key, i) => {
    // One processed (colour) and one passthrough stream.
    publishers.push(publish(`${server.rtmpBase}/${key}${i ? '?bg=none' : ''}`, ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25'],
      ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p']));
  });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

test('SIGTERM with two live streams: publishers dropped, playlists ended, children reaped, exit within 5 s', { timeout: 120000 }, async (t) => {
  for (const key of keys) {
    await waitFor(`${key} live with HLS segments`, async () => {
      const e = await streamEntry(server.httpBase, key);
      const pl = await fetchPlaylist(`${server.httpBase}/live/stream-${key}/index.m3u8`);
      return e?.state === 'live' && (pl?.segments.length ?? 0) >= 1;
    }, 60000, 250);
  }
  const children = ffmpegChildArgs(server.child.pid!);
  assert.equal(children.length, 4, 'a decoder and an encoder per stream');
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => server.child.once('exit', (code, signal) => r({ code, signal })));
  const sentAt = Date.now();
  server.child.kill('SIGTERM');
  const exit = await exited;
  const exitMs = Date.now() - sentAt;
  t.diagnostic(`server exited (code ${exit.code}, signal ${exit.signal}) ${exitMs} ms after SIGTERM`);
  assert.equal(exit.code, 0, 'clean exit');
  assert.ok(exitMs <= 5000, `exit took ${exitMs} ms`);
  await waitFor('both publishers disconnected', () => publishers.every((p) => hasExited(p)), 5000, 50);
  for (const key of keys) {
    const text = readFileSync(join(server.mediaRoot, 'live', `stream-${key}`, 'index.m3u8'), 'utf8');
    assert.match(text, /#EXT-X-ENDLIST\s*$/, `playlist of ${key} ends with ENDLIST`);
  }
  const alive = children.filter((c) => cmdline(c.pid) !== undefined);
  assert.deepEqual(alive, [], 'every ffmpeg child of the server has exited');
  assert.deepEqual(processesMentioning(server.mediaRoot), [], 'no process refers to the media root');
  t.diagnostic(`children reaped: ${children.map((c) => c.pid).join(', ')}; playlists ended`);
});
