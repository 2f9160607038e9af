import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLV_AUDIO, FLV_VIDEO, FlvDemuxer, flvHeader, flvTagBytes, isSequenceHeader, videoPts, type FlvTag } from '../../../server/pipeline/flv-demux.ts';

const avc = (packetType: number, cts: number) => {
  const d = Buffer.alloc(9);
  d[0] = 0x17; d[1] = packetType; d.writeIntBE(cts, 2, 3);
  return d;
};

test('FlvDemuxer splits tags across chunk boundaries and keeps 32-bit timestamps', () => {
  const stream = Buffer.concat([
    flvHeader(true, true),
    flvTagBytes(FLV_VIDEO, 0, avc(0, 0)),
    flvTagBytes(FLV_AUDIO, 23, Buffer.from([0xaf, 1, 9, 9])),
    flvTagBytes(FLV_VIDEO, 0x01020304, avc(1, 66)),
  ]);
  for (const chunk of [1, 5, 16, stream.length]) {
    const tags: FlvTag[] = [];
    const demux = new FlvDemuxer((t) => tags.push({ ...t, data: Buffer.from(t.data) }));
    for (let i = 0; i < stream.length; i += chunk) demux.push(stream.subarray(i, i + chunk));
    assert.deepEqual(tags.map((t) => [t.type, t.dts, t.data.length]), [[9, 0, 9], [8, 23, 4], [9, 0x01020304, 9]], `chunk ${chunk}`);
  }
});

test('FlvDemuxer rejects a non-FLV stream and oversize tags', () => {
  assert.throws(() => new FlvDemuxer(() => {}).push(Buffer.from('GET / HTTP/1.1\r\n\r\n')), /not an FLV/);
  const big = Buffer.concat([flvHeader(false, true), Buffer.from([9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0])]);
  assert.throws(() => new FlvDemuxer(() => {}).push(big), /too large/);
});

test('isSequenceHeader and videoPts read AVC and AAC packet types', () => {
  const tag = (type: number, data: Buffer, dts = 100): FlvTag => ({ type, dts, data });
  assert.equal(isSequenceHeader(tag(FLV_VIDEO, avc(0, 0))), true);
  assert.equal(isSequenceHeader(tag(FLV_VIDEO, avc(1, 0))), false);
  assert.equal(isSequenceHeader(tag(FLV_AUDIO, Buffer.from([0xaf, 0]))), true);
  assert.equal(isSequenceHeader(tag(FLV_AUDIO, Buffer.from([0xaf, 1]))), false);
  assert.equal(videoPts(tag(FLV_VIDEO, avc(1, 66))), 166);
  assert.equal(videoPts(tag(FLV_VIDEO, avc(1, -33))), 67);
});
