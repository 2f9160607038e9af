/**
 * `npm start` runs the compiled JavaScript in dist/ with plain node, without the TypeScript loader
 * the other tests use: from there the server must still find its player page, hls.js, the built
 * models and its worker and plugin modules, and process a real stream. Its launcher
 * (scripts/run-server.sh) sets the memory settings docs/production.md's figures are measured with.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { apiStreams, childPids, mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { scrapeMetrics } from '../ops/ops-helpers.ts';

let server: ServerProcess | undefined;
let publisher: Publisher | undefined;

after(async () => {
  await publisher?.stop();
  await server?.stop();
});

test('the compiled server (dist/, as npm start runs it) serves the player and replaces the background of real footage', { skip: mediaSkip, timeout: 180000 }, async (t) => {
  server = await startServer([], {}, { compiled: true });
  const s = server;
  const pid = s.child.pid!;
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(argv.some((a) => a.endsWith('dist/server/main.js')), `runs dist/server/main.js: ${argv.join(' ')}`);
  assert.ok(!argv.some((a) => a.includes('tsx')), `no TypeScript loader: ${argv.join(' ')}`);

  const page = await fetch(`${s.httpBase}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<video/);
  const hlsJs = await fetch(`${s.httpBase}/vendor/hls.js/hls.min.js`);
  assert.equal(hlsJs.status, 200);
  await hlsJs.arrayBuffer();

  const key = uniqueKey('compiled');
  publisher = publish(`${s.rtmpBase}/${key}?bg=color`, ['-re', '-i', mediaFile('sister.mkv')],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p', '-an']);
  const pub = publisher;
  // inferenceMs > 0 means a worker thread loaded the plugin module and ran the ONNX model.
  const stream = await waitFor('60 processed frames', async () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    const found = (await apiStreams(s.httpBase)).find((x) => x.key === key);
    return found !== undefined && Number(found.stats.framesOut) >= 60 && Number(found.stats.inferenceMs) > 0 && found;
  }, 90000, 300);
  t.diagnostic(`frames out ${stream.stats.framesOut}, inference ${stream.stats.inferenceMs} ms, children ${childPids(pid).map((c) => c.comm).join(', ')}`);
  assert.equal(stream.stats.pluginErrors, 0);
  assert.deepEqual(childPids(pid).map((c) => c.comm).filter((c) => c !== 'ffmpeg'), [], 'only ffmpeg children (tsx would add esbuild)');

  // The launcher's settings are in effect in the server process, and not in its ffmpeg children.
  const environ = (p: number) => readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
  assert.ok(environ(pid).includes('MALLOC_MMAP_THRESHOLD_=1048576'), 'glibc maps frame-sized blocks of their own');
  const children = childPids(pid);
  assert.equal(children.length, 2, 'decoder and encoder');
  for (const child of children) assert.ok(!environ(child.pid).some((v) => v.startsWith('MALLOC_MMAP_THRESHOLD_=')), `ffmpeg ${child.pid} does not inherit it`);
  // After 60 frames of allocation the main thread's young generation would have grown past 8 MiB
  // (to 32 MiB) without --max-semi-space-size=4.
  const newSpace = (await scrapeMetrics(s.httpBase)).find((m) => m.name === 'nodejs_heap_space_size_total_bytes' && m.labels.space === 'new');
  assert.ok(newSpace, 'the new-space gauge is exported');
  assert.ok(newSpace.value <= 8 * 1024 * 1024, `new space ${newSpace.value} bytes`);
});
