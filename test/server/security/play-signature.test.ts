import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { folderForPath, signFolder, signedQuery, verifyPlayQuery } from '../../../server/security/play-signature.ts';

const SECRET = 's3cret';
const NOW = 1_700_000_000;

test('signFolder is base64url HMAC-SHA256 of "<folder>:<expires>"', () => {
  const expected = createHmac('sha256', SECRET).update('/live/stream-demo/:1700000600').digest('base64')
    .replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  assert.equal(signFolder(SECRET, '/live/stream-demo/', 1700000600), expected);
  assert.equal(signedQuery(SECRET, '/live/stream-demo/', 1700000600), `expires=1700000600&sig=${expected}`);
});

test('verifyPlayQuery: the stream folder or /live/, not expired; the token; every other case refused', () => {
  const q = (folder: string, expires: number, secret = SECRET) => Object.fromEntries(new URLSearchParams(signedQuery(secret, folder, expires)));
  const cases: [name: string, query: Record<string, unknown>, verdict: string][] = [
    ['stream-demo', q('/live/stream-demo/', NOW + 10), 'ok'],
    ['stream-demo', q('/live/stream-demo/', NOW), 'ok'],
    ['stream-demo', q('/live/', NOW + 10), 'ok'],
    ['demo', q('/live/', NOW + 10), 'ok'],
    ['stream-demo', q('/live/stream-demo/', NOW - 1), 'signature_expired'],
    ['stream-demo', q('/live/stream-demo/', NOW + 10, 'other'), 'signature_invalid'],
    ['stream-demo', q('/live/stream-other/', NOW + 10), 'signature_invalid'],
    ['demo', q('/live/stream-demo/', NOW + 10), 'signature_invalid'],
    ['stream-demo', q('/live/stream-demo', NOW + 10), 'signature_invalid'],
    ['stream-demo', { ...q('/live/stream-demo/', NOW + 10), expires: String(NOW + 11) }, 'signature_invalid'],
    ['stream-demo', { expires: String(NOW + 10) }, 'signature_invalid'],
    ['stream-demo', { sig: 'abc' }, 'signature_invalid'],
    ['stream-demo', { expires: '1e12', sig: 'abc' }, 'signature_invalid'],
    ['stream-demo', { expires: [String(NOW + 10)], sig: 'abc' }, 'signature_invalid'],
    ['stream-demo', {}, 'signature_missing'],
    ['stream-demo', { token: SECRET }, 'ok'],
    ['demo', { token: SECRET }, 'ok'],
    ['stream-demo', { token: `${SECRET}x` }, 'signature_invalid'],
    ['stream-demo', { token: [SECRET, SECRET] }, 'signature_invalid'],
    ['stream-demo', { token: '' }, 'signature_invalid'],
  ];
  for (const [name, query, verdict] of cases) assert.equal(verifyPlayQuery(SECRET, name, query, NOW), verdict, `${name} ${JSON.stringify(query)}`);
  assert.equal(verifyPlayQuery('', 'stream-demo', { token: '' }, NOW), 'signature_invalid', 'no secret, nothing opens');
});

test('folderForPath maps a stream, a file in it, an RTMP URL or /live to the folder signed', () => {
  const cases: [string, string][] = [
    ['/live/stream-demo/', '/live/stream-demo/'],
    ['/live/stream-demo', '/live/stream-demo/'],
    ['/live/stream-demo/index.m3u8', '/live/stream-demo/'],
    ['rtmp://host:1935/live/stream-demo?x=1', '/live/stream-demo/'],
    ['http://host/live/demo/', '/live/demo/'],
    ['/live/', '/live/'],
    ['/live', '/live/'],
  ];
  for (const [path, folder] of cases) assert.equal(folderForPath(path), folder, path);
  for (const bad of ['/', '/other/x/', '/live/a/b/c', '/live/../x/', 'live/demo', '/live/caf\u00e9/']) assert.throws(() => folderForPath(bad), /is not \/live\//, bad);
});
