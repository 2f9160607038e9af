import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginCatalog } from '../../../server/pipeline/plugin-catalog.ts';
import { PluginChain } from '../../../server/pipeline/plugin-chain.ts';

const catalog = new PluginCatalog(['background'], { background: { color: '112233' } });
const chainFor = (query: Record<string, string>) => new PluginChain(catalog, catalog.selectFromQuery(query));
const code = (re: string | RegExp, errCode = 'ERR_PLUGIN_OPTIONS') => (e: Error & { code?: string }) => e.code === errCode && new RegExp(re).test(e.message);

test('a stream\'s chain: the default chain, its config defaults, and what the query sets', () => {
  const cases: [Record<string, string>, string[], Record<string, unknown>][] = [
    [{}, ['background'], { mode: 'color', color: '112233' }],
    [{ bg: 'blur' }, ['background'], { mode: 'blur', color: '112233' }],
    [{ 'background.color': '00ff00', 'background.blurRadiusPx': '8' }, ['background'], { color: '00ff00', blurRadiusPx: 8 }],
    [{ background: 'off' }, [], {}],
    [{ background: 'on', token: 'x', unrelated: 'y' }, ['background'], { mode: 'color' }],
  ];
  for (const [query, names, want] of cases) {
    const chain = chainFor(query);
    assert.deepEqual(chain.names, names, JSON.stringify(query));
    for (const [k, v] of Object.entries(want)) assert.equal(chain.options('background')?.[k], v, `${JSON.stringify(query)} ${k}`);
  }
  assert.equal('imagePath' in chainFor({}).options('background')!, false, 'internal options are not shown');
  assert.equal(typeof chainFor({}).calls()[0]!.options, 'object');
  assert.equal((chainFor({}).calls()[0]!.options as Record<string, unknown>).imagePath, '', 'the worker gets the prepared options');
});

test('bad options on the query name the plugin and the option', () => {
  assert.throws(() => chainFor({ bg: 'sparkles' }), code("'background.mode' must be equal to one of the allowed values: color, blur, image, none"));
  assert.throws(() => chainFor({ 'background.sparkle': '1' }), code("'background' has no option 'sparkle'"));
  assert.throws(() => chainFor({ 'background.imagePath': '/etc/passwd' }), code("'background.imagePath' is set by the server"));
  assert.throws(() => chainFor({ background: 'maybe' }), code('background=on or background=off'));
  assert.throws(() => chainFor({ bg: 'image' }), code('needs an image name', 'ERR_BACKGROUND_IMAGE'));
});

test('plugin settings reach prepare: an image name resolves in the configured folder only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chain-bg-'));
  writeFileSync(join(dir, 'beach.png'), 'x');
  const withImages = new PluginCatalog(['background'], { background: { imagesDir: dir } });
  const chain = new PluginChain(withImages, withImages.selectFromQuery({ bg: 'image', image: 'beach' }));
  assert.equal((chain.calls()[0]!.options as Record<string, unknown>).imagePath, join(dir, 'beach.png'));
  assert.deepEqual(chain.options('background')?.image, 'beach');
  assert.throws(() => new PluginCatalog(['background'], { background: { imagesDir: ['a', 'b'] } as never }), /plugins\.background/);
});

test('live changes: validated against the plugin schema, nothing changes on a bad one, plugins on and off', () => {
  const chain = chainFor({});
  assert.equal(chain.update('background', { mode: 'blur', blurRadiusPx: '12' })?.blurRadiusPx, 12);
  assert.throws(() => chain.update('background', { blurRadiusPx: 500 }), code("'background.blurRadiusPx' must be <= 64"));
  assert.throws(() => chain.update('background', { colour: 'ff0000' }), code("has no option 'colour'"));
  assert.equal(chain.options('background')?.blurRadiusPx, 12, 'unchanged after a refused change');
  assert.equal(chain.update('background', {}, false), undefined);
  assert.deepEqual(chain.names, []);
  assert.throws(() => chain.update('background', { mode: 'blur' }), code('not running', 'ERR_PLUGIN_NOT_RUNNING'));
  assert.equal(chain.update('background', { mode: 'none' }, true)?.color, '112233', 'joins with the server defaults');
  assert.equal(chain.passthrough, true);
  assert.throws(() => chain.update('sparkles', {}), code("unknown frame plugin 'sparkles'", 'ERR_PLUGIN_UNKNOWN'));
});

test('states are kept by plugin name, even when the chain changed while a frame was in the pool', () => {
  const chain = chainFor({});
  const calls = chain.calls();
  chain.update('background', { mode: 'blur' });
  chain.keepStates(calls, [{ seen: 1 }]);
  assert.deepEqual(chain.calls()[0]!.state, { seen: 1 });
  chain.update('background', {}, false);
  chain.keepStates(calls, [{ seen: 2 }]);
  assert.deepEqual(chain.calls(), []);
});

test('the catalog refuses unknown plugins and bad config defaults before any stream', () => {
  assert.throws(() => new PluginCatalog(['sparkles']), code("unknown frame plugin 'sparkles'", 'ERR_PLUGIN_UNKNOWN'));
  assert.throws(() => new PluginCatalog(['background'], { background: { mode: 'x' } }), /'plugins\.background\.mode'/);
});

test('the models a chain runs follow its options: the face embedder only for streams that recognise', () => {
  assert.deepEqual(catalog.defaultChainModels(), ['selfie', 'selfie-landscape'], 'the default chain warms only its own models');
  assert.deepEqual(chainFor({}).models(), ['selfie', 'selfie-landscape']);
  assert.deepEqual(chainFor({ faces: 'blur' }).models(), ['selfie', 'selfie-landscape', 'face-full']);
  assert.deepEqual(chainFor({ faces: 'blur', faceModel: 'short', background: 'off' }).models(), ['face-short']);
  assert.deepEqual(chainFor({ faces: 'blur', recognise: '1' }).models(), ['selfie', 'selfie-landscape', 'face-full', 'face-embed']);
  assert.deepEqual(chainFor({ faces: 'blur', anonymise: 'unknown' }).models().includes('face-embed'), true);
  const chain = chainFor({ faces: 'blur' });
  chain.update('faces', { recognise: true });
  assert.equal(chain.models().includes('face-embed'), true, 'a live change to recognise needs the embedder');
  assert.deepEqual(new PluginCatalog(['background', 'faces']).defaultChainModels(), ['selfie', 'selfie-landscape', 'face-full']);
  assert.ok(catalog.models().includes('face-embed'), 'every model a stream may turn on is still checked at start');
});
