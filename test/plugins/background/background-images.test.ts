import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backgroundFromQuery, listBackgroundImages, prepareBackground, resolveImagePath } from '../../../plugins/background/background-images.ts';
import type { BackgroundOptions } from '../../../plugins/background/background-options.ts';
import { validatePluginOptions } from '../../../plugins/plugin-test-host.ts';
import plugin from '../../../plugins/background/index.ts';

test('the stream-key query keys published URLs use map to background options', () => {
  const cases: [Record<string, string>, Record<string, unknown>][] = [
    [{}, {}],
    [{ bg: 'blur' }, { mode: 'blur' }],
    [{ mode: 'blur' }, { mode: 'blur' }],
    [{ bg: 'color', color: '00ff00' }, { mode: 'color', color: '00ff00' }],
    [{ bg: 'blur', blur: '8' }, { mode: 'blur', blurRadiusPx: '8' }],
    [{ bg: 'image', image: 'beach' }, { mode: 'image', image: 'beach' }],
    [{ bg: 'none', token: 's3cret', faces: 'blur' }, { mode: 'none' }],
  ];
  for (const [query, want] of cases) {
    const got = backgroundFromQuery(query);
    assert.deepEqual(got, { options: want }, JSON.stringify(query));
  }
});

test('image names resolve only inside the images folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-'));
  writeFileSync(join(dir, 'beach.jpg'), 'x');
  assert.equal(resolveImagePath(dir, 'beach'), join(dir, 'beach.jpg'));
  for (const name of ['../etc/passwd', 'beach.jpg', '..', '', 'a/b', '%2e%2e']) {
    assert.throws(() => resolveImagePath(dir, name), (e: Error & { code?: string }) => e.code === 'ERR_BACKGROUND_IMAGE' && /must be 1-64/.test(e.message), name);
  }
  assert.throws(() => resolveImagePath(dir, 'missing'), /no background image 'missing'/);
  const options = (raw: Partial<BackgroundOptions>) => validatePluginOptions(plugin, raw);
  assert.equal(prepareBackground(options({ mode: 'image', image: 'beach' }), dir).imagePath, join(dir, 'beach.jpg'));
  assert.equal(prepareBackground(options({ mode: 'blur', image: 'beach' }), dir).imagePath, '', 'only mode image reads a file');
  assert.throws(() => prepareBackground(options({ mode: 'image' }), dir), /needs an image name/);
});

test('listBackgroundImages lists usable image names only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgl-'));
  for (const f of ['beach.jpg', 'city.PNG', 'notes.txt', 'bad name.jpg', 'beach.webp']) writeFileSync(join(dir, f), 'x');
  assert.deepEqual(await listBackgroundImages(dir), ['beach'], 'extensions are matched as resolveImagePath does (lower case)');
  assert.deepEqual(await listBackgroundImages(join(dir, 'missing')), []);
});
