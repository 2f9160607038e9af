/**
 * Issue #19, item 8: no secret on a command line. During a live stream no process's arguments
 * (what `ps` shows every local user) hold the publish secret or an output token; the secret comes
 * from the environment (`LIVEMATTE_AUTH_PUBLISH_SECRET`) or a file (`--publish-secret-file`), and
 * nobody outside the server can still publish `live/stream-<key>`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerOnFreePorts, uniqueKey, childPids } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { cmdline, processesMentioning, streamEntry } from '../helpers/fault-tools.ts';

const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p'];
const servers: ServerProcess[] = [];
const publishers = new Set<Publisher>();
const dir = mkdtempSync(join(tmpdir(), 'live-matte-secrets-'));

function start(server: ServerProcess, path: string, size = '320x240'): Publisher {
  const p = publish(`${server.rtmpBase}/${path}`, ['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=25`], ENCODE);
  publishers.add(p);
  return p;
}

async function live(server: ServerProcess, key: string, p: Publisher): Promise<void> {
  await waitFor(`'${key}' to be live`, async () => {
    assert.ok(!hasExited(p), `publisher exited: ${p.stderr()}`);
    const e = await streamEntry(server.httpBase, key);
    return e?.state === 'live' && Number(e.stats.framesOut) > 25;
  }, 60000, 250);
}

/** descendants lists a process's descendants (pid and arguments). */
function descendants(pid: number): { pid: number; args: string[] }[] {
  return childPids(pid).flatMap((c) => [{ pid: c.pid, args: cmdline(c.pid) ?? [] }, ...descendants(c.pid)]);
}

after(async () => {
  await Promise.all([...publishers].map((p) => p.stop()));
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

test('no command line holds the publish secret or an output token; outsiders still cannot publish outputs', { timeout: 120000 }, async (t) => {
  const secret = `s-${randomBytes(12).toString('hex')}`;
  const server = await startServerOnFreePorts([], { LIVEMATTE_AUTH_PUBLISH_SECRET: secret });
  servers.push(server);
  const key = uniqueKey('nosecret');
  const p = start(server, `${key}?token=${secret}&bg=none`);
  await live(server, key, p);

  // The publisher is the client (on another machine in real life): its own URL holds the secret.
  const leaks = processesMentioning(secret, p.child.pid);
  assert.deepEqual(leaks, [], 'no process but the publisher has the secret in its arguments');
  const family = [{ pid: server.child.pid!, args: cmdline(server.child.pid!) ?? [] }, ...descendants(server.child.pid!)];
  const encoders = family.filter((c) => c.args.includes('libx264'));
  assert.equal(encoders.length, 1, 'the encoder runs');
  t.diagnostic(`encoder output argument: ${encoders[0].args.find((a) => a.includes('rtmp'))}`);
  assert.deepEqual(family.filter((c) => c.args.some((a) => /token=/.test(a))), [], 'no token in the server\'s or its children\'s arguments');

  for (const path of [`stream-${key}`, `stream-${key}?token=${secret}`, `stream-${key}?token=`]) {
    const from = server.logs.length;
    const spoof = start(server, path, '160x120');
    await waitFor(`the spoof '${path}' to be disconnected`, () => hasExited(spoof), 20000);
    publishers.delete(spoof);
    const line = server.logs.slice(from).find((l) => String(l.msg).startsWith('publish refused'));
    assert.equal(line?.msg, 'publish refused: processed outputs are published by the server only');
  }
  const e = await streamEntry(server.httpBase, key);
  assert.equal(e?.stats.restarts, 0, 'the real output was not disturbed');
  assert.equal(e?.width, 320, 'the real output is still the 320x240 stream');
});

test('--publish-secret-file reads the secret from a file; --publish-secret warns that ps shows it', { timeout: 90000 }, async () => {
  const secret = `f-${randomBytes(12).toString('hex')}`;
  const file = join(dir, 'secret');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  const server = await startServerOnFreePorts(['--publish-secret-file', file]);
  servers.push(server);
  const key = uniqueKey('secretfile');
  const from = server.logs.length;
  const wrong = start(server, `${key}?token=wrong`);
  await waitFor('the wrong token to be refused', () => hasExited(wrong), 20000);
  publishers.delete(wrong);
  assert.equal(server.logs.slice(from).find((l) => String(l.msg).startsWith('publish refused'))?.msg, 'publish refused: missing or wrong token');
  await live(server, key, start(server, `${key}?token=${secret}&bg=none`));
  assert.deepEqual(processesMentioning(secret).filter((c) => !c.args.some((a) => a.includes(`token=${secret}`))), [], 'the secret is on no command line');

  const flagged = await startServerOnFreePorts(['--publish-secret', 'on-the-command-line']);
  servers.push(flagged);
  const warning = await flagged.waitForLog((l) => String(l.msg).includes('--publish-secret'), 5000);
  assert.match(String(warning.msg), /LIVEMATTE_AUTH_PUBLISH_SECRET/);
});
