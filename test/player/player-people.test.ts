/**
 * The people page (player/people.html) in Chromium against the real server with an admin token:
 * the page asks for the token (every gallery route needs it), adds a person, refuses a duplicate
 * name and shows why, enrols a face from an uploaded JPEG (the 150x150 reference shown), refuses a
 * picture without a face and one with two faces with the server's reason, enrols from a live
 * stream published by a real ffmpeg, deletes a face and then the person; each step is checked
 * against the API as well as on the page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { makePeopleImages, type PeopleImages } from '../server/people/people-images.ts';

const TOKEN = 'player-people-test-token';

interface ApiPerson { id: string; name: string; faceCount: number; faces: { id: string; source: string }[] }

describe('people page', { skip: mediaSkip }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let server: ServerProcess;
  let publisher: Publisher | undefined;
  let dir: string;
  let images: PeopleImages;
  const pageErrors: string[] = [];
  const key = uniqueKey('people');

  const people = async (): Promise<ApiPerson[]> => {
    const res = await fetch(`${server.httpBase}/api/people`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { people: ApiPerson[] }).people;
  };
  const card = (name: string) => page.locator('.person', { has: page.locator('h2', { hasText: name }) });
  const status = () => page.locator('#people-status').textContent();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'player-people-'));
    [browser, server, images] = await Promise.all([launchChromium(), startServer([], { LIVEMATTE_AUTH_ADMIN_TOKEN: TOKEN }), makePeopleImages(dir)]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.httpBase}/people.html`);
  });

  after(async () => {
    await publisher?.stop();
    await context?.close();
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('asks for the admin token, then shows the empty gallery', async () => {
    await page.locator('#token-form').waitFor({ state: 'visible', timeout: 10000 });
    assert.match((await page.locator('[data-token-message]').textContent())!, /admin token/);
    await page.locator('#admin-token').fill(TOKEN);
    await page.locator('#token-form button[type=submit]').click();
    await waitFor('the empty gallery', async () => (await page.locator('#people-list').getAttribute('data-count')) === '0', 10000, 50);
    assert.match((await status())!, /Nobody is enrolled/);
  });

  test('adds a person; a duplicate name is refused with the reason, nothing added', async () => {
    await page.locator('#add-person input[name=name]').fill('Sam');
    await page.locator('#add-person button[type=submit]').click();
    await card('Sam').waitFor({ timeout: 10000 });
    await page.locator('#add-person input[name=name]').fill('sam');
    await page.locator('#add-person button[type=submit]').click();
    await waitFor('the refusal', async () => /Could not add sam/.test((await status()) ?? ''), 10000, 50);
    assert.match((await status())!, /exists|taken|already/i);
    assert.deepEqual((await people()).map((p) => p.name), ['Sam']);
  });

  test('uploads: one face enrolled and shown; no face and two faces refused with the count', async () => {
    const sam = card('Sam');
    await sam.locator('input[type=file]').setInputFiles(images.oneFaceJpeg);
    await waitFor('the reference face shown', async () => (await sam.locator('.person-faces img').count()) === 1
      && await sam.locator('.person-faces img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 150), 20000, 100);
    assert.equal((await people())[0]!.faceCount, 1);
    for (const [file, reason] of [[images.noFace, /0 faces found/], [images.twoFaces, /2 faces found/]] as const) {
      await card('Sam').locator('input[type=file]').setInputFiles(file);
      await waitFor(`the refusal of ${file}`, async () => reason.test((await card('Sam').locator('[data-error]').textContent()) ?? ''), 20000, 100);
    }
    assert.equal((await people())[0]!.faceCount, 1, 'the refused images changed nothing');
  });

  test('enrols from a live stream, deletes a face, then the person', async () => {
    publisher = publish(`${server.rtmpBase}/${key}`, ['-stream_loop', '-1', '-i', mediaFile('again.mkv')], ['-c', 'copy']);
    await waitFor(`'${key}' live`, async () => {
      const res = await fetch(`${server.httpBase}/api/streams`);
      return ((await res.json()) as { streams: { key: string; state: string }[] }).streams.some((s) => s.key === key && s.state === 'live');
    }, 45000, 250);
    await page.reload();
    const sam = card('Sam');
    await sam.locator('select').selectOption(key);
    await sam.locator('button', { hasText: 'Enrol from stream' }).click();
    await waitFor('two faces', async () => (await card('Sam').locator('.person-faces img').count()) === 2, 20000, 100);
    const [person] = await people();
    assert.deepEqual(person!.faces.map((f) => f.source), ['upload', `stream:${key}`]);
    await card('Sam').locator('.person-faces button').first().click();
    await waitFor('one face left', async () => (await card('Sam').locator('.person-faces img').count()) === 1, 10000, 100);
    assert.deepEqual((await people())[0]!.faces.map((f) => f.source), [`stream:${key}`]);
    await card('Sam').locator('button', { hasText: 'Delete person' }).click();
    await waitFor('nobody', async () => (await page.locator('#people-list').getAttribute('data-count')) === '0', 10000, 50);
    assert.deepEqual(await people(), []);
    assert.deepEqual(pageErrors, []);
  });
});
