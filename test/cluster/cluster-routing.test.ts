/**
 * Issue #24, routing: two real nodes on loopback share a real Redis, behind the shipped nginx
 * front (nginx/cluster/cluster.conf). A call about a stream that reaches the node which does not
 * hold it is forwarded to the holder and answered by it: plugin options read and changed (seen in
 * the holder's API and in its output), a bad option refused with the holder's 400, the snapshot,
 * and the admin token still required. Every node lists every node's streams
 * (GET /api/cluster/streams), and so does the player behind the front. A key held by nobody stays
 * a 404. A browser publishes over
 * WHIP through nginx; WHEP through the node that does not hold the stream plays it, and DELETE of
 * the WHIP session through that node ends it. With Redis down such a call is 503 with the reason.
 * A holder that dies is answered 502 with the reason until its lease expires, then 404.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { startServer, waitFor, type ServerProcess } from '../helpers/server-process.ts';
import type { Publisher } from '../helpers/ffmpeg-tools.ts';
import { fractionNear, grabFramesRgb, mediaFile, mediaSkip, uniqueKey } from '../helpers/e2e-media.ts';
import { parsePrometheusText } from '../ops/ops-helpers.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { clusterPorts, clusterView, publishPattern, startClusterNginx, type ClusterNginx } from './cluster-helpers.ts';
import { launchCameraChromium, makeCameraY4m, whepPlay, whepStats, whipPublish } from '../webrtc/webrtc-browser.ts';

const LEASE_MS = 3000;
const TOKEN = 'routing-admin-token';
const GREEN = [0, 255, 0];
const RED = [255, 0, 0];
// The pattern has no person: nearly all of the output is the background colour, within the
// round trip through libx264 and YUV (a few levels); 40 is far from the pattern's own colours.
const COLOUR_TOLERANCE = 40;

type Json = Record<string, unknown> & { error?: string; message?: string };

async function call(base: string, path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(`${base}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) as Json : {}, headers: res.headers };
}

async function forwards(node: ServerProcess, outcome: string): Promise<number> {
  const { samples } = parsePrometheusText(await (await fetch(`${node.httpBase}/metrics`)).text());
  return samples.find((s) => s.name === 'livematte_cluster_forwards_total' && s.labels.outcome === outcome)?.value ?? 0;
}

/** outputShare is the share of one output frame (320x240) near `rgb`. */
async function outputShare(node: ServerProcess, key: string, rgb: readonly number[]): Promise<number> {
  const [frame] = await grabFramesRgb(`${node.rtmpBase}/stream-${key}`, 320, 240, { count: 1, skipFrames: 5 });
  return fractionNear(frame!, rgb, COLOUR_TOLERANCE);
}

