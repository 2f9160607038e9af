import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backgroundOptions, listBackgroundImages, queryToRequest, resolveImagePath } from '../../../server/ingest/stream-options.ts';
import { isOutputName, isValidStreamKey } from '../../../server/ingest/stream-key.ts';
import { defaultConfig } from '../../../server/config.ts';

test('stream keys: only 1-128 of A-Z a-z 0-9 _ -', () => {
  const good = ['demo', 'a', 'A_b-9', 'x'.repeat(128)];
  const bad = ['', '..', '../x', 'a/b', '%2e%2e', 'x'.repeat(129), 'caf\u00e9', 'a b', 'a.b', 'a\\b', '\u0000'];
  for (const k of good) assert.equal(isValidStreamKey(k), true, k);
  for (const k of bad) assert.equal(isValidStreamKey(k), false, JSON.stringify(k));
  assert.equal(isOutputName('stream-demo'), true);
  assert.equal(isOutputName('demo'), false);
});

test('query maps to background options over the config', () => {
  const bg = defaultConfig().background;
  const cases: [Record<string, string>, Record<string, unknown>][] = [
    [{}, { mode: 'color', color: 'c0c0c0' }],
    [{ bg: 'blur' }, { mode: 'blur' }],
    [{ bg: 'color', color: '00ff00' }, { mode: 'color', color: '00ff00' }],
    [{ bg: 'blur', blur: '8' }, { mode: 'blur', blurRadiusPx: '8' }],
    [{ bg: 'none' }, { mode: 'none', imagePath: '' }],
  ];
  for (const [query, want] of cases) {
    const got = backgroundOptions(bg, queryToRequest(query));
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, `${JSON.stringify(query)} ${k}`);
    assert.equal('image' in got, false);
  }
});

test('image names resolve only inside the images folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-'));
  writeFileSync(join(dir, 'beach.jpg'), 'x');
  assert.equal(resolveImagePath(dir, 'beach'), join(dir, 'beach.jpg'));
  for (const name of ['../etc/passwd', 'beach.jpg', '..', '', 'a/b', '%2e%2e']) {
    assert.throws(() => resolveImagePath(dir, name), /ERR_BACKGROUND_IMAGE|must be 1-64/, name);
  }
  assert.throws(() => resolveImagePath(dir, 'missing'), /no background image 'missing'/);
  const bg = { ...defaultConfig().background, imagesDir: dir };
  assert.equal(backgroundOptions(bg, { mode: 'image', image: 'beach' }).imagePath, join(dir, 'beach.jpg'));
  assert.throws(() => backgroundOptions(bg, { mode: 'image' }), /needs an image name/);
});

test('listBackgroundImages lists usable image names only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgl-'));
  for (const f of ['beach.jpg', 'city.PNG', 'notes.txt', 'bad name.jpg', 'beach.webp']) writeFileSync(join(dir, f), 'x');
  assert.deepEqual(await listBackgroundImages(dir), ['beach'], 'extensions are matched as resolveImagePath does (lower case)');
  assert.deepEqual(await listBackgroundImages(join(dir, 'missing')), []);
});
