import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlayPolicy, isLoopbackAddress } from '../../../server/security/play-policy.ts';
import { signedQuery } from '../../../server/security/play-signature.ts';
import type { RawPlayMode } from '../../../server/config-schema.ts';

const NOW_MS = 1_700_000_000_000;
const SECRET = 's3cret';
const sig = (folder: string) => Object.fromEntries(new URLSearchParams(signedQuery(SECRET, folder, NOW_MS / 1000 + 60)));
const policy = (rawPlay: RawPlayMode, playSecret = '') => new PlayPolicy({ rawPlay, playSecret }, () => NOW_MS);
const verdict = (d: { allowed: boolean; reason?: string }) => (d.allowed ? 'allowed' : d.reason);

test('isLoopbackAddress: 127.0.0.0/8, ::1 and IPv4-mapped loopback only', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a);
  for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:192.0.2.2', 'fd00::2', '::', '0.0.0.0', '128.0.0.1', '', undefined, '127.0.0.1.evil']) {
    assert.equal(isLoopbackAddress(a), false, String(a));
  }
});

test('RTMP plays by auth.rawPlay and auth.playSecret', () => {
  const local = '127.0.0.1';
  const remote = '192.0.2.2';
  const cases: [mode: RawPlayMode, secret: string, name: string, query: Record<string, unknown>, from: string, expected: string][] = [
    ['loopback', '', 'demo', {}, local, 'allowed'],
    ['loopback', '', 'demo', {}, remote, 'raw_not_loopback'],
    ['loopback', '', 'demo', { token: 'x' }, remote, 'raw_not_loopback'],
    ['loopback', '', 'stream-demo', {}, remote, 'allowed'],
    ['loopback', SECRET, 'demo', sig('/live/demo/'), remote, 'allowed'],
    ['loopback', SECRET, 'demo', { token: SECRET }, remote, 'allowed'],
    ['loopback', SECRET, 'demo', { token: 'wrong' }, remote, 'signature_invalid'],
    ['loopback', SECRET, 'demo', {}, remote, 'raw_not_loopback'],
    ['loopback', SECRET, 'demo', {}, local, 'allowed'],
    ['loopback', SECRET, 'stream-demo', {}, local, 'signature_missing'],
    ['loopback', SECRET, 'stream-demo', sig('/live/stream-demo/'), remote, 'allowed'],
    ['token', SECRET, 'demo', {}, local, 'signature_missing'],
    ['token', SECRET, 'demo', sig('/live/stream-demo/'), local, 'signature_invalid'],
    ['token', SECRET, 'demo', sig('/live/demo/'), remote, 'allowed'],
    ['token', SECRET, 'demo', sig('/live/'), remote, 'allowed'],
    ['open', '', 'demo', {}, remote, 'allowed'],
    ['open', SECRET, 'stream-demo', {}, remote, 'signature_missing'],
    ['off', '', 'demo', {}, local, 'raw_off'],
    ['off', SECRET, 'demo', { token: SECRET }, local, 'raw_off'],
    ['off', '', 'stream-demo', {}, remote, 'allowed'],
  ];
  for (const [mode, secret, name, query, from, expected] of cases) {
    assert.equal(verdict(policy(mode, secret).rtmpPlay('live', name, query, from)), expected, `${mode} ${secret ? 'secret' : 'no secret'} ${name} ${JSON.stringify(query)} from ${from}`);
  }
  assert.equal(verdict(policy('loopback').rtmpPlay('other', 'stream-demo', {}, remote)), 'raw_not_loopback', 'only live/stream-* is an output');
  assert.equal(verdict(policy('loopback').rtmpPlay(undefined, undefined, {}, remote)), 'raw_not_loopback', 'a session that named nothing');
});

test('HLS requests: open without a play secret; with one, a signature or token for the path\'s stream', () => {
  const open = policy('loopback');
  assert.equal(open.hlsProtected, false);
  assert.equal(verdict(open.hlsRequest('/live/stream-demo/index.m3u8', {})), 'allowed');
  const p = policy('loopback', SECRET);
  const cases: [path: string, query: Record<string, unknown>, expected: string][] = [
    ['/live/stream-demo/index.m3u8', {}, 'signature_missing'],
    ['/live/stream-demo/index.m3u8', sig('/live/stream-demo/'), 'allowed'],
    ['/live/stream-demo/segment-12.ts', sig('/live/stream-demo/'), 'allowed'],
    ['/live/stream-demo/segment-12.ts', sig('/live/'), 'allowed'],
    ['/live/stream-demo/segment-12.ts', sig('/live/stream-other/'), 'signature_invalid'],
    ['/live/stream-other/../stream-demo/index.m3u8', sig('/live/stream-other/'), 'bad_path'],
    ['/live/stream-demo/', sig('/live/stream-demo/'), 'bad_path'],
    ['/live/stream-demo/.hidden', sig('/live/stream-demo/'), 'bad_path'],
    ['/live/stream-demo/a/b.ts', sig('/live/stream-demo/'), 'bad_path'],
    ['/live/index.m3u8', sig('/live/'), 'bad_path'],
  ];
  for (const [path, query, expected] of cases) assert.equal(verdict(p.hlsRequest(path, query)), expected, `${path} ${JSON.stringify(query)}`);
});

test('refusal counts list every protocol and reason, from 0', () => {
  const p = policy('off');
  p.refused('rtmp', 'raw_off');
  p.refused('rtmp', 'raw_off');
  p.refused('hls', 'bad_path');
  const counts = Object.fromEntries(p.refusalCounts().map((c) => [`${c.protocol}:${c.reason}`, c.count]));
  assert.deepEqual(counts, {
    'rtmp:raw_off': 2, 'rtmp:raw_not_loopback': 0, 'rtmp:signature_missing': 0, 'rtmp:signature_expired': 0, 'rtmp:signature_invalid': 0,
    'hls:signature_missing': 0, 'hls:signature_expired': 0, 'hls:signature_invalid': 0, 'hls:bad_path': 1,
  });
});
