/**
 * End-to-end test of the player's plugin controls: the real server, an ffmpeg publisher and Debian
 * Chromium. The controls are built from `GET /api/plugins`, so the test walks whatever plugins the
 * server lists; `background` is always there and exercises the generic path on its own, and the
 * `faces` checks run when that plugin is registered. It checks the fields against the schemas,
 * turning a plugin off and on and changing options from the page (seen in `GET /api/streams`), the
 * server's message for a bad value (the stream goes on), and the admin-token prompt.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';

/** Synthetic 320x240 25 fps test card, 1 s GOP, no audio: the cheapest stream that goes through the chain. */
const CARD_INPUT = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'];
const CARD_ENCODE = ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-an'];
/** Options the dedicated background form owns (the generic form shows the others); as in player/player.js. */
const BACKGROUND_FORM_OPTIONS = ['mode', 'color', 'blurRadiusPx', 'image'];
const TOKEN = 'player-faces-test-token';
const SCREENSHOT = '/tmp/player-faces.png';
const TOKEN_SCREENSHOT = '/tmp/player-faces-token.png';

interface OptionSchema { type?: string; enum?: unknown[]; minimum?: number; maximum?: number; pattern?: string; default?: unknown }
interface PluginInfo { name: string; options: Record<string, OptionSchema>; defaults: Record<string, unknown> }
interface ApiStream {
  key: string;
  state: string;
  plugins: Record<string, Record<string, unknown>>;
  stats: { framesOut: number; gauges: Record<string, number>; stageMs: Record<string, number> };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return (await response.json()) as T;
}

async function apiStream(server: ServerProcess, key: string): Promise<ApiStream | undefined> {
  return (await getJson<{ streams: ApiStream[] }>(`${server.httpBase}/api/streams`)).streams.find((s) => s.key === key);
}

/** waitForPlugins resolves with the stream's `plugins` once `check` holds for them. */
function waitForPlugins(server: ServerProcess, key: string, what: string, check: (plugins: ApiStream['plugins']) => boolean): Promise<ApiStream['plugins']> {
  return waitFor(`${what} in GET /api/streams`, async () => {
    const plugins = (await apiStream(server, key))?.plugins;
    return plugins && check(plugins) ? plugins : undefined;
  }, 15000, 200);
}

/** generic is the option names the generic form of `plugin` shows. */
function generic(plugin: PluginInfo): string[] {
  return Object.keys(plugin.options).filter((name) => plugin.name !== 'background' || !BACKGROUND_FORM_OPTIONS.includes(name));
}

/** openPage opens the player on `key` in a fresh context (empty sessionStorage) and waits for the stream's controls. */
async function openPage(browser: Browser, server: ServerProcess, key: string, errors: string[]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.httpBase}/#${key}`);
  await page.waitForFunction((k) => (window as unknown as { playerState: { streamKey: string } }).playerState.streamKey === k, key, { timeout: 15000 });
  await page.locator('[data-plugin-switch="background"]').waitFor({ state: 'attached', timeout: 15000 });
  return { context, page };
}

/** startStream starts a server (`env`) with a publisher on `key` and waits until the stream is live. */
async function startStream(key: string, env: NodeJS.ProcessEnv = {}): Promise<{ server: ServerProcess; publisher: Publisher }> {
  const server = await startServer([], env);
  const publisher = publish(`${server.rtmpBase}/${key}`, CARD_INPUT, CARD_ENCODE);
  await waitFor(`'${key}' live`, async () => (await apiStream(server, key))?.state === 'live', 45000, 250)
    .catch((err: Error) => { throw new Error(`${err.message}; ffmpeg: ${publisher.stderr().slice(-300)}`); });
  return { server, publisher };
}

