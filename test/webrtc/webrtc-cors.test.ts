/**
 * Issue #22, CORS for WHIP and WHEP: with `http.corsOrigin` naming a page origin, real preflights
 * against the real server are answered for the WHIP/WHEP paths (POST, PATCH, DELETE; Authorization,
 * If-Match; `Location` exposed) and not for other origins, while the API's stay read-only; and
 * Chromium on that other origin publishes over WHIP, plays over WHEP, reads both `Location`s, gets
 * PATCH's 405 and DELETEs both sessions, while a page of an origin not listed can not POST at all.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { uniqueKey, apiStreams } from '../helpers/e2e-media.ts';
import { whepPlay, whepStats, whipPublish } from './webrtc-browser.ts';

let pages: Server | undefined;
let pageOrigin = '';
let strangerOrigin = '';
let server: ServerProcess | undefined;
let browser: Browser | undefined;

before(async () => {
  // The other origin: a blank page on another port (and the same port under another host name).
  pages = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
  await new Promise<void>((resolve) => pages!.listen(0, '127.0.0.1', resolve));
  const port = (pages.address() as AddressInfo).port;
  pageOrigin = `http://127.0.0.1:${port}`;
  strangerOrigin = `http://localhost:${port}`;
  server = await startServer([], { LIVEMATTE_HTTP_CORS_ORIGIN: `https://other.example,${pageOrigin}` });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((resolve) => pages ? pages.close(resolve) : resolve(undefined));
});

/** preflight sends a browser's CORS preflight for `method` on `path` from `origin`. */
async function preflight(path: string, method: string, origin: string, headers = 'content-type, authorization') {
  const res = await fetch(`${server!.httpBase}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
  await res.arrayBuffer();
  return res;
}

const list = (value: string | null) => (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

test('WHIP/WHEP preflights allow POST, PATCH, DELETE with Authorization and If-Match for the configured origins only', { timeout: 60_000 }, async () => {
  const cases: [string, string][] = [
    ['/whip/live/demo', 'POST'], ['/whip/live/demo/abc123', 'PATCH'], ['/whip/live/demo/abc123', 'DELETE'],
    ['/whep/live/stream-demo', 'POST'], ['/whep/live/stream-demo/abc123', 'PATCH'], ['/whep/live/stream-demo/abc123', 'DELETE'],
  ];
  for (const [path, method] of cases) {
    const res = await preflight(path, method, pageOrigin, 'content-type, authorization, if-match');
    assert.equal(res.status, 204, `${method} ${path}`);
    assert.equal(res.headers.get('access-control-allow-origin'), pageOrigin, `${method} ${path}`);
    assert.ok(list(res.headers.get('access-control-allow-methods')).includes(method.toLowerCase()), `${method} ${path}: ${res.headers.get('access-control-allow-methods')}`);
    for (const h of ['content-type', 'authorization', 'if-match']) {
      assert.ok(list(res.headers.get('access-control-allow-headers')).includes(h), `${h} on ${method} ${path}`);
    }
    assert.ok(list(res.headers.get('vary')).includes('origin'), 'Vary: Origin with a list of origins');
    const stranger = await preflight(path, method, strangerOrigin);
    assert.equal(stranger.headers.get('access-control-allow-origin'), null, `no grant for ${strangerOrigin}`);
  }
  // The answer itself exposes Location (here on a refusal; a 201 is checked from Chromium below).
  const refused = await fetch(`${server!.httpBase}/whip/live/demo`, { method: 'POST', headers: { origin: pageOrigin, 'content-type': 'text/plain' }, body: 'hi' });
  assert.equal(refused.status, 415);
  assert.equal(refused.headers.get('access-control-allow-origin'), pageOrigin);
  assert.ok(list(refused.headers.get('access-control-expose-headers')).includes('location'));
  // The rest of the API stays read-only cross-origin.
  const api = await preflight('/api/streams/demo', 'DELETE', pageOrigin);
  assert.deepEqual(list(api.headers.get('access-control-allow-methods')), ['get', 'head']);
  // An OPTIONS that is not a preflight is not answered as one.
  const bare = await fetch(`${server!.httpBase}/whip/live/demo`, { method: 'OPTIONS' });
  assert.equal(bare.status, 400);
});

/** pageFetch runs fetch(url, init) in the page; a CORS refusal comes back as `{ error }`. */
function pageFetch(page: Page, url: string, init: RequestInit): Promise<{ status?: number; body?: string; error?: string }> {
  return page.evaluate(async ({ url, init }) => {
    try {
      const res = await fetch(url, init);
      return { status: res.status, body: await res.text() };
    } catch (err) {
      return { error: String(err) };
    }
  }, { url, init: init as Record<string, unknown> });
}

test('Chromium on another origin publishes over WHIP and plays over WHEP, PATCHes and DELETEs both sessions', { timeout: 120_000 }, async () => {
  const base = server!.httpBase;
  const stranger = await browser!.newPage();
  await stranger.goto(`${strangerOrigin}/`);
  const strangerKey = uniqueKey('cors');
  const blocked = await pageFetch(stranger, `${base}/whip/live/${strangerKey}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' });
  assert.match(blocked.error ?? '', /Failed to fetch/, `a page of an origin not listed can not POST: ${JSON.stringify(blocked)}`);
  await stranger.close();

  const page = await browser!.newPage();
  await page.goto(`${pageOrigin}/`);
  const key = uniqueKey('cors');
  const pub = await whipPublish(page, `${base}/whip/live/${key}?bg=none`);
  assert.equal(pub.status, 201, pub.body);
  assert.match(pub.location ?? '', new RegExp(`^/whip/live/${key}/[A-Za-z0-9_-]+$`), 'Location readable cross-origin');
  assert.equal(pub.connection, 'connected');
  await waitFor('the stream live', async () => (await apiStreams(base)).some((s) => s.key === key && s.state === 'live'), 30_000);

  const play = await waitFor('a WHEP session', async () => {
    const p = await whepPlay(page, `${base}/whep/live/stream-${key}`);
    return p.status === 201 ? p : undefined;
  }, 20_000, 500);
  assert.match(play.location ?? '', new RegExp(`^/whep/live/stream-${key}/[A-Za-z0-9_-]+$`));
  await waitFor('WHEP video decoded', async () => (await whepStats(page)).framesDecoded > 5, 20_000);

  for (const location of [pub.location!, play.location!]) {
    const url = new URL(location, base).href;
    const patch = await pageFetch(page, url, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' }, body: 'a=ice-ufrag:x' });
    assert.equal(patch.status, 405, `PATCH ${location}: ${JSON.stringify(patch)}`);
    assert.equal(JSON.parse(patch.body!).error, 'ERR_TRICKLE_UNSUPPORTED');
  }
  const endPlay = await pageFetch(page, new URL(play.location!, base).href, { method: 'DELETE' });
  assert.equal(endPlay.status, 200, JSON.stringify(endPlay));
  const endPub = await pageFetch(page, new URL(pub.location!, base).href, { method: 'DELETE' });
  assert.equal(endPub.status, 200, JSON.stringify(endPub));
  await waitFor('the stream gone', async () => !(await apiStreams(base)).some((s) => s.key === key), 15_000);
  await page.close();
});
