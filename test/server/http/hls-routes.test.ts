import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPlayQuery } from '../../../server/http/hls-routes.ts';

test('withPlayQuery adds the query to every URI line and URI attribute, nothing else', () => {
  const playlist = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-MAP:URI="init.mp4"', '#EXTINF:1.000000,', 'segment-3.ts', '#EXTINF:1.000000,',
    'segment-4.ts?v=1', '#EXT-X-ENDLIST', ''].join('\n');
  assert.equal(withPlayQuery(playlist, 'expires=1&sig=a_b-c'), ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-MAP:URI="init.mp4?expires=1&sig=a_b-c"',
    '#EXTINF:1.000000,', 'segment-3.ts?expires=1&sig=a_b-c', '#EXTINF:1.000000,', 'segment-4.ts?v=1&expires=1&sig=a_b-c', '#EXT-X-ENDLIST', ''].join('\n'));
  assert.equal(withPlayQuery('#EXTM3U\r\nsegment-1.ts\r\n', 'token=t'), '#EXTM3U\r\nsegment-1.ts?token=t\r\n', 'CRLF line ends kept');
});
