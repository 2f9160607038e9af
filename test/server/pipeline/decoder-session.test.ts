/**
 * DecoderSession with a real decoder ffmpeg: how many frames its decoding threads hold back
 * (decoder.threads), fed an H.264 FLV one video tag at a time after the start-up probe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DecoderSession } from '../../../server/pipeline/decoder-session.ts';
import { resolveFfmpegPath } from '../../../server/pipeline/ffmpeg-path.ts';
import { FLV_VIDEO, FlvDemuxer, flvHeader, flvTagBytes, isSequenceHeader, type FlvTag } from '../../../server/pipeline/flv-demux.ts';
import { waitFor } from '../../helpers/server-process.ts';

/** The ffmpeg the server runs (the decoder under test). */
const ffmpeg = resolveFfmpegPath();
/** Tags given before counting: enough for ffmpeg's start-up probe (0.5 s at 30 fps). */
const PRIMING_TAGS = 30;

/** 90 frames of 320x240 30 fps H.264 without B-frames (one tag per frame), split into FLV tags. */
function videoTags(): FlvTag[] {
  // Debian's ffmpeg makes the input: the stream ffmpeg has no lavfi.
  const flv = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=30',
    '-frames:v', '90', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', '30', '-pix_fmt', 'yuv420p', '-f', 'flv', 'pipe:1'], { maxBuffer: 1 << 26 });
  const tags: FlvTag[] = [];
  new FlvDemuxer((tag) => { if (tag.type === FLV_VIDEO) tags.push(tag); }).push(flv);
  return tags;
}

/** framesHeldBack returns how many frames the decoder still holds back once tags have stopped arriving. */
async function framesHeldBack(threads: number): Promise<number> {
  const tags = videoTags();
  let frames = 0;
  const errors: Error[] = [];
  const session = new DecoderSession(ffmpeg, {
    onHeader: () => {}, onPicture: () => { frames += 1; }, onAudio: () => {}, onVideoConfigChange: () => {},
    onError: (err) => { errors.push(err); },
  }, undefined, undefined, threads);
  try {
    const send = (tag: FlvTag) => session.push(flvTagBytes(tag.type, tag.dts, tag.data));
    session.push(flvHeader(false, true));
    const pictures = tags.filter((t) => !isSequenceHeader(t));
    tags.filter(isSequenceHeader).forEach(send);
    pictures.slice(0, PRIMING_TAGS).forEach(send);
    // Once frames come out, give one tag at a time: each must bring one frame after the held ones.
    await waitFor('the first decoded frames', () => frames > 0, 20000, 20);
    let held = PRIMING_TAGS - frames;
    for (let sent = PRIMING_TAGS; sent < PRIMING_TAGS + 20; sent++) {
      send(pictures[sent]);
      await waitFor(`frame ${sent + 1 - held} after tag ${sent + 1}`, () => frames >= sent + 1 - held, 10000, 5);
      held = Math.min(held, sent + 1 - frames);
    }
    assert.deepEqual(errors, []);
    return held;
  } finally {
    session.end();
    session.process.kill();
    await session.exited;
  }
}

test('decoder.threads 1: each frame comes out as soon as its tag is in (nothing held back)', { timeout: 90000 }, async () => {
  assert.equal(await framesHeldBack(1), 0);
});

test('decoder.threads 2 (default): one frame held back (33 ms at 30 fps); ffmpeg auto on 2+ cores holds more', { timeout: 90000 }, async () => {
  assert.equal(await framesHeldBack(2), 1);
});
