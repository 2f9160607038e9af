/**
 * Issue #19, item 6: the raw feed was public. `rtmp://host/live/<key>`, the input before background
 * replacement and face anonymisation, could be played by anyone. Now a raw play is allowed from
 * loopback only by default (`auth.rawPlay`), and with `auth.playSecret` the processed output needs
 * a signed URL over RTMP and HLS (playlist and segments). One server per configuration; the
 * "remote" client is this machine reached through its non-loopback address, the server bound to
 * 0.0.0.0.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startServerOnFreePorts, uniqueKey, parsePlaylist } from '../helpers/e2e-media.ts';
import { REPO_ROOT, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { grabFrameRgb, hasExited, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { publishHealthy, streamEntry } from '../helpers/fault-tools.ts';
import { scrapeMetrics } from '../ops/ops-helpers.ts';
import { signedQuery } from '../../server/security/play-signature.ts';

const run = promisify(execFile);
/** This machine's first non-loopback IPv4 address: a client connecting to it is not on loopback. */
const REMOTE_IP = Object.values(networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal)?.address;
const noRemote = REMOTE_IP ? false : 'this machine has no non-loopback IPv4 address to play from';

type Attempt = { played: true; width?: number } | { played: false; error: string };

/** playRtmp probes an RTMP URL: played (with the video width) or the ffprobe error's first line. */
async function playRtmp(url: string): Promise<Attempt> {
  try {
    const out = await probe(url, 10000);
    return { played: true, width: out.streams.find((s) => s.codec_type === 'video')?.width };
  } catch (err) {
    return { played: false, error: (err as Error).message.split('\n').find((l) => l.trim() && !l.startsWith('Command failed')) ?? String(err) };
  }
}

/** refusalsSince returns the `play refused` lines logged after log index `from`. */
const refusalsSince = (server: ServerProcess, from: number) => server.logs.slice(from).filter((l) => String(l.msg).startsWith('play refused'));

/** playRefusals reads livematte_plays_refused_total as `{ "<protocol>:<reason>": count }`, zeros left out. */
async function playRefusals(server: ServerProcess): Promise<Record<string, number>> {
  const samples = (await scrapeMetrics(server.httpBase)).filter((s) => s.name === 'livematte_plays_refused_total' && s.value > 0);
  return Object.fromEntries(samples.map((s) => [`${s.labels.protocol}:${s.labels.reason}`, s.value]));
}

