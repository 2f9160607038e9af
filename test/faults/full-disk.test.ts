/**
 * Issue #19, item 4: a full media root. The media root is a real 8 MiB tmpfs; a filler file takes
 * every free byte while a stream runs. ffmpeg's HLS muxer then lists segments cut short (the defect:
 * silent, and players fetched the broken files). Now: the media root is reported low (log once,
 * /healthz degraded, livematte_media_root_low 1), each broken segment is counted and served as an
 * `#EXT-X-GAP`, the stream stays live, and all of it clears by itself when the space returns.
 * Needs root (mount); on a machine without it the test is skipped with the reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerOnFreePorts, uniqueKey, parsePlaylist, type Playlist } from '../helpers/e2e-media.ts';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import type { Publisher } from '../helpers/ffmpeg-tools.ts';
import { publishHealthy, streamEntry, fillDisk } from '../helpers/fault-tools.ts';

const isRoot = process.getuid?.() === 0;
const mount = mkdtempSync(join(tmpdir(), 'full-disk-'));
const filler = join(mount, 'filler.bin');
const key = uniqueKey('full');
let mounted = false;
let server: ServerProcess | undefined;
let publisher: Publisher | undefined;

before(async () => {
  if (!isRoot) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount]);
  mounted = true;
  server = await startServerOnFreePorts(['--media-root', mount], {
    LIVEMATTE_HLS_SEGMENT_DURATION_MS: '1000', LIVEMATTE_HLS_MIN_FREE_BYTES: String(1 << 20),
  });
});

after(async () => {
  await publisher?.stop();
  await server?.stop();
  if (mounted) execFileSync('umount', ['-l', mount]);
  rmSync(mount, { recursive: true, force: true });
});


/** fetchSegment gives a listed segment's bytes as a player gets them. */
async function fetchSegment(uri: string): Promise<Buffer> {
  const res = await fetch(`${server!.httpBase}/live/stream-${key}/${uri}`);
  assert.equal(res.status, 200, `GET ${uri}`);
  return Buffer.from(await res.arrayBuffer());
}

