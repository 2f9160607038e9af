import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configFromEnv, defaultConfig, resolveConfig } from '../../server/config.ts';
import { configExampleYaml, configurationMarkdown } from '../../scripts/config-docs.ts';
import { REPO_ROOT } from '../helpers/server-process.ts';

test('config.example.yaml holds exactly the code defaults and is up to date', () => {
  const text = readFileSync(join(REPO_ROOT, 'config.example.yaml'), 'utf8');
  assert.deepEqual(resolveConfig({ file: parse(text) }), defaultConfig());
  assert.deepEqual(parse(text), JSON.parse(JSON.stringify(defaultConfig())), 'every default appears in the sample');
  assert.equal(text, configExampleYaml(), 'run npm run docs:config');
  assert.equal(readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8'), configurationMarkdown(), 'run npm run docs:config');
});

test('defaults are what the README promises', () => {
  const c = defaultConfig();
  assert.equal(c.rtmp.port, 1935);
  assert.equal(c.http.port, 8000);
  assert.equal(c.plugins.background!.mode, 'color');
  assert.equal(c.plugins.background!.color, 'c0c0c0');
  assert.equal(c.plugins.background!.imagesDir, './backgrounds');
  assert.equal(c.encoder.keyframeIntervalMs, 2000);
});

test('precedence: defaults < file < environment < flags', () => {
  const env = configFromEnv({ LIVEMATTE_RTMP_PORT: '2000', LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000', LIVEMATTE_PIPELINE_PLUGINS: 'background', UNRELATED: 'x' });
  const c = resolveConfig({ file: { rtmp: { port: 1000 }, http: { port: 1001 }, hls: { playlistLength: 4 } }, env, cli: { rtmp: { port: 3000 } } });
  assert.equal(c.rtmp.port, 3000);
  assert.equal(c.http.port, 1001);
  assert.equal(c.hls.segmentDurationMs, 1000);
  assert.equal(c.hls.playlistLength, 4);
  assert.deepEqual(c.pipeline.plugins, ['background']);
});

test('errors name the key and the rule', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ hls: { segmentDurationMs: 100 } }, /'hls\.segmentDurationMs' must be >= 500/],
    [{ plugins: { background: { mode: 'sparkles' } } }, /'plugins\.background\.mode' must be equal to one of the allowed values: color, blur, image, none/],
    [{ background: { mode: 'sparkles' } }, /'plugins\.background\.mode' must be equal to one of the allowed values/],
    [{ plugins: { background: { imagePath: '/etc/passwd' } } }, /'plugins\.background' must NOT have additional properties 'imagePath'/],
    [{ plugins: { sparkles: {} } }, /'plugins' must NOT have additional properties 'sparkles'/],
    [{ background: { color: '#fff' } }, /'plugins\.background\.color' must match pattern/],
    [{ rtmp: { port: 70000 } }, /'rtmp\.port' must be <= 65535/],
    [{ nope: 1 }, /must NOT have additional properties 'nope'/],
    [{ auth: { rawPlay: 'public' } }, /'auth\.rawPlay' must be equal to one of the allowed values: loopback, token, open, off/],
    [{ auth: { rawPlay: 'token' } }, /'auth\.rawPlay' token needs 'auth\.playSecret'/],
    [{ events: { store: 'postgres' } }, /'events\.store' postgres needs 'events\.postgresUrl'/],
    [{ events: { store: 'mongodb' } }, /'events\.store' must be equal to one of the allowed values: sqlite, postgres/],
  ];
  for (const [file, re] of cases) assert.throws(() => resolveConfig({ file }), (e: Error & { code?: string }) => re.test(e.message) && e.code === 'ERR_CONFIG_INVALID', re.source);
});

test('a plugin\'s older config key and environment names still set its options', () => {
  const env = configFromEnv({ LIVEMATTE_BACKGROUND_MODE: 'blur', LIVEMATTE_PLUGINS_BACKGROUND_COLOR: '00ff00' });
  const c = resolveConfig({ file: { background: { blurRadiusPx: 8, imagesDir: './bg' } }, env });
  assert.equal(c.plugins.background!.mode, 'blur');
  assert.equal(c.plugins.background!.color, '00ff00');
  assert.equal(c.plugins.background!.blurRadiusPx, 8);
  assert.equal(c.plugins.background!.imagesDir, './bg');
  assert.equal('background' in c, false, 'the alias is folded into plugins.background');
});

test('LIVEMATTE_PUBLISH_SECRET sets the publish secret; LIVEMATTE_AUTH_PUBLISH_SECRET wins over it', () => {
  assert.equal(resolveConfig({ env: configFromEnv({ LIVEMATTE_PUBLISH_SECRET: 's3cret' }) }).auth.publishSecret, 's3cret');
  assert.equal(resolveConfig({ env: configFromEnv({ LIVEMATTE_PUBLISH_SECRET: 'a', LIVEMATTE_AUTH_PUBLISH_SECRET: 'b' }) }).auth.publishSecret, 'b');
});

test('LIVEMATTE_PLAY_SECRET sets the play secret; LIVEMATTE_AUTH_PLAY_SECRET wins over it; raw play defaults to loopback', () => {
  assert.equal(resolveConfig({ env: configFromEnv({ LIVEMATTE_PLAY_SECRET: 'p' }) }).auth.playSecret, 'p');
  assert.equal(resolveConfig({ env: configFromEnv({ LIVEMATTE_PLAY_SECRET: 'a', LIVEMATTE_AUTH_PLAY_SECRET: 'b' }) }).auth.playSecret, 'b');
  assert.equal(defaultConfig().auth.rawPlay, 'loopback');
  assert.equal(defaultConfig().auth.playSecret, '');
  assert.equal(resolveConfig({ env: configFromEnv({ LIVEMATTE_AUTH_RAW_PLAY: 'token', LIVEMATTE_PLAY_SECRET: 'p' }) }).auth.rawPlay, 'token');
});