describe('routing in a cluster of two nodes (real Redis, nginx front and servers on loopback)', () => {
  let redis: RedisServer;
  let nginx: ClusterNginx;
  let a: ServerProcess;
  let b: ServerProcess;
  let publisher: Publisher | undefined;
  const key = uniqueKey('route');
  const path = `/api/streams/${key}/plugins/background`;

  const startNode = (nodeId: string) => startServer([], {
    LIVEMATTE_NODE_ID: nodeId, LIVEMATTE_CLUSTER_ENABLED: 'true', LIVEMATTE_CLUSTER_REDIS_URL: redis.url,
    LIVEMATTE_CLUSTER_LEASE_TTL_MS: String(LEASE_MS), LIVEMATTE_INFERENCE_WORKERS: '1', LIVEMATTE_AUTH_ADMIN_TOKEN: TOKEN,
  });

  before(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startNode('node-a'), startNode('node-b')]);
    nginx = await startClusterNginx(await clusterPorts(), [a, b]);
    publisher = publishPattern(`${a.rtmpBase}/${key}?bg=color&color=00ff00`);
    await waitFor('the stream live on node-a, and both nodes advertising their API', async () => {
      const view = await clusterView(b);
      return view.nodes.length === 2 && view.nodes.every((n) => n.httpUrl !== '')
        && view.nodes.find((n) => n.nodeId === 'node-a')?.streams.some((s) => s.key === key && s.state === 'live');
    }, 30_000);
  });
  after(async () => {
    await publisher?.stop();
    for (const node of [a, b]) await node?.stop();
    await nginx?.stop();
    await redis?.stop();
  });

  it('GET through the other node, and through nginx, answers with the holder\'s stream and options', async () => {
    const direct = await call(a.httpBase, `/api/streams/${key}`);
    assert.equal(direct.status, 200);
    const viaB = await call(b.httpBase, `/api/streams/${key}`);
    assert.equal(viaB.status, 200, JSON.stringify(viaB.body));
    assert.equal(viaB.body.key, key);
    assert.equal(viaB.body.streamPath, direct.body.streamPath);
    const options = await call(b.httpBase, path);
    assert.equal(options.status, 200);
    assert.equal(options.body.enabled, true);
    assert.equal((options.body.options as Json).color, '00ff00');
    // nginx sends each request to either node (round robin): every answer is node-a's.
    for (let i = 0; i < 4; i++) {
      const viaFront = await call(nginx.httpBase, path);
      assert.equal(viaFront.status, 200, JSON.stringify(viaFront.body));
      assert.equal((viaFront.body.options as Json).color, '00ff00');
    }
    assert.ok(await forwards(b, 'forwarded') >= 2, 'node-b counts the calls it forwarded');
  });

  it('GET /api/cluster/streams on any node lists every node\'s streams in full, with the node that processes each', async () => {
    for (const base of [a.httpBase, b.httpBase, nginx.httpBase]) {
      const { status, body } = await call(base, '/api/cluster/streams');
      assert.equal(status, 200);
      const streams = body.streams as (Json & { key: string })[];
      const entry = streams.find((s) => s.key === key);
      assert.equal(entry?.nodeId, 'node-a', JSON.stringify(body));
      assert.equal(entry?.width, 320);
      assert.equal(entry?.state, 'live');
      assert.equal(streams.filter((s) => s.key === key).length, 1);
      assert.deepEqual(body.unreachable, []);
    }
    // /api/streams stays this node's own list.
    assert.equal(((await call(b.httpBase, '/api/streams')).body.streams as Json[]).length, 0);
  });

  it('PATCH through the other node changes the holder\'s stream: its API and its output', async () => {
    assert.ok(await outputShare(a, key, GREEN) > 0.8, 'green before the change');
    const before = await forwards(b, 'forwarded');
    const res = await call(b.httpBase, path, { method: 'PATCH', token: TOKEN, body: JSON.stringify({ color: 'ff0000' }) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body.options as Json).color, 'ff0000');
    assert.equal(await forwards(b, 'forwarded'), before + 1);
    const own = await call(a.httpBase, path);
    assert.equal((own.body.options as Json).color, 'ff0000', 'node-a\'s own API shows the change');
    await a.waitForLog((l) => l.msg === 'plugin options changed' && l.streamPath === `/live/${key}`, 5000);
    await waitFor('the output red', async () => await outputShare(a, key, RED) > 0.8, 20_000, 100);
    // The legacy route too (POST /api/streams/:key/background), through nginx.
    const legacy = await call(nginx.httpBase, `/api/streams/${key}/background`, { method: 'POST', token: TOKEN, body: JSON.stringify({ color: '00ff00' }) });
    assert.equal(legacy.status, 200, JSON.stringify(legacy.body));
    assert.equal(((legacy.body.background as Json).color), '00ff00');
    assert.equal(((await call(a.httpBase, path)).body.options as Json).color, '00ff00');
  });

  it('a bad option through the other node gets the holder\'s 400 naming the option', async () => {
    const res = await call(b.httpBase, path, { method: 'PATCH', token: TOKEN, body: JSON.stringify({ color: 'not-a-colour' }) });
    // node-b alone would say 404 (no such stream here): the value is checked by node-a's plugin.
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'ERR_PLUGIN_OPTIONS');
    assert.match(String(res.body.message), /color/);
    assert.equal(((await call(a.httpBase, path)).body.options as Json).color, '00ff00', 'nothing changed');
  });

  it('the snapshot through the other node is the holder\'s current frame', async () => {
    const res = await fetch(`${b.httpBase}/api/streams/${key}/snapshot.jpg`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-store');
    const { channels } = await sharp(Buffer.from(await res.arrayBuffer())).stats();
    const mean = channels.slice(0, 3).map((c) => c.mean);
    assert.ok(mean[1]! > 200 && mean[0]! < 60 && mean[2]! < 60, `a green frame: mean RGB ${mean.map(Math.round)}`);
  });

  it('control calls without the admin token are refused, on the entry node and on the holder', async () => {
    const none = await call(b.httpBase, path, { method: 'PATCH', body: JSON.stringify({ color: 'ff0000' }) });
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'ERR_UNAUTHORISED');
    const wrong = await call(nginx.httpBase, path, { method: 'PATCH', token: 'not-the-token', body: JSON.stringify({ color: 'ff0000' }) });
    assert.equal(wrong.status, 401);
    // The forwarding header is no credential: the holder checks the token itself.
    const spoofed = await call(a.httpBase, path, { method: 'PATCH', headers: { 'x-livematte-forwarded-by': 'node-b' }, body: JSON.stringify({ color: 'ff0000' }) });
    assert.equal(spoofed.status, 401);
    // A page of another origin may not change a stream; the front's own origin may (nginx passes Host with its port).
    const cross = await call(nginx.httpBase, path, { method: 'PATCH', token: TOKEN, headers: { origin: 'http://evil.example' }, body: JSON.stringify({ color: 'ff0000' }) });
    assert.equal(cross.status, 403);
    assert.equal(cross.body.error, 'ERR_CROSS_ORIGIN');
    const same = await call(nginx.httpBase, path, { method: 'PATCH', token: TOKEN, headers: { origin: nginx.httpBase }, body: JSON.stringify({ color: '00ff00' }) });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal(((await call(a.httpBase, path)).body.options as Json).color, '00ff00', 'no refused call changed anything');
  });

  it('a key held by nobody is a 404 on any node, as on one node', async () => {
    const nobody = uniqueKey('nobody');
    for (const base of [a.httpBase, b.httpBase, nginx.httpBase]) {
      const get = await call(base, `/api/streams/${nobody}`);
      assert.equal(get.status, 404);
      assert.equal(get.body.error, 'ERR_STREAM_NOT_FOUND');
      const patch = await call(base, `/api/streams/${nobody}/plugins/background`, { method: 'PATCH', token: TOKEN, body: JSON.stringify({ color: 'ff0000' }) });
      assert.equal(patch.status, 404);
    }
  });

  describe('WebRTC through the front', { skip: mediaSkip }, () => {
    let browser: Browser | undefined;
    let page: Page | undefined;
    let work: string | undefined;
    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'routing-whip-'));
      browser = await launchCameraChromium(makeCameraY4m(mediaFile('sister.mkv'), work, 320, 240, 3));
      page = await browser.newPage();
      // The page comes from the front, as a publisher's would: WHIP goes through nginx.
      await page.goto(`${nginx.httpBase}/`);
    });
    after(async () => {
      await browser?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('the player behind the front lists the stream whichever node answers its polls', async () => {
      const player = await browser!.newPage();
      try {
        await player.goto(`${nginx.httpBase}/`);
        await player.locator(`[data-stream-key="${key}"]`).waitFor({ timeout: 10_000 });
        // Each 2 s poll reaches either node (round robin); the stream stays listed over three polls.
        for (let poll = 0; poll < 3; poll++) {
          await player.waitForResponse((r) => r.url().endsWith('/api/cluster/streams') && r.status() === 200, { timeout: 10_000 });
          assert.equal(await player.locator(`[data-stream-key="${key}"]`).count(), 1);
        }
      } finally {
        await player.close();
      }
    });

    it('a WHIP publish of a key live on another node is refused by the holder (409), whichever node it reaches', async () => {
      const res = await whipPublish(page!, `${b.httpBase}/whip/live/${key}`, {});
      assert.equal(res.status, 409, res.body);
      assert.equal((JSON.parse(res.body) as Json).error, 'ERR_KEY_IN_USE');
    });

    it('WHIP through nginx, WHEP and DELETE through the node that does not hold the session', { timeout: 120_000 }, async () => {
      const wkey = uniqueKey('whip');
      const res = await whipPublish(page!, `/whip/live/${wkey}?bg=color&color=0000ff`, {});
      assert.equal(res.status, 201, res.body);
      assert.equal(res.connection, 'connected', 'media reaches the holder\'s own candidates');
      const location = res.location!;
      assert.match(location, new RegExp(`^/whip/live/${wkey}/[A-Za-z0-9_-]+$`));
      const holderId = await waitFor('the WHIP stream live on one node', async () => (await clusterView(a)).nodes
        .find((n) => n.streams.some((s) => s.key === wkey && s.state === 'live'))?.nodeId, 30_000);
      const [holder, other] = holderId === 'node-a' ? [a, b] : [b, a];
      const stream = await call(other.httpBase, `/api/streams/${wkey}`);
      assert.equal(stream.status, 200, 'the other node answers with the holder\'s stream');
      assert.equal(stream.body.key, wkey);

      const play = await whepPlay(page!, `${other.httpBase}/whep/live/stream-${wkey}`);
      assert.equal(play.status, 201, play.body);
      assert.match(play.location ?? '', new RegExp(`^/whep/live/stream-${wkey}/[A-Za-z0-9_-]+$`));
      await waitFor('WHEP frames decoded from the holder', async () => (await whepStats(page!)).framesDecoded >= 10, 30_000);
      const endPlay = await call(other.httpBase, play.location!, { method: 'DELETE' });
      assert.equal(endPlay.status, 200, JSON.stringify(endPlay.body));

      const patch = await fetch(`${other.httpBase}${location}`, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates\r\n' });
      assert.equal(patch.status, 405, 'the holder\'s answer: no trickle ICE');
      const end = await call(other.httpBase, location, { method: 'DELETE' });
      assert.equal(end.status, 200, JSON.stringify(end.body));
      assert.equal(end.body.ended, true);
      const ended = await holder.waitForLog((l) => l.msg === 'WHIP session ended' && l.streamPath === `/live/${wkey}`, 10_000);
      assert.equal(ended.reason, 'the publisher ended the session (DELETE)');
      await waitFor('the WHIP stream gone from the cluster', async () => !(await clusterView(other)).nodes.some((n) => n.streams.some((s) => s.key === wkey)), 15_000);
      const again = await call(nginx.httpBase, location, { method: 'DELETE' });
      assert.equal(again.status, 404);
      assert.equal(again.body.error, 'ERR_SESSION_NOT_FOUND');
    });
  });

  it('with Redis down a call about another node\'s stream is 503 with the reason; the holder still answers for its own', async () => {
    const before = await forwards(b, 'registry_unavailable');
    await redis.stop();
    try {
      const res = await call(b.httpBase, path);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error, 'ERR_CLUSTER_REGISTRY_UNAVAILABLE');
      assert.match(String(res.body.message), new RegExp(`can not tell which node holds stream '${key}'`));
      assert.equal(await forwards(b, 'registry_unavailable'), before + 1);
      assert.equal((await call(a.httpBase, path)).status, 200, 'no lookup for a stream live here');
    } finally {
      await redis.start();
    }
    // The holder's next renewal takes its lease again (Redis kept nothing).
    await waitFor('calls through node-b answered by node-a again', async () => (await call(b.httpBase, path)).status === 200, LEASE_MS * 3, 100);
  });

  it('a holder that died is answered 502 with the reason until its lease expires, then 404', async () => {
    const before = await forwards(b, 'holder_unreachable');
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    // Its lease and node record live for up to LEASE_MS after the last renewal (every LEASE_MS / 3).
    const res = await call(b.httpBase, path);
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.error, 'ERR_CLUSTER_HOLDER_UNREACHABLE');
    assert.match(String(res.body.message), new RegExp(`stream '${key}' is held by node node-a \\(${a.httpBase}\\), which did not answer: .*ECONNREFUSED`));
    assert.equal(await forwards(b, 'holder_unreachable'), before + 1);
    await waitFor('a 404 once the lease expired', async () => (await call(b.httpBase, path)).status === 404, LEASE_MS * 3, 100);
  });
});