describe('player plugin controls', { timeout: 240000 }, () => {
  const key = 'card';
  let browser: Browser;
  let server: ServerProcess;
  let publisher: Publisher;
  let context: BrowserContext;
  let page: Page;
  let plugins: PluginInfo[];
  const pageErrors: string[] = [];
  const pluginSwitch = (name: string) => page.locator(`[data-plugin-switch="${name}"]`);
  const field = (plugin: string, option: string) => page.locator(`form[data-plugin="${plugin}"] [data-option="${option}"]`);
  const status = (plugin: string) => page.locator(`[data-plugin-status="${plugin}"]`);

  before(async () => {
    [browser, { server, publisher }] = await Promise.all([launchChromium(), startStream(key)]);
    plugins = (await getJson<{ plugins: PluginInfo[] }>(`${server.httpBase}/api/plugins`)).plugins;
    ({ context, page } = await openPage(browser, server, key, pageErrors));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await publisher?.stop();
    await server?.stop();
  });

  test('shows a control for every plugin GET /api/plugins lists, built from its schema', async (t) => {
    t.diagnostic(`plugins: ${plugins.map((p) => p.name).join(', ')}`);
    assert.ok(plugins.some((p) => p.name === 'background'), 'background is listed');
    const stream = (await apiStream(server, key))!;
    for (const plugin of plugins) {
      await waitFor(`${plugin.name}'s switch shows the stream's chain`, async () =>
        (await pluginSwitch(plugin.name).isChecked()) === (plugin.name in stream.plugins), 5000, 100);
      const names = generic(plugin);
      assert.ok(names.length > 0, `${plugin.name} has options for the generic form`);
      assert.equal(await page.locator(`form[data-plugin="${plugin.name}"] [data-option]`).count(), names.length, `${plugin.name}: one field per option`);
      for (const name of names) {
        const schema = plugin.options[name]!;
        const input = field(plugin.name, name);
        const tag = await input.evaluate((el) => `${el.tagName.toLowerCase()}${el instanceof HTMLInputElement ? `:${el.type}` : ''}`);
        if (schema.enum) {
          assert.equal(tag, 'select', `${plugin.name}.${name} is a select`);
          assert.deepEqual(await input.locator('option').allTextContents(), schema.enum.map(String), `${plugin.name}.${name} lists its enum`);
        } else if (schema.type === 'number' || schema.type === 'integer') {
          assert.equal(tag, 'input:number', `${plugin.name}.${name} is a number input`);
          if (schema.minimum !== undefined) assert.equal(await input.getAttribute('min'), String(schema.minimum));
          if (schema.maximum !== undefined) assert.equal(await input.getAttribute('max'), String(schema.maximum));
        }
        // A running plugin shows the stream's values; one that is off shows its defaults.
        const shown = stream.plugins[plugin.name]?.[name] ?? plugin.defaults[name];
        if (schema.enum) assert.equal(await input.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent), String(shown), `${plugin.name}.${name} value`);
        else if (tag === 'input:number') assert.equal(Number(await input.inputValue()), shown, `${plugin.name}.${name} value`);
      }
    }
    const faces = plugins.find((p) => p.name === 'faces');
    if (faces) {
      // Mode and model are the faces panel's first fields; the rest sit under "More options".
      assert.equal(await page.locator('[data-plugin-panel="faces"] h2').textContent(), 'Faces');
      assert.deepEqual(faces.options.mode?.enum, ['blur', 'pixelate', 'box', 'mark', 'detect']);
      assert.deepEqual(faces.options.model?.enum, ['short', 'full']);
      assert.equal(await field('faces', 'mode').isVisible(), true);
      assert.equal(await field('faces', 'model').isVisible(), true);
    } else {
      t.diagnostic('the faces plugin is not registered on this server: its checks are skipped');
    }
    assert.deepEqual(pageErrors, []);
  });

  test('turning a plugin off and on from the page changes the stream\'s plugins', async (t) => {
    assert.equal(await pluginSwitch('background').isChecked(), true, 'background runs by default');
    await pluginSwitch('background').uncheck();
    await waitForPlugins(server, key, 'background removed', (p) => !('background' in p));
    await page.locator('[data-plugin-status="background"][data-state="ok"]').waitFor({ timeout: 5000 });
    // The background route changes only a running plugin: its form waits for the switch.
    await waitFor('the background form disabled', () => page.locator('#bg-form input[value="blur"]').isDisabled(), 5000, 100);
    assert.equal((await apiStream(server, key))?.state, 'live');

    await pluginSwitch('background').check();
    const on = await waitForPlugins(server, key, 'background back', (p) => 'background' in p);
    assert.equal(on.background!.mode, 'color', 'turned on with its defaults');
    await waitFor('the background form enabled', async () => !(await page.locator('#bg-form input[value="blur"]').isDisabled()), 5000, 100);

    if (plugins.some((p) => p.name === 'faces')) {
      assert.equal(await pluginSwitch('faces').isChecked(), false, 'faces is off by default');
      // An option changed while the plugin is off is sent with the switch.
      await field('faces', 'mode').selectOption({ label: 'pixelate' });
      await pluginSwitch('faces').check();
      const withFaces = await waitForPlugins(server, key, 'faces on', (p) => 'faces' in p);
      assert.equal(withFaces.faces!.mode, 'pixelate');
      await field('faces', 'model').selectOption({ label: 'short' });
      await waitForPlugins(server, key, 'faces.model short', (p) => p.faces?.model === 'short');
      // The stream details show the face count and the detector's time while faces runs.
      await page.locator('[data-stat="faces"]').waitFor({ state: 'visible', timeout: 10000 });
      await waitFor('face count and detector time as numbers', async () =>
        /^\d+$/.test(await page.locator('[data-stat="faces"]').innerText())
        && /^\d+(\.\d)? ms$/.test(await page.locator('[data-stat="facesDetectorMs"]').innerText()), 15000, 250);
      await pluginSwitch('faces').uncheck();
      await waitForPlugins(server, key, 'faces off', (p) => !('faces' in p));
      await page.locator('[data-stat="faces"]').waitFor({ state: 'hidden', timeout: 5000 });
    } else {
      t.diagnostic('no faces plugin: only background was switched');
      assert.equal(await page.locator('[data-stat="faces"]').isVisible(), false, 'no face figures without the plugin');
    }
    assert.deepEqual(pageErrors, []);
  });

  test('changing an option from the page changes it on the server', async () => {
    const background = plugins.find((p) => p.name === 'background')!;
    await page.locator('[data-plugin="background"] summary').click();
    // The first enum and the first number of the generic form, from the schema.
    const enumName = generic(background).find((n) => background.options[n]!.enum)!;
    const numberName = generic(background).find((n) => background.options[n]!.type === 'number')!;
    assert.ok(enumName && numberName, 'background has an enum and a number among its other options');
    const current = (await apiStream(server, key))!.plugins.background!;
    const choice = String(background.options[enumName]!.enum!.find((v) => v !== current[enumName]));
    await field('background', enumName).selectOption({ label: choice });
    await waitForPlugins(server, key, `background.${enumName} = ${choice}`, (p) => p.background?.[enumName] === choice);

    const { minimum = 0, maximum = 1 } = background.options[numberName]!;
    const value = Number((minimum + (maximum - minimum) * 0.3).toFixed(2));
    assert.notEqual(value, current[numberName]);
    await field('background', numberName).fill(String(value));
    await field('background', numberName).press('Enter');
    await waitForPlugins(server, key, `background.${numberName} = ${value}`, (p) => p.background?.[numberName] === value);
    await page.locator('[data-plugin-status="background"][data-state="ok"]').waitFor({ timeout: 5000 });
    assert.match(await status('background').innerText(), new RegExp(`^Applied: .*${value}`));
    assert.deepEqual(pageErrors, []);
  });

  test('a bad value shows the server\'s message beside the form, and the stream goes on', async () => {
    const background = plugins.find((p) => p.name === 'background')!;
    const numberName = generic(background).find((n) => background.options[n]!.type === 'number')!;
    const bad = (background.options[numberName]!.maximum ?? 1) + 4;
    const before = (await apiStream(server, key))!;
    // The same request from outside the page gives the message the page must show.
    const direct = await fetch(`${server.httpBase}/api/streams/${key}/plugins/background`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [numberName]: bad }),
    });
    assert.equal(direct.status, 400);
    const { message } = (await direct.json()) as { message: string };
    assert.match(message, new RegExp(numberName));

    await field('background', numberName).fill(String(bad));
    await field('background', numberName).press('Enter');
    await page.locator('[data-plugin-status="background"][data-state="error"]').waitFor({ timeout: 5000 });
    assert.equal(await status('background').innerText(), message);
    assert.equal(await field('background', numberName).getAttribute('aria-invalid'), 'true');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const framesOut = before.stats.framesOut;
    const afterBad = await waitFor('frames still going out', async () => {
      const s = await apiStream(server, key);
      return s && s.stats.framesOut > framesOut + 25 ? s : undefined;
    }, 15000, 250);
    assert.equal(afterBad.state, 'live');
    assert.equal(afterBad.plugins.background![numberName], before.plugins.background![numberName], 'the bad value changed nothing');
    assert.deepEqual(pageErrors, []);
  });

  test('with an admin token configured, the page asks for it and then succeeds', async () => {
    const guarded = await startStream('guarded', { LIVEMATTE_AUTH_ADMIN_TOKEN: TOKEN });
    const errors: string[] = [];
    const opened = await openPage(browser, guarded.server, 'guarded', errors);
    try {
      const p = opened.page;
      const tokenForm = p.locator('#token-form');
      assert.equal(await tokenForm.isVisible(), false, 'no prompt before a change');
      await p.locator('[data-plugin-switch="background"]').uncheck();
      await tokenForm.waitFor({ state: 'visible', timeout: 5000 });
      // The prompt sits with the form that asked.
      assert.equal(await tokenForm.evaluate((el) => el.previousElementSibling?.getAttribute('data-plugin')), 'background');
      assert.equal(await p.evaluate(() => document.activeElement?.id), 'admin-token');
      await p.screenshot({ path: TOKEN_SCREENSHOT, fullPage: true });

      await p.locator('#admin-token').fill('not-the-token');
      await p.locator('#token-form button[type="submit"]').click();
      await waitFor('the prompt again, saying the token was refused', async () =>
        (await tokenForm.isVisible()) && /refused/.test(await p.locator('[data-token-message]').innerText()), 5000, 100);
      assert.ok('background' in (await apiStream(guarded.server, 'guarded'))!.plugins, 'nothing changed without the token');

      await p.locator('#admin-token').fill(TOKEN);
      await p.locator('#admin-token').press('Enter');
      await waitForPlugins(guarded.server, 'guarded', 'background removed with the token', (pl) => !('background' in pl));
      await tokenForm.waitFor({ state: 'hidden', timeout: 5000 });
      assert.equal(await p.evaluate(() => sessionStorage.getItem('liveMatte.adminToken')), TOKEN);

      // Later changes use the stored token without asking, the background form's route included.
      await p.locator('[data-plugin-switch="background"]').check();
      await waitForPlugins(guarded.server, 'guarded', 'background back', (pl) => 'background' in pl);
      await waitFor('the background form enabled', async () => !(await p.locator('#bg-form input[value="blur"]').isDisabled()), 5000, 100);
      await p.locator('.modes input[value="blur"]').check();
      await waitForPlugins(guarded.server, 'guarded', 'background.mode blur', (pl) => pl.background?.mode === 'blur');
      assert.equal(await tokenForm.isVisible(), false, 'not asked again');
      assert.deepEqual(errors, []);
    } finally {
      await opened.context.close();
      await guarded.publisher.stop();
      await guarded.server.stop();
    }
  });
});
