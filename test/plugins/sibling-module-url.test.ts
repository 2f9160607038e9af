/**
 * siblingModuleUrl keeps the calling module's extension, so a plugin's worker module resolves to
 * the .ts source under tsx and to the compiled .js in dist/ (test/e2e/compiled-start.test.ts runs
 * the latter for real).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { siblingModuleUrl } from '../../plugins/plugin-api.ts';
import background from '../../plugins/background/index.ts';

test('siblingModuleUrl takes the extension of the module it is called from', () => {
  assert.equal(siblingModuleUrl('file:///srv/app/plugins/x/index.ts', 'x-worker'), 'file:///srv/app/plugins/x/x-worker.ts');
  assert.equal(siblingModuleUrl('file:///srv/app/dist/plugins/x/index.js', 'x-worker'), 'file:///srv/app/dist/plugins/x/x-worker.js');
  assert.equal(siblingModuleUrl('file:///srv/app/lib/index.mjs', 'w'), 'file:///srv/app/lib/w.mjs');
});

test('the background plugin names a worker module that exists', () => {
  const path = fileURLToPath(background.workerModule);
  assert.match(path, /plugins\/background\/background-worker\.ts$/);
  assert.ok(existsSync(path), path);
});
