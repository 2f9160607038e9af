/**
 * End-to-end test of the player's events panel, history and event dialog: the real server (with an
 * admin token), a real ffmpeg publisher looping a clip with a face (`?faces=detect`, the background
 * plugin on as by default, so person events come too) and Debian Chromium. It checks that a face
 * event appears live in the panel with a thumbnail that loaded while the video plays, that it is
 * marked ended once the publisher stops, that the history's filters give what `GET /api/events`
 * gives (kind, stream, min score, time range) with "More events" following `nextCursor`, that an
 * event opens with its snapshot and details, that deleting needs the token (the server's message
 * without it) and works with it, and that the panel shows its feed dropping and coming back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';

const TOKEN = 'player-events-test-token';
const SCREENSHOT = '/tmp/player-events.png';
const DIALOG_SCREENSHOT = '/tmp/player-events-dialog.png';
const TOKEN_SCREENSHOT = '/tmp/player-events-token.png';
/** The clip: one young man, waist up, face to the camera, 640x480 (see /work/shared/media/SOURCES.md). */
const CLIP = 'sister.mkv';
const FRAME = { width: 640, height: 480 };
/** The live panel keeps this many rows in this test (the page's `data-max-events`, 25 as shipped), so its bound is exercised. */
const PANEL_MAX = 2;

interface ApiEvent {
  id: string;
  streamKey: string;
  kind: 'face' | 'person';
  label: string | null;
  startMs: number;
  endMs: number | null;
  endReason: string | null;
  topScore: number;
  frameWidth: number;
  frameHeight: number;
  snapshot: { url: string; bytes: number } | null;
}

async function apiEvents(server: ServerProcess, query: Record<string, string | number>): Promise<{ events: ApiEvent[]; nextCursor: string | null }> {
  const response = await fetch(`${server.httpBase}/api/events?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`);
  assert.equal(response.status, 200, `GET /api/events ${JSON.stringify(query)}`);
  return (await response.json()) as { events: ApiEvent[]; nextCursor: string | null };
}

