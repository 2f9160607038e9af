/**
 * Issue #19, item 10: the static server serves only regular files inside the media root (no
 * symlink is followed), a control body with an unknown field is a 400 naming the field, and the
 * publish secret's comparison takes as long whatever the length of the guess.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startServerOnFreePorts } from '../helpers/e2e-media.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { secretMatches } from '../../server/security/secret-compare.ts';

let server: ServerProcess;

before(async () => {
  server = await startServerOnFreePorts();
});

after(async () => {
  await server?.stop();
});

test('the media root serves regular files only, never through a symlink', async () => {
  const live = join(server.mediaRoot, 'live');
  const outside = join(dirname(server.mediaRoot), 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'private.txt'), 'outside the media root\n');
  mkdirSync(join(live, 'stream-links'), { recursive: true });
  writeFileSync(join(live, 'stream-links', 'segment-0.ts'), 'a segment\n');
  symlinkSync(join(outside, 'private.txt'), join(live, 'stream-links', 'index.m3u8'));
  symlinkSync(outside, join(live, 'stream-dirlink'));
  const status = async (path: string) => (await fetch(`${server.httpBase}${path}`)).status;
  assert.equal(await status('/live/stream-links/segment-0.ts'), 200, 'a regular file is served');
  assert.equal(await status('/live/stream-links/index.m3u8'), 404, 'a symlinked file is not');
  assert.equal(await status('/live/stream-dirlink/private.txt'), 404, 'a file through a symlinked folder is not');
});

test('a control body with an unknown field is a 400 naming the field', async () => {
  const post = (body: unknown) => fetch(`${server.httpBase}/api/streams/nokey/background`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const res = await post({ mode: 'color', colour: '#00ff00' });
  const answer = await res.json() as { message?: string };
  assert.equal(res.status, 400, `answered ${res.status} ${JSON.stringify(answer)}`);
  assert.match(String(answer.message), /colour/, 'the message names the field');
  assert.equal((await post({ mode: 'color' })).status, 404, 'a valid body still reaches the route');
});

test('secretMatches takes as long for a guess of another length as for one of the right length', (t) => {
  // A long secret makes a length-dependent shortcut (or a byte compare only equal lengths get)
  // stand far above the timer's noise: 256 KiB compared byte by byte take ~100 us.
  const secret = 'x'.repeat(256 * 1024);
  const sameLength = 'y'.repeat(secret.length);
  const otherLength = 'y'.repeat(secret.length + 1);
  assert.equal(secretMatches(secret, secret), true);
  assert.equal(secretMatches(sameLength, secret), false);
  assert.equal(secretMatches(otherLength, secret), false);
  assert.equal(secretMatches(undefined, secret), false);
  const time = (guess: string) => {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) secretMatches(guess, secret);
    return performance.now() - t0;
  };
  const same: number[] = [];
  const other: number[] = [];
  for (let round = 0; round < 40; round++) {
    same.push(time(sameLength));
    other.push(time(otherLength));
  }
  // The fastest round of each: what foreign load on a shared machine adds is never negative.
  const ratio = Math.min(...same) / Math.min(...other);
  t.diagnostic(`same-length / other-length time ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio > 0.8 && ratio < 1.25, `same-length / other-length time ratio ${ratio.toFixed(2)} (fastest rounds ${Math.min(...same).toFixed(2)} / ${Math.min(...other).toFixed(2)} ms)`);
});