/** startLive starts a server with `args`/`env` (1 s segments) and a healthy publisher of `key`, resolved once the stream is live. */
async function startLive(key: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ server: ServerProcess; publisher: Publisher }> {
  const server = await startServerOnFreePorts(['--workers', '1', ...args], { LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000', ...env });
  const publisher = publishHealthy(server.rtmpBase, key);
  await waitFor(`'${key}' live with HLS segments`, async () => {
    assert.ok(!hasExited(publisher), `publisher exited: ${publisher.stderr()}`);
    return (await streamEntry(server.httpBase, key))?.state === 'live';
  }, 60000, 250);
  return { server, publisher };
}

/** stillHealthy asserts the publisher runs and the stream keeps writing frames without restarts. */
async function stillHealthy(server: ServerProcess, key: string, publisher: Publisher): Promise<void> {
  const before = await streamEntry(server.httpBase, key);
  assert.ok(before && !hasExited(publisher), 'the publisher is still connected');
  const after = await waitFor('the output to keep moving', async () => {
    const e = await streamEntry(server.httpBase, key);
    return e && Number(e.stats.framesOut) >= Number(before.stats.framesOut) + 25 && e;
  }, 20000, 250);
  assert.equal(after.stats.restarts, 0, 'the stream did not restart');
}

describe('default config (auth.rawPlay loopback), server on 0.0.0.0', () => {
  const key = uniqueKey('rawplay');
  let server: ServerProcess;
  let publisher: Publisher;
  before(async () => ({ server, publisher } = await startLive(key, ['--bind', '0.0.0.0'])));
  after(async () => {
    await publisher?.stop();
    await server?.stop();
  });

  test('a raw play from loopback works', async () => {
    assert.deepEqual(await playRtmp(`rtmp://127.0.0.1:${server.rtmpPort}/live/${key}`), { played: true, width: 320 });
  });

  test('a raw play from a non-loopback address is refused, logged once and counted', { skip: noRemote }, async (t) => {
    const from = server.logs.length;
    const attempt = await playRtmp(`rtmp://${REMOTE_IP}:${server.rtmpPort}/live/${key}`);
    t.diagnostic(`from ${REMOTE_IP}: ${JSON.stringify(attempt)}`);
    assert.equal(attempt.played, false, 'the raw input must not play from a non-loopback address');
    const lines = await waitFor('the refusal line', () => refusalsSince(server, from).length > 0 && refusalsSince(server, from));
    assert.equal(lines.length, 1, 'one warning for the connection');
    assert.equal(lines[0].msg, 'play refused: raw inputs are played from loopback only (auth.rawPlay loopback)');
    assert.equal(lines[0].reason, 'raw_not_loopback');
    assert.equal(lines[0].streamPath, `/live/${key}`);
    assert.deepEqual(await playRefusals(server), { 'rtmp:raw_not_loopback': 1 });
  });

  test('the processed output still plays from anywhere (no play secret); the publisher is unaffected', { skip: noRemote }, async () => {
    assert.deepEqual(await playRtmp(`rtmp://${REMOTE_IP}:${server.rtmpPort}/live/stream-${key}`), { played: true, width: 320 });
    await waitFor('the playlist over HLS from the non-loopback address', async () => (await fetch(`http://${REMOTE_IP}:${server.httpPort}/live/stream-${key}/index.m3u8`)).status === 200);
    await stillHealthy(server, key, publisher);
  });
});

describe('auth.rawPlay off', () => {
  const key = uniqueKey('rawoff');
  let server: ServerProcess;
  let publisher: Publisher;
  before(async () => ({ server, publisher } = await startLive(key, ['--raw-play', 'off'])));
  after(async () => {
    await publisher?.stop();
    await server?.stop();
  });

  test('a raw play is refused even from loopback, counted; the publisher and the output are unaffected', async () => {
    const from = server.logs.length;
    const attempt = await playRtmp(`${server.rtmpBase}/${key}`);
    assert.equal(attempt.played, false, 'no raw play');
    const [line] = await waitFor('the refusal line', () => refusalsSince(server, from).length > 0 && refusalsSince(server, from));
    assert.equal(line.reason, 'raw_off');
    assert.equal(line.msg, 'play refused: raw inputs are not played (auth.rawPlay off)');
    assert.deepEqual(await playRefusals(server), { 'rtmp:raw_off': 1 });
    await stillHealthy(server, key, publisher);
    assert.deepEqual(await playRtmp(`${server.rtmpBase}/stream-${key}`), { played: true, width: 320 });
    await waitFor('the playlist, open without a play secret', async () => (await fetch(`${server.httpBase}/live/stream-${key}/index.m3u8`)).status === 200);
  });
});

describe('auth.playSecret (from --play-secret-file) and auth.rawPlay token', () => {
  const key = uniqueKey('signed');
  const secret = `p-${randomBytes(12).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'live-matte-play-auth-'));
  const folder = `/live/stream-${key}/`;
  const now = () => Math.floor(Date.now() / 1000);
  let server: ServerProcess;
  let publisher: Publisher;
  /** The query `npm run sign-url` printed for the output's folder. */
  let cliQuery = '';
  const playlistUrl = (query?: string) => `${server.httpBase}/live/stream-${key}/index.m3u8${query ? `?${query}` : ''}`;

  before(async () => {
    const file = join(dir, 'play-secret');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    ({ server, publisher } = await startLive(key, ['--play-secret-file', file, '--raw-play', 'token']));
    await waitFor('a segment in the playlist', async () => {
      const res = await fetch(playlistUrl(signedQuery(secret, folder, now() + 60)));
      return res.ok && parsePlaylist(await res.text()).segments.length > 0;
    }, 30000, 250);
  });
  after(async () => {
    await publisher?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('npm run sign-url prints the query and URLs of a folder', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'server/sign-url-cli.ts'), '--path', folder, '--ttl', '600',
      '--http-base', server.httpBase], { cwd: REPO_ROOT, env: { ...process.env, LIVEMATTE_PLAY_SECRET: secret } });
    const lines = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
    cliQuery = lines.query;
    assert.match(cliQuery, /^expires=\d+&sig=[A-Za-z0-9_-]{43}$/);
    const expires = Number(new URLSearchParams(cliQuery).get('expires'));
    assert.ok(Math.abs(expires - (now() + 600)) <= 2, 'expires = now + ttl');
    assert.equal(cliQuery, signedQuery(secret, folder, expires), 'HMAC-SHA256 of "<folder>:<expires>", base64url');
    assert.equal(lines.hls, playlistUrl(cliQuery));
    const onlyQuery = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'server/sign-url-cli.ts'), '--path', `/live/stream-${key}/index.m3u8`, '--query-only'],
      { cwd: REPO_ROOT, env: { ...process.env, LIVEMATTE_PLAY_SECRET: secret } });
    assert.match(onlyQuery.stdout, /^expires=\d+&sig=[A-Za-z0-9_-]{43}\n$/, 'a file of the folder signs the folder');
  });

  test('HLS: unsigned 403; signed 200 for the playlist and every segment it lists', async () => {
    const unsigned = await fetch(playlistUrl());
    assert.equal(unsigned.status, 403);
    assert.equal(((await unsigned.json()) as { error: string }).error, 'ERR_PLAY_FORBIDDEN');
    assert.equal(unsigned.headers.get('access-control-allow-origin'), '*', 'a browser player can read the refusal');

    const signed = await fetch(playlistUrl(cliQuery));
    assert.equal(signed.status, 200);
    const playlist = parsePlaylist(await signed.text());
    assert.ok(playlist.segments.length > 0);
    for (const { uri } of playlist.segments) {
      assert.ok(uri.endsWith(`?${cliQuery}`), `the playlist lists ${uri} with the request's query`);
      const res = await fetch(new URL(uri, playlistUrl()));
      assert.equal(res.status, 200, uri);
      assert.equal(res.headers.get('content-type'), 'video/mp2t');
      assert.equal(res.headers.get('cache-control'), 'private, max-age=60');
      await res.arrayBuffer();
    }
    const bare = playlist.segments[0].uri.split('?')[0];
    assert.equal((await fetch(new URL(bare, playlistUrl()))).status, 403, 'a segment without the query is refused');
  });

  test('HLS: expired, wrong, other-stream and malformed signatures 403; /live/ and ?token= 200', async () => {
    const cases: [query: string, status: number, what: string][] = [
      [signedQuery(secret, folder, now() - 5), 403, 'expired'],
      [signedQuery(`${secret}x`, folder, now() + 60), 403, 'signed with another secret'],
      [signedQuery(secret, '/live/stream-other/', now() + 60), 403, 'another stream\'s folder'],
      [`expires=${now() + 60}&sig=${'A'.repeat(43)}`, 403, 'made up'],
      [`expires=soon&sig=x`, 403, 'malformed'],
      [`token=${secret}0`, 403, 'wrong token'],
      [signedQuery(secret, '/live/', now() + 60), 200, 'all streams'],
      [`token=${encodeURIComponent(secret)}`, 200, 'the token'],
    ];
    for (const [query, status, what] of cases) {
      const res = await fetch(playlistUrl(query));
      assert.equal(res.status, status, what);
      await res.arrayBuffer();
    }
  });

  test('HLS: a path that leaves the signed folder is refused', async () => {
    // fetch() normalises dot segments; node:http sends the path as written.
    const query = signedQuery(secret, '/live/stream-other/', now() + 60);
    for (const path of [`/live/stream-other/../stream-${key}/index.m3u8`, `/live/stream-other/%2e%2e/stream-${key}/index.m3u8`]) {
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.httpPort, path: `${path}?${query}` }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
      assert.equal(status, 403, path);
    }
  });

  test('RTMP: the output unsigned is refused, signed it plays', async () => {
    const from = server.logs.length;
    const unsigned = await playRtmp(`${server.rtmpBase}/stream-${key}`);
    assert.equal(unsigned.played, false);
    const [line] = await waitFor('the refusal line', () => refusalsSince(server, from).length > 0 && refusalsSince(server, from));
    assert.equal(line.reason, 'signature_missing');
    assert.equal((await playRtmp(`${server.rtmpBase}/stream-${key}?${signedQuery(secret, folder, now() - 1)}`)).played, false, 'expired');
    const frame = await grabFrameRgb(`${server.rtmpBase}/stream-${key}?${cliQuery}`, 64, 48);
    assert.equal(frame.length, 64 * 48 * 3, 'a frame of the processed output');
  });

  test('RTMP: the raw input needs a signature of its own folder (auth.rawPlay token), even from loopback', async () => {
    const unsigned = await playRtmp(`${server.rtmpBase}/${key}`);
    assert.equal(unsigned.played, false, 'loopback alone is not enough in token mode');
    assert.equal((await playRtmp(`${server.rtmpBase}/${key}?${cliQuery}`)).played, false, 'the output\'s signature does not open the input');
    assert.deepEqual(await playRtmp(`${server.rtmpBase}/${key}?${signedQuery(secret, `/live/${key}/`, now() + 60)}`), { played: true, width: 320 });
    await stillHealthy(server, key, publisher);
  });

  test('the refusals are counted by protocol and reason; neither the secret nor a signature is logged', async () => {
    assert.deepEqual(await playRefusals(server), {
      'hls:signature_missing': 2, 'hls:signature_expired': 1, 'hls:signature_invalid': 5, 'hls:bad_path': 2,
      'rtmp:signature_missing': 2, 'rtmp:signature_expired': 1, 'rtmp:signature_invalid': 1,
    });
    const sig = new URLSearchParams(cliQuery).get('sig')!;
    assert.deepEqual(server.logs.filter((l) => JSON.stringify(l).includes(secret) || JSON.stringify(l).includes(sig)), []);
  });
});
