/**
 * The plugin API of a live stream through the real server: read and change a plugin's options
 * (`GET`/`PATCH /api/streams/:key/plugins/:name`), the older background route, turning a plugin on
 * and off, refusals that name the option and leave the stream running, and who may change a
 * stream: the admin token when one is set, never a cross-origin page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServerOnFreePorts, uniqueKey } from '../helpers/e2e-media.ts';
import { publishHealthy, streamEntry } from '../helpers/fault-tools.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { hasExited, publish, type Publisher } from '../helpers/ffmpeg-tools.ts';

const TOKEN = 'admin-5ecret';
let server: ServerProcess;
const publishers: Publisher[] = [];
const key = uniqueKey('plugins');

before(async () => {
  server = await startServerOnFreePorts([], { LIVEMATTE_AUTH_ADMIN_TOKEN: TOKEN });
  publishers.push(publishHealthy(server.rtmpBase, key));
  await waitFor('the stream to be live', async () => (await streamEntry(server.httpBase, key))?.state === 'live', 45000, 250);
});
after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
});

const pluginUrl = (name = 'background', k = key) => `${server.httpBase}/api/streams/${k}/plugins/${name}`;
const patch = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }, url = pluginUrl()) =>
  fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('a live stream\'s plugins', () => {
  test('GET shows the options the stream runs with; the key\'s ?bg=none is one of them', async () => {
    const res = await fetch(pluginUrl());
    assert.equal(res.status, 200);
    const body = await res.json() as { enabled: boolean; options: Record<string, unknown> };
    assert.equal(body.enabled, true);
    assert.equal(body.options.mode, 'none');
    assert.equal('imagePath' in body.options, false, 'internal options are not shown');
    const listed = await streamEntry(server.httpBase, key) as unknown as { plugins: Record<string, Record<string, unknown>>; background: Record<string, unknown> };
    assert.deepEqual(listed.plugins.background, body.options);
    assert.deepEqual(listed.background, body.options, 'the older field stays');
  });

  test('PATCH changes the options for the next frames; the stream shows them', async () => {
    const res = await patch({ mode: 'color', color: '00ff00' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { options: { color: string } }).options.color, '00ff00');
    const listed = await streamEntry(server.httpBase, key) as unknown as { plugins: Record<string, Record<string, unknown>> };
    assert.equal(listed.plugins.background!.mode, 'color');
  });

  test('bad options answer 400 naming the option, change nothing, and the stream goes on', async () => {
    const cases: [unknown, RegExp][] = [
      [{ mode: 'sparkles' }, /'background\.mode' must be equal to one of the allowed values/],
      [{ colour: 'ff0000' }, /'background' has no option 'colour'/],
      [{ imagePath: '/etc/passwd' }, /'background\.imagePath' is set by the server/],
      [{ blurRadiusPx: 1000 }, /'background\.blurRadiusPx' must be <= 64/],
      [{ enabled: 'yes' }, /'enabled' must be true or false/],
      [{ mode: 'image', image: 'nope' }, /no background image 'nope'/],
    ];
    for (const [body, message] of cases) {
      const res = await patch(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const answer = await res.json() as { error: string; message: string };
      assert.match(answer.message, message, JSON.stringify(body));
      assert.match(answer.error, /^ERR_/);
    }
    const listed = await streamEntry(server.httpBase, key);
    assert.equal((listed as unknown as { plugins: Record<string, Record<string, unknown>> }).plugins.background!.color, '00ff00');
    const before = listed!.stats.framesOut as number;
    await waitFor('frames to keep flowing', async () => ((await streamEntry(server.httpBase, key))!.stats.framesOut as number) > before + 10, 20000, 200);
  });

  test('unknown streams and plugins answer 404, a plugin not running 409', async () => {
    assert.equal((await fetch(pluginUrl('background', 'nobody'))).status, 404);
    assert.equal((await fetch(pluginUrl('sparkles'))).status, 404);
    assert.equal((await patch({}, undefined, pluginUrl('sparkles'))).status, 404);
  });

  test('enabled false takes the plugin off the stream, enabled true puts it back with the server defaults', async () => {
    let res = await patch({ enabled: false });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'background', enabled: false, options: null });
    assert.deepEqual((await (await fetch(pluginUrl())).json() as { enabled: boolean }).enabled, false);
    assert.equal((await patch({ mode: 'blur' })).status, 409, 'options of a plugin not running are refused');
    res = await patch({ enabled: true, mode: 'blur' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { options: { mode: string; color: string } }).options.color, 'c0c0c0');
  });

  test('the older POST /api/streams/:key/background still works', async () => {
    const res = await fetch(`${server.httpBase}/api/streams/${key}/background`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ mode: 'none' }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { background: { mode: string } }).background.mode, 'none');
  });

  test('GET /api/plugins lists every plugin with its options, defaults and facts', async () => {
    const body = await (await fetch(`${server.httpBase}/api/plugins`)).json() as { plugins: { name: string; defaults: Record<string, unknown>; images?: string[]; options: Record<string, unknown> }[] };
    const background = body.plugins.find((p) => p.name === 'background')!;
    assert.equal(background.defaults.mode, 'color');
    assert.ok(Array.isArray(background.images));
    assert.equal('imagePath' in background.options, false);
  });
});

describe('who may change a stream', () => {
  test('without the admin token, or with a wrong one: 401; nothing changes', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }] as Record<string, string>[]) {
      const res = await patch({ mode: 'blur' }, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(((await res.json()) as { error: string }).error, 'ERR_UNAUTHORISED');
    }
    const old = await fetch(`${server.httpBase}/api/streams/${key}/background`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"mode":"blur"}' });
    assert.equal(old.status, 401);
    assert.equal(((await (await fetch(pluginUrl())).json()) as { options: { mode: string } }).options.mode, 'none');
  });

  test('a cross-origin page can read but never change a stream, even with the token', async () => {
    const res = await patch({ mode: 'blur' }, { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' });
    assert.equal(res.status, 403);
    const preflight = await fetch(pluginUrl(), { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'PATCH' } });
    assert.doesNotMatch(preflight.headers.get('access-control-allow-methods') ?? '', /PATCH/);
    const read = await fetch(`${server.httpBase}/api/streams`, { headers: { origin: 'http://evil.example' } });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('access-control-allow-origin'), '*', 'reading stays open');
  });

  test('a page of the server\'s own origin with the token may', async () => {
    const res = await patch({ mode: 'color' }, { authorization: `Bearer ${TOKEN}`, origin: server.httpBase });
    assert.equal(res.status, 200);
  });
});

describe('the stream key turns plugins on and off', () => {
  const publishQuery = (k: string, query: string) => publish(`${server.rtmpBase}/${k}?${query}`, ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25'],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p']);

  test('?background=off runs the stream with no plugin', async () => {
    const off = uniqueKey('off');
    publishers.push(publishQuery(off, 'background=off'));
    const listed = await waitFor('the stream to be live', async () => {
      const s = await streamEntry(server.httpBase, off);
      return s?.state === 'live' ? s : undefined;
    }, 45000, 250);
    assert.deepEqual((listed as unknown as { plugins: Record<string, unknown> }).plugins, {});
  });

  test('?background=maybe is refused with a line naming the plugin, and the publisher is let go', async () => {
    const bad = uniqueKey('maybe');
    const p = publishQuery(bad, 'background=maybe');
    publishers.push(p);
    const line = await server.waitForLog((l) => l.msg === 'stream refused: bad options on the stream key' && String(l.streamPath).includes(bad), 30000);
    assert.match(String(line.err), /background=on or background=off/);
    await waitFor('the refused publisher to exit', () => hasExited(p), 30000, 200);
    assert.equal(await streamEntry(server.httpBase, bad), undefined);
  });
});
