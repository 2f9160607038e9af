/**
 * nginx/ in front of the real server: HLS played through nginx (served from the media folder),
 * cache and CORS headers, the proxied API, health and metrics, and RTMP ingest relayed by
 * nginx-rtmp when the module is installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { startServerOnFreePorts } from '../helpers/e2e-media.ts';
import { probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { NGINX_BIN, nginxConfigLoads, publishTestPattern, startNginx, type NginxProcess } from './ops-helpers.ts';

const KEY = 'nginx-direct';
const RELAYED_KEY = 'nginx-relayed';

const nginxSkip = existsSync(NGINX_BIN) ? false : `${NGINX_BIN} is not installed (apt-get install nginx libnginx-mod-rtmp)`;

describe('nginx front', { skip: nginxSkip }, () => {
  let server: ServerProcess;
  let nginx: NginxProcess;
  let rtmp = false;
  const publishers: Publisher[] = [];

  before(async () => {
    server = await startServerOnFreePorts();
    const upstream = { httpPort: server.httpPort, rtmpPort: server.rtmpPort, mediaRoot: server.mediaRoot };
    rtmp = await nginxConfigLoads('nginx-rtmp.conf', { ...upstream, httpPort: 1, rtmpPort: 2, upstreamHttpPort: upstream.httpPort, upstreamRtmpPort: upstream.rtmpPort });
    nginx = await startNginx(rtmp ? 'nginx-rtmp.conf' : 'nginx.conf', upstream);
    publishers.push(publishTestPattern(`${server.rtmpBase}/${KEY}`));
  });
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await nginx?.stop();
    await server?.stop();
  });

  const playlistUrl = (key: string) => `${nginx.httpBase}/live/stream-${key}/index.m3u8`;

  async function firstSegmentUrl(key: string): Promise<string> {
    const text = await (await fetch(playlistUrl(key))).text();
    const segment = text.split('\n').find((l) => l.endsWith('.ts'));
    assert.ok(segment, `no segment in the playlist:\n${text}`);
    return new URL(segment, playlistUrl(key)).href;
  }

  it('plays the processed HLS through nginx (H.264 + AAC)', async () => {
    await waitFor('a playlist with a segment through nginx', async () => {
      const res = await fetch(playlistUrl(KEY));
      return res.status === 200 && (await res.text()).includes('.ts');
    }, 60000, 300);
    const { streams } = await probe(playlistUrl(KEY), 30000);
    const video = streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264', JSON.stringify(streams));
    assert.deepEqual([video?.width, video?.height], [320, 240]);
    assert.equal(streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac', JSON.stringify(streams));
  });

  it('never caches playlists, caches segments for 60 s, and allows any origin', async () => {
    const playlist = await fetch(playlistUrl(KEY), { headers: { Origin: 'https://player.example' } });
    assert.equal(playlist.status, 200);
    assert.equal(playlist.headers.get('cache-control'), 'no-cache');
    assert.equal(playlist.headers.get('access-control-allow-origin'), '*');
    assert.equal(playlist.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    await playlist.arrayBuffer();

    const segment = await fetch(await firstSegmentUrl(KEY), { headers: { Origin: 'https://player.example' } });
    assert.equal(segment.status, 200);
    assert.equal(segment.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(segment.headers.get('access-control-allow-origin'), '*');
    assert.equal(segment.headers.get('content-type'), 'video/mp2t');
    const bytes = new Uint8Array(await segment.arrayBuffer());
    assert.equal(bytes[0], 0x47, 'an MPEG-TS segment starts with the sync byte');

    const preflight = await fetch(playlistUrl(KEY), {
      method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /GET/);

    const missing = await fetch(`${nginx.httpBase}/live/stream-nobody/index.m3u8`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('access-control-allow-origin'), '*', 'a 404 stays readable to the player');
    await missing.arrayBuffer();
  });

  it('proxies the API, the player, /healthz and /metrics to the server', async () => {
    const streams = (await (await fetch(`${nginx.httpBase}/api/streams`)).json()) as { streams: { key: string }[] };
    assert.ok(streams.streams.some((s) => s.key === KEY), JSON.stringify(streams));

    const health = await fetch(`${nginx.httpBase}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');

    const page = await fetch(`${nginx.httpBase}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    await page.arrayBuffer();

    const metrics = await fetch(`${nginx.httpBase}/metrics`);
    assert.equal(metrics.status, 200, 'loopback may scrape');
    assert.match(await metrics.text(), /^livematte_active_streams [1-9]/m);
  });

  it('relays an RTMP publish through nginx-rtmp to the server (without the key\'s query)', async (t) => {
    if (!rtmp) {
      t.skip('nginx-rtmp (libnginx-mod-rtmp) does not load here');
      return;
    }
    publishers.push(publishTestPattern(`${nginx.rtmpBase}/${RELAYED_KEY}?bg=blur`));
    const listed = await waitFor('the relayed stream in /api/streams', async () => {
      const body = (await (await fetch(`${nginx.httpBase}/api/streams`)).json()) as { streams: { key: string; streamPath: string; state: string; background: { mode: string } }[] };
      return body.streams.find((s) => s.key === RELAYED_KEY && s.state === 'live');
    }, 60000, 300);
    assert.equal(listed.streamPath, `/live/${RELAYED_KEY}`);
    // nginx-rtmp's push sends the bare stream name: `?bg=...` and `?token=...` stay behind.
    // docs/production.md says so; should this fail, the relay passes the query on: update the docs.
    assert.equal(listed.background.mode, 'color', 'the relayed stream has the default background, not the query\'s');
    await waitFor('the relayed stream\'s playlist through nginx', async () => {
      const res = await fetch(playlistUrl(RELAYED_KEY));
      return res.status === 200 && (await res.text()).includes('.ts');
    }, 60000, 300);
    const { streams } = await probe(playlistUrl(RELAYED_KEY), 30000);
    assert.equal(streams.find((s) => s.codec_type === 'video')?.codec_name, 'h264', JSON.stringify(streams));
  });
});