/** allEvents reads every page of a query (newest first). */
async function allEvents(server: ServerProcess, query: Record<string, string | number>): Promise<ApiEvent[]> {
  const out: ApiEvent[] = [];
  let cursor: string | null = null;
  do {
    const page = await apiEvents(server, { ...query, limit: 500, ...(cursor ? { cursor } : {}) });
    out.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

async function streamLive(server: ServerProcess, key: string): Promise<boolean> {
  const body = (await (await fetch(`${server.httpBase}/api/streams`)).json()) as { streams: { key: string; state: string }[] };
  return body.streams.some((s) => s.key === key && s.state === 'live');
}

describe('player events panel and history', { skip: mediaSkip, timeout: 300000 }, () => {
  const key = uniqueKey('events');
  let browser: Browser;
  let server: ServerProcess;
  let publisher: Publisher | undefined;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const startedAt = Date.now();
  let faceId = '';
  /** The live panel's and the video's boxes once the first event showed: rows coming and going must not move them. */
  let firstLayout: { panel: number[]; video: number[] } | undefined;
  // No named helpers inside evaluate: tsx's esbuild would wrap them in a `__name` the page lacks.
  const layout = () => page.evaluate(() => {
    const [panel, video] = ['live-events', 'video'].map((id) => document.getElementById(id)!.getBoundingClientRect())
      .map((r) => [r.top + scrollY, r.height, r.width]);
    return { panel: panel!, video: video! };
  });

  const panelRows = (kind?: string) => page.locator(`#live-events [data-events-list] li${kind ? `[data-kind="${kind}"]` : ''}`);
  const historyRows = () => page.locator('#events-history [data-history-list] li');
  const historyIds = () => historyRows().evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.eventId!));
  const dialog = () => page.locator('#event-dialog');

  /** search fills the history form (every field given; '' clears one), submits it and waits for the answer. */
  async function search(filters: { stream?: string; kind?: string; label?: string; minScore?: string; after?: string; before?: string }): Promise<string[]> {
    await page.locator('#history-stream').fill(filters.stream ?? '');
    await page.locator('#history-kind').selectOption(filters.kind ?? '');
    await page.locator('#history-label').fill(filters.label ?? '');
    await page.locator('#history-min-score').fill(filters.minScore ?? '');
    await page.locator('#history-after').fill(filters.after ?? '');
    await page.locator('#history-before').fill(filters.before ?? '');
    await page.locator('#events-history button[type="submit"]').click();
    await waitFor('the history answer', async () => {
      const state = await page.locator('[data-history-status]').getAttribute('data-state');
      return state === 'ok' || state === 'empty' || state === 'error';
    }, 10000, 50);
    return historyIds();
  }

  before(async () => {
    [browser, server] = await Promise.all([launchChromium(), startServer([], { LIVEMATTE_AUTH_ADMIN_TOKEN: TOKEN })]);
    publisher = publish(`${server.rtmpBase}/${key}?faces=detect`, ['-stream_loop', '-1', '-i', mediaFile(CLIP)], ['-c', 'copy']);
    await waitFor(`'${key}' live`, () => streamLive(server, key), 45000, 250)
      .catch((err: Error) => { throw new Error(`${err.message}; ffmpeg: ${publisher?.stderr().slice(-300)}`); });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // The page as served, with a smaller bound on the live panel.
    await page.route(`${server.httpBase}/`, async (route) => {
      const response = await route.fetch();
      const html = await response.text();
      assert.ok(html.includes('data-max-events="25"'));
      await route.fulfill({ response, body: html.replace('data-max-events="25"', `data-max-events="${PANEL_MAX}"`) });
    });
    await page.goto(`${server.httpBase}/#${key}`);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await publisher?.stop();
    await server?.stop();
  });

  test('a face event appears live in the panel with a thumbnail that loaded, and the video plays', async () => {
    await page.locator('#live-events[data-feed-state="live"]').waitFor({ timeout: 15000 });
    assert.equal(await page.locator('#live-events [data-feed-state]').innerText(), 'Live');
    // The feed's `start`: a face row marked live.
    await page.locator('#live-events [data-events-list] li[data-kind="face"][data-state="live"]').first().waitFor({ timeout: 30000 });
    // Then a face row whose thumbnail loaded (rows come and go: the clip loops and the panel keeps PANEL_MAX).
    const seen = await waitFor('a face row with its thumbnail loaded', () => page.evaluate(() => {
      const li = Array.from(document.querySelectorAll<HTMLElement>('#live-events [data-events-list] li[data-kind="face"]')).find((el) => {
        const img = el.querySelector('img')!;
        return img.complete && img.naturalWidth > 0 && el.querySelector('.thumb')!.getAttribute('data-thumb-state') === 'loaded';
      });
      if (!li) return undefined;
      const img = li.querySelector('img')!;
      const [kind, label, score, time, duration] = ['.event-kind', '.event-label', '.event-score', '.event-time', '.event-duration']
        .map((selector) => (li.querySelector(selector) as HTMLElement).innerText);
      return {
        id: li.dataset.eventId!, state: li.dataset.state, w: img.naturalWidth, h: img.naturalHeight, src: img.getAttribute('src'),
        kind, label, score, time, duration, badge: li.querySelector('.event-badge')!.textContent,
      };
    }), 30000, 100);
    faceId = seen.id;
    // Live still, or ended since (the clip loops and the face jumps).
    assert.ok(seen.state === 'live' || seen.state === 'ended');
    assert.equal(seen.kind, 'Face');
    assert.equal(seen.label, 'unknown');
    assert.equal(seen.badge, seen.state === 'live' ? 'Live' : 'Ended');
    assert.match(seen.score!, /^\d{1,3}%$/);
    assert.match(seen.time!, /^\d\d:\d\d:\d\d$/);
    assert.match(seen.duration!, /^\d+\.\d s$/);
    assert.deepEqual([seen.w, seen.h], [FRAME.width, FRAME.height], 'the snapshot is the whole processed frame');
    assert.match(seen.src!, new RegExp(`^/api/events/${faceId}/snapshot\\.jpg\\?v=\\d+$`));
    const stored = (await (await fetch(`${server.httpBase}/api/events/${faceId}`)).json()) as ApiEvent;
    assert.equal(stored.kind, 'face');
    assert.equal(stored.streamKey, key);
    // The thumbnail is the store's snapshot (its current or an earlier version while the event lasted).
    assert.ok(stored.snapshot, 'the stored event has a snapshot');
    // The video plays alongside (the events add no work to the page's playback).
    await waitFor('the player playing', () => page.evaluate(() => (window as unknown as { playerState: { status: string } }).playerState.status === 'playing'), 45000, 250);
    firstLayout = await layout();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  test('a live event opens with delete disabled until it ends', async () => {
    // A person lasts as long as the stream (the background's mask): the likeliest row to be live still.
    const id = await page.locator('#live-events [data-events-list] li[data-state="live"]').last().getAttribute('data-event-id');
    await page.locator(`#live-events li[data-event-id="${id}"] button`).click();
    await dialog().waitFor({ state: 'visible', timeout: 5000 });
    try {
      assert.equal(await dialog().getAttribute('data-event-id'), id);
      assert.equal(await dialog().getAttribute('data-state'), 'live');
      assert.equal(await dialog().locator('[data-delete]').isDisabled(), true);
      assert.equal(await dialog().locator('[data-delete-hint]').isVisible(), true);
    } finally {
      await page.keyboard.press('Escape');
      await dialog().waitFor({ state: 'hidden', timeout: 5000 });
    }
    // Focus is back on the row that opened it.
    assert.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.eventId), id);
  });

  test('the panel marks the events ended once the publisher stops', async () => {
    await publisher!.stop();
    publisher = undefined;
    await waitFor('every row of the panel ended', async () =>
      (await panelRows().count()) > 0 && (await panelRows().evaluateAll((lis) => lis.every((li) => (li as HTMLElement).dataset.state === 'ended'))), 20000, 200);
    // The store is written in batches (events.flushIntervalMs), a little after the feed.
    const events = await waitFor('every event of the stream ended in the store', async () => {
      const all = await allEvents(server, { stream: key });
      return all.length > 0 && all.every((e) => e.endMs !== null) ? all : undefined;
    }, 10000, 200);
    const rows = await waitFor('every row\'s thumbnail loaded', () => panelRows().evaluateAll((lis) => {
      const out = lis.map((li) => ({
        id: (li as HTMLElement).dataset.eventId!,
        badge: li.querySelector('.event-badge')!.textContent,
        duration: (li.querySelector('.event-duration') as HTMLElement).innerText,
        thumb: (li.querySelector('img') as HTMLImageElement).naturalWidth,
      }));
      return out.every((r) => r.thumb > 0) && out;
    }), 10000, 200);
    for (const r of rows) {
      assert.equal(r.badge, 'Ended');
      assert.match(r.duration, /^\d+\.\d s$/);
    }
    // Bounded: at most PANEL_MAX rows, newest first, the newest of all among them (a lasting event
    // may have kept an older row in view while newer ones ended).
    const shown = rows.map((r) => r.id);
    const ids = events.map((e) => e.id);
    assert.equal(shown.length, Math.min(PANEL_MAX, events.length), `${events.length} events, ${shown.length} rows`);
    assert.deepEqual(shown, [...shown].sort().reverse(), 'newest first');
    assert.equal(shown[0], ids[0], 'the newest event is shown');
    assert.ok(shown.every((id) => ids.includes(id)));
    assert.deepEqual(await layout(), firstLayout, `the panel and the video kept their place and size with ${shown.length} rows`);
    assert.deepEqual(pageErrors, []);
  });

  test('the panel shows every stream\'s events when asked, and the selected one\'s again', async () => {
    const scope = page.locator('#live-events-scope');
    assert.equal(await scope.inputValue(), 'stream');
    const requests: string[] = [];
    const listen = (req: { url(): string }) => { if (req.url().includes('/api/events/live')) requests.push(new URL(req.url()).search); };
    page.on('request', listen);
    try {
      await scope.selectOption('all');
      await waitFor('the all-streams feed', () => requests.includes(''), 5000, 50);
      await page.locator('#live-events[data-feed-state="live"]').waitFor({ timeout: 10000 });
      // Rows again, from the store (this is the only stream): the newest first.
      const newest = (await apiEvents(server, { limit: 1 })).events[0]!.id;
      await page.locator(`#live-events li[data-event-id="${newest}"]`).waitFor({ timeout: 5000 });
      await scope.selectOption('stream');
      await waitFor('the selected stream\'s feed', () => requests.includes(`?stream=${key}`), 5000, 50);
      await page.locator('#live-events[data-feed-state="live"]').waitFor({ timeout: 10000 });
      await page.locator(`#live-events li[data-event-id="${newest}"]`).waitFor({ timeout: 5000 });
    } finally {
      page.off('request', listen);
    }
  });

  test('the history filters give what GET /api/events gives', async (t) => {
    const faces = await allEvents(server, { stream: key, kind: 'face' });
    const persons = await allEvents(server, { stream: key, kind: 'person' });
    t.diagnostic(`events of the stream: ${faces.length} face, ${persons.length} person`);
    assert.ok(faces.length >= 1, 'a face event');
    assert.ok(faces.some((e) => e.id === faceId));
    const faceIds = faces.map((e) => e.id);

    const faceRows = await search({ stream: key, kind: 'face' });
    assert.deepEqual(faceRows, faceIds);
    assert.ok((await historyRows().evaluateAll((lis) => lis.every((li) => (li as HTMLElement).dataset.kind === 'face'))));

    const personRows = await search({ stream: key, kind: 'person' });
    assert.deepEqual(personRows, persons.map((e) => e.id));
    assert.ok(personRows.every((id) => !faceIds.includes(id)), 'kind=person gives none of the face events');
    if (personRows.length === 0) assert.equal(await page.locator('[data-history-status]').innerText(), 'No events match these filters.');

    assert.deepEqual(await search({ stream: 'nobody-published-this' }), []);
    assert.equal(await page.locator('[data-history-status]').getAttribute('data-state'), 'empty');

    const threshold = Math.max(...faces.map((e) => e.topScore)) - 0.001;
    assert.deepEqual(await search({ stream: key, kind: 'face', minScore: threshold.toFixed(3) }),
      (await allEvents(server, { stream: key, kind: 'face', minScore: threshold.toFixed(3) })).map((e) => e.id));

    // The time range (datetime-local, the page's local time): the test's own span has them all, before it none.
    const local = (ms: number) => { const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000); return d.toISOString().slice(0, 19); };
    assert.deepEqual(await search({ stream: key, kind: 'face', after: local(startedAt - 1000), before: local(Date.now() + 60000) }), faceIds);
    assert.deepEqual(await search({ stream: key, before: local(startedAt - 60000) }), []);

    // A bad filter: the server's message.
    await search({ minScore: '3' });
    assert.equal(await page.locator('[data-history-status]').getAttribute('data-state'), 'error');
    assert.match(await page.locator('[data-history-status]').innerText(), /minScore/);
    assert.deepEqual(pageErrors, []);
  });

  test('"More events" follows nextCursor to the last page', async () => {
    const every = await allEvents(server, { stream: key });
    assert.ok(every.length >= 2, `two events to page through (have ${every.length})`);
    // Pages of one from the real server, so paging is exercised without hundreds of events.
    await page.route(/\/api\/events\?/, (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.get('limit') === '50') url.searchParams.set('limit', '1');
      return route.continue({ url: url.href });
    });
    try {
      assert.deepEqual(await search({ stream: key }), [every[0]!.id]);
      const more = page.locator('[data-history-more]');
      for (let n = 2; n <= every.length; n++) {
        assert.equal(await more.isVisible(), true, `More after ${n - 1} rows`);
        await more.click();
        await waitFor(`${n} rows`, async () => (await historyRows().count()) === n && !(await more.isDisabled()), 10000, 50);
      }
      assert.deepEqual(await historyIds(), every.map((e) => e.id), 'all pages, newest first, no repeats');
      await more.waitFor({ state: 'hidden', timeout: 5000 });
      assert.match(await page.locator('[data-history-status]').innerText(), new RegExp(`^${every.length} events\\.$`));
    } finally {
      await page.unroute(/\/api\/events\?/);
    }
  });

  test('an event opens with its snapshot and details', async () => {
    await search({ stream: key, kind: 'face' });
    const row = page.locator(`#events-history li[data-event-id="${faceId}"]`);
    await row.locator('button').focus();
    await page.keyboard.press('Enter');
    await dialog().waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await dialog().getAttribute('data-event-id'), faceId);
    await waitFor('the snapshot loaded', () => dialog().locator('[data-snapshot]').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 10000, 100);
    const size = await dialog().locator('[data-snapshot]').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    assert.deepEqual(size, [FRAME.width, FRAME.height]);
    assert.equal(await dialog().getAttribute('data-snapshot'), 'loaded');
    assert.equal(await dialog().locator('[data-box]').isVisible(), true, 'the top-score box is drawn on the whole frame');
    assert.equal(await dialog().locator('[data-dialog-title]').innerText(), `Face event on ${key}`);
    assert.equal(await dialog().locator('[data-field="stream"]').innerText(), key);
    assert.equal(await dialog().locator('[data-field="label"]').innerText(), 'unknown');
    assert.equal(await dialog().locator('[data-field="id"]').innerText(), faceId);
    assert.match(await dialog().locator('[data-field="ended"]').innerText(), /stream ended|left the view/);
    const stored = (await (await fetch(`${server.httpBase}/api/events/${faceId}`)).json()) as ApiEvent;
    assert.equal(await dialog().locator('[data-field="score"]').innerText(), `${Math.round(stored.topScore * 100)}%`);
    assert.equal(await dialog().locator('[data-snapshot-link]').getAttribute('href'), `${stored.snapshot!.url}?v=${stored.snapshot!.bytes}`);
    assert.equal(await dialog().locator('[data-delete]').isDisabled(), false);
    await page.screenshot({ path: DIALOG_SCREENSHOT });
    await dialog().locator('[data-dialog-close]').click();
    await dialog().waitFor({ state: 'hidden', timeout: 5000 });
    assert.deepEqual(pageErrors, []);
  });

  test('delete needs the admin token: the server\'s message without it, gone with it', async () => {
    const direct = await fetch(`${server.httpBase}/api/events/${faceId}`, { method: 'DELETE' });
    assert.equal(direct.status, 401);
    const { message } = (await direct.json()) as { message: string };

    await page.locator(`#events-history li[data-event-id="${faceId}"] button`).click();
    await dialog().waitFor({ state: 'visible', timeout: 5000 });
    await dialog().locator('[data-delete]').click();
    await dialog().locator('[data-delete-yes]').click();
    const tokenForm = dialog().locator('#token-form');
    await tokenForm.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await tokenForm.locator('[data-token-message]').innerText(), /Deleting events/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'admin-token');
    await page.screenshot({ path: TOKEN_SCREENSHOT });
    // Without the token (the prompt cancelled): the server's 401 message, the event kept.
    await tokenForm.locator('[data-token-cancel]').click();
    await page.locator('#event-dialog [data-dialog-status][data-state="error"]').waitFor({ timeout: 5000 });
    assert.equal(await dialog().locator('[data-dialog-status]').innerText(), message);
    assert.equal((await fetch(`${server.httpBase}/api/events/${faceId}`)).status, 200, 'not deleted');

    // A wrong token is refused and asked again; the right one deletes.
    await dialog().locator('[data-delete]').click();
    await dialog().locator('[data-delete-yes]').click();
    await tokenForm.waitFor({ state: 'visible', timeout: 5000 });
    await page.locator('#admin-token').fill('not-the-token');
    await page.locator('#admin-token').press('Enter');
    await waitFor('the prompt again, saying the token was refused', async () =>
      (await tokenForm.isVisible()) && /refused/.test(await tokenForm.locator('[data-token-message]').innerText()), 5000, 100);
    await page.locator('#admin-token').fill(TOKEN);
    await page.locator('#admin-token').press('Enter');
    await dialog().waitFor({ state: 'hidden', timeout: 10000 });
    assert.equal((await fetch(`${server.httpBase}/api/events/${faceId}`)).status, 404, 'deleted on the server');
    assert.equal(await page.locator(`#events-history li[data-event-id="${faceId}"]`).count(), 0, 'gone from the history');
    assert.equal(await page.locator(`#live-events li[data-event-id="${faceId}"]`).count(), 0, 'gone from the panel');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'events', 'focus lands on the events section');
    assert.deepEqual(pageErrors, []);
  });

  test('the panel shows its feed dropping and reconnects when the server is back', async () => {
    const { httpPort, rtmpPort } = server;
    await server.stop();
    await page.locator('#live-events:is([data-feed-state="reconnecting"], [data-feed-state="down"])').waitFor({ timeout: 15000 });
    server = await startServer(['--http-port', String(httpPort), '--rtmp-port', String(rtmpPort)], { LIVEMATTE_AUTH_ADMIN_TOKEN: TOKEN });
    assert.equal(server.httpPort, httpPort);
    await page.locator('#live-events[data-feed-state="live"]').waitFor({ timeout: 45000 });
    // A new face on the restarted server reaches the panel through the reconnected feed.
    publisher = publish(`${server.rtmpBase}/${key}?faces=detect`, ['-stream_loop', '-1', '-i', mediaFile(CLIP)], ['-c', 'copy']);
    await page.locator('#live-events li[data-kind="face"][data-state="live"]').waitFor({ timeout: 45000 });
    // The new face and person push the old server's ended rows out: never more than PANEL_MAX rows.
    const before = await panelRows().count();
    assert.ok(before <= PANEL_MAX, `${before} rows`);
    await waitFor(`${PANEL_MAX} live rows, the ended ones dropped`, async () => {
      const states = await panelRows().evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.state));
      assert.ok(states.length <= PANEL_MAX, `${states.length} rows`);
      return states.length === PANEL_MAX && states.every((st) => st === 'live');
    }, 30000, 100);
    assert.deepEqual(pageErrors, []);
  });
});