/** served is the playlist as served, with the URIs it marks `#EXT-X-GAP`. */
async function served(): Promise<{ playlist: Playlist; gaps: Set<string> }> {
  const res = await fetch(`${server!.httpBase}/live/stream-${key}/index.m3u8`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const lines = text.split('\n').map((l) => l.trim());
  const gaps = new Set(lines.filter((l, i) => l && !l.startsWith('#') && lines.slice(Math.max(0, i - 3), i).includes('#EXT-X-GAP')));
  return { playlist: parsePlaylist(text), gaps };
}

const whole = (b: Buffer) => b.length > 0 && b.length % 188 === 0 && b[0] === 0x47 && b[b.length - 188] === 0x47;
const health = async () => (await (await fetch(`${server!.httpBase}/healthz`)).json()) as { status: string; problems?: string[]; media: { freeBytes: number; low: boolean; brokenSegments: number } };
const metric = async (name: string) => {
  const body = await (await fetch(`${server!.httpBase}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

test('a full media root: reported once, broken segments served as gaps, the stream kept, recovered when space returns', { timeout: 150000 }, async (t) => {
  if (!isRoot) return t.skip('needs root to mount a tmpfs');
  publisher = publishHealthy(server!.rtmpBase, key);
  await waitFor('two segments listed', async () => (await served().catch(() => undefined))?.playlist.segments.length! >= 2, 60000, 250);
  const before = await health();
  assert.equal(before.status, 'ok');
  assert.notEqual(before.media?.low, true);
  assert.notEqual(await metric('livematte_media_root_low'), 1);

  const filled = fillDisk(filler);
  const fullAt = Date.now();
  t.diagnostic(`filler: ${(filled / 1048576).toFixed(1)} MiB written until ENOSPC`);

  // While full, ffmpeg leaves the playlist empty and writes segments of 0 or 4096 bytes (measured); players get the last whole playlist.
  const playlistPath = join(mount, `live/stream-${key}`, 'index.m3u8');
  await waitFor('the playlist on disk emptied by the full disk', () => readFileSync(playlistPath, 'utf8').length === 0, 20000, 100);
  const whileFull = await served();
  assert.ok(whileFull.playlist.text.startsWith('#EXTM3U') && whileFull.playlist.segments.length >= 2, `a whole playlist served while full: ${whileFull.playlist.text}`);

  const degraded = await waitFor('/healthz degraded', async () => { const h = await health(); return h.status === 'degraded' ? h : false; }, 10000, 200);
  t.diagnostic(`healthz while full (${Date.now() - fullAt} ms after): ${JSON.stringify(degraded)}`);
  assert.ok(degraded.problems?.some((p) => p.includes('low on space')), 'problems name the low media root');
  assert.equal(await metric('livematte_media_root_low'), 1);
  await server!.waitForLog((l) => l.msg === 'media root low on space: HLS segments may be cut short (hls.minFreeBytes)', 10000);

  // The stream is kept.
  const framesThen = Number((await streamEntry(server!.httpBase, key))!.stats.framesOut);
  await waitFor('frames keep going out while full', async () => Number((await streamEntry(server!.httpBase, key))?.stats.framesOut) > framesThen + 25, 20000, 200);

  // Space returns: ffmpeg lists the cut-off segments (the defect as it was: players fetched them),
  // served as gaps; the segments after them are whole.
  rmSync(filler);
  const freedAt = Date.now();
  const seen = await waitFor('the broken segments listed on disk, served as gaps, then a whole one', async () => {
    const onDisk = parsePlaylist(readFileSync(playlistPath, 'utf8'));
    const { playlist, gaps } = await served();
    const broken = onDisk.segments.map((s) => s.uri).filter((uri) => {
      try { return !whole(readFileSync(join(mount, `live/stream-${key}`, uri))); } catch { return true; }
    });
    const last = playlist.segments.at(-1);
    return broken.length > 0 && last && !gaps.has(last.uri) ? { playlist, gaps, broken } : false;
  }, 30000, 200);
  t.diagnostic(`${Date.now() - freedAt} ms after the space returned: broken on disk ${JSON.stringify(seen.broken)}; served as gaps ${JSON.stringify([...seen.gaps])}`);
  for (const uri of seen.broken) if (seen.playlist.segments.some((s) => s.uri === uri)) assert.ok(seen.gaps.has(uri), `${uri} is broken on disk and served as a gap`);
  for (const s of seen.playlist.segments) {
    if (seen.gaps.has(s.uri)) continue;
    const bytes = await fetchSegment(s.uri);
    assert.ok(whole(bytes), `${s.uri} served without a gap is whole (${bytes.length} bytes)`);
  }
  await server!.waitForLog((l) => String(l.msg).startsWith('HLS segment written incomplete') && l.stream === key, 10000);
  assert.ok((await metric(`livematte_hls_broken_segments_total{stream="${key}"}`))! >= seen.broken.length, 'broken segments counted');
  await server!.waitForLog((l) => l.msg === 'HLS segments written whole again' && l.stream === key, 10000);
  await waitFor('/healthz ok again', async () => (await health()).status === 'ok', 20000, 200);
  t.diagnostic(`healthz ok ${Date.now() - freedAt} ms after the space returned`);
  assert.equal(await metric('livematte_media_root_low'), 0);
  await server!.waitForLog((l) => l.msg === 'media root has space again', 10000);

  const incompleteLogs = server!.logs.filter((l) => String(l.msg).startsWith('HLS segment written incomplete') && l.stream === key).length;
  const lowLogs = server!.logs.filter((l) => l.msg === 'media root low on space: HLS segments may be cut short (hls.minFreeBytes)').length;
  t.diagnostic(`log lines: incomplete segments ${incompleteLogs}, low space ${lowLogs}; broken segments counted ${(await health()).media.brokenSegments}`);
  assert.equal(incompleteLogs, 1, 'logged once for the episode');
  assert.equal(lowLogs, 1, 'low space logged once');
  assert.equal((await streamEntry(server!.httpBase, key))?.state, 'live');
  assert.ok(statSync(mount).isDirectory());
});
