/**
 * The pure parts of the WebRTC ingest: the offer check, the FLV GOP source (late taps get the
 * codec headers and the current GOP; timestamps on a frame grid), the RTP frame-rate estimate and
 * the SDP the repackager reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOffer } from '../../server/webrtc/offer-check.ts';
import { FlvGopSource, gridFps } from '../../server/webrtc/flv-gop-source.ts';
import { RtpFrameRate, DEFAULT_FPS } from '../../server/webrtc/rtp-frame-rate.ts';
import { rtpSessionSdp } from '../../server/webrtc/rtp-sdp.ts';
import { FLV_AUDIO, FLV_SCRIPT, FLV_VIDEO, FlvDemuxer, flvHeader, flvTagBytes, type FlvTag } from '../../server/pipeline/flv-demux.ts';

const offer = (sections: string[]) => ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...sections].join('\r\n') + '\r\n';
const VIDEO_H264 = 'm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 rtx/90000';
const VIDEO_VP9 = 'm=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000';
const VIDEO_VP8 = 'm=video 9 UDP/TLS/RTP/SAVPF 100\r\na=rtpmap:100 VP8/90000';
const AUDIO_OPUS = 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2';
const AUDIO_PCMU = 'm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000';

test('checkOffer takes H.264/VP8 video with or without Opus, and says why it refuses the rest', () => {
  const ok: [string, string, string[], string[]][] = [
    ['H.264 + Opus', offer([AUDIO_OPUS, VIDEO_H264]), ['H264'], ['opus']],
    ['H.264 + PCMU (audio not taken)', offer([VIDEO_H264, AUDIO_PCMU]), ['H264'], []],
    ['LF line ends', offer([VIDEO_H264]).replaceAll('\r\n', '\n'), ['H264'], []],
    ['VP8 only', offer([VIDEO_VP8]), ['VP8'], []],
    ['VP8 and H.264 (H.264 first)', offer([VIDEO_VP8, VIDEO_H264, AUDIO_OPUS]), ['H264', 'VP8'], ['opus']],
  ];
  for (const [name, sdp, video, audio] of ok) {
    const summary = checkOffer(sdp);
    assert.deepEqual(summary.video, video, name);
    assert.deepEqual(summary.audio, audio, name);
  }
  const refused: [string, string, string][] = [
    ['empty', '', 'ERR_WHIP_OFFER'],
    ['JSON', '{"type":"offer"}', 'ERR_WHIP_OFFER'],
    ['no o= line', 'v=0\r\ns=-\r\n', 'ERR_WHIP_OFFER'],
    ['audio only', offer([AUDIO_OPUS]), 'ERR_WHIP_NO_VIDEO'],
    ['video turned off (port 0)', offer([AUDIO_OPUS, VIDEO_H264.replace('m=video 9', 'm=video 0')]), 'ERR_WHIP_NO_VIDEO'],
    ['VP9 only', offer([AUDIO_OPUS, VIDEO_VP9]), 'ERR_WHIP_CODECS'],
  ];
  for (const [name, sdp, code] of refused) {
    assert.throws(() => checkOffer(sdp), (err: { code?: string; message: string }) => err.code === code && err.message.length > 10, name);
  }
  assert.throws(() => checkOffer(offer([VIDEO_VP9])), /offered VP9; taken H264, VP8/);
});

const avcHeader = () => Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42]);
const keyframe = (n: number) => Buffer.from([0x17, 1, 0, 0, 0, n]);
const interframe = (n: number) => Buffer.from([0x27, 1, 0, 0, 0, n]);
const aacHeader = () => Buffer.from([0xaf, 0, 0x11, 0x90]);
const aacFrame = (n: number) => Buffer.from([0xaf, 1, n]);

function tags(bytes: Buffer): FlvTag[] {
  const out: FlvTag[] = [];
  new FlvDemuxer((t) => out.push({ ...t, data: Buffer.from(t.data) })).push(bytes);
  return out;
}

test('FlvGopSource gives a late tap the metadata, both sequence headers and the GOP from its keyframe, then live tags', () => {
  const source = new FlvGopSource(true, () => 30);
  const feed = (type: number, dts: number, data: Buffer) => source.push(flvTagBytes(type, dts, data));
  source.push(flvHeader(true, true));
  feed(FLV_SCRIPT, 0, Buffer.from([0x02, 0, 1, 0x41]));
  feed(FLV_VIDEO, 0, avcHeader());
  feed(FLV_AUDIO, 0, aacHeader());
  feed(FLV_VIDEO, 0, interframe(1)); // before any keyframe: not kept
  feed(FLV_VIDEO, 33, keyframe(2));
  feed(FLV_AUDIO, 40, aacFrame(3));
  feed(FLV_VIDEO, 67, interframe(4));
  feed(FLV_VIDEO, 100, keyframe(5)); // a new GOP: the one before is dropped
  feed(FLV_VIDEO, 134, interframe(6));
  const chunks: Buffer[] = [];
  const untap = source.tap((b) => chunks.push(b));
  const start = tags(Buffer.concat(chunks));
  assert.deepEqual(start.map((t) => t.type), [FLV_SCRIPT, FLV_VIDEO, FLV_AUDIO, FLV_VIDEO, FLV_VIDEO]);
  assert.equal(start[3].data[5], 5, 'the GOP starts at the last keyframe');
  assert.equal(start[4].data[5], 6);
  assert.match(start[0].data.toString('latin1'), /onMetaData.*framerate/s, 'our own metadata, with the frame rate');
  assert.equal(source.audioDeclared(), true);
  assert.equal(source.keyframesSeen, 2);
  feed(FLV_VIDEO, 167, interframe(7));
  assert.equal(tags(Buffer.concat(chunks)).at(-1)!.data[5], 7, 'live tags follow');
  untap();
  feed(FLV_VIDEO, 200, interframe(8));
  assert.equal(tags(Buffer.concat(chunks)).length, 6, 'nothing after unsubscribing');
});

test('FlvGopSource puts jittered video timestamps on a 30 fps grid, increasing, audio untouched', () => {
  const source = new FlvGopSource(true, () => 29.5);
  const chunks: Buffer[] = [];
  source.tap((b) => chunks.push(b));
  source.push(flvHeader(true, true));
  const jittered = [0, 31, 70, 98, 135, 166, 166];
  source.push(flvTagBytes(FLV_VIDEO, 0, avcHeader()));
  jittered.forEach((dts, i) => source.push(flvTagBytes(FLV_VIDEO, dts, i === 0 ? keyframe(i) : interframe(i))));
  source.push(flvTagBytes(FLV_AUDIO, 77, aacFrame(1)));
  const out = tags(Buffer.concat(chunks));
  const video = out.filter((t) => t.type === FLV_VIDEO && t.data[1] === 1).map((t) => t.dts);
  assert.deepEqual(video, [0, 33, 67, 100, 133, 167, 168]);
  assert.equal(out.find((t) => t.type === FLV_AUDIO && t.data[1] === 1)!.dts, 77);
  assert.equal(gridFps(24), 30);
  assert.equal(gridFps(59.9), 60);
});

test('RtpFrameRate measures fps from distinct 90 kHz timestamps, ignoring repeats and reordering', () => {
  const rate = new RtpFrameRate();
  assert.equal(rate.fps(), DEFAULT_FPS);
  let ts = 4294960000; // wraps past 2^32 on the way
  for (let i = 0; i < 40; i++) {
    rate.observe(ts >>> 0);
    rate.observe(ts >>> 0); // a second packet of the frame
    if (i > 0) rate.observe((ts - 6000) >>> 0); // a late packet of an earlier frame
    ts += 6000; // 15 fps
  }
  assert.equal(rate.fps(), 15);
});

test('rtpSessionSdp names each track on loopback with its payload type, clock and fmtp', () => {
  const sdp = rtpSessionSdp([
    { kind: 'video', port: 20000, payloadType: 102, encoding: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1' },
    { kind: 'audio', port: 20002, payloadType: 111, encoding: 'opus', clockRate: 48000, channels: 2 },
  ]);
  assert.match(sdp, /^v=0\r\n/);
  assert.match(sdp, /c=IN IP4 127\.0\.0\.1/);
  assert.match(sdp, /m=video 20000 RTP\/AVP 102\r\na=rtpmap:102 H264\/90000\r\na=fmtp:102 packetization-mode=1/);
  assert.match(sdp, /m=audio 20002 RTP\/AVP 111\r\na=rtpmap:111 opus\/48000\/2\r\n/);
});
