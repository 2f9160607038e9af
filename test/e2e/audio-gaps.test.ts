/**
 * Publishers whose audio does not run as long as their video. ffmpeg muxes its inputs in timestamp
 * order: an encoder with an audio input waits for audio before it muxes video past the last audio
 * it got, so audio that stops would freeze the output. The server starts the encoder again without
 * audio after 2 s of silence from the publisher, and with audio again when audio comes back.
 *
 * The publishers tell their own muxer not to hold video back for the missing audio
 * (`-max_interleave_delta 0.1 s`); otherwise ffmpeg itself would delay what it sends by 10 s.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/server-process.ts';
import { publish, probe } from '../helpers/ffmpeg-tools.ts';
import { uniqueKey, serverForTests, fetchPlaylist } from '../helpers/e2e-media.ts';

const FPS = 25;
const STOPPED = 'no audio from the publisher while video goes on; starting the encoder again without audio';
const RETURNED = 'audio turned up after the stream format was settled; starting the encoder again with an audio input';

const fixture = serverForTests();

/** Publishes testsrc2 video and the lavfi audio input `audioInput` (options and `-i`), AAC, and returns the stream key. */
function publishWithAudio(prefix: string, audioInput: string[]): string {
  const s = fixture.server;
  const key = uniqueKey(prefix);
  fixture.track(publish(`${s.rtmpBase}/${key}?bg=none`, ['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${FPS}`, '-f', 'lavfi', ...audioInput],
    ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(2 * FPS), '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-ar', '48000', '-max_interleave_delta', '100000']));
  return key;
}

/** The stream's log messages, in order. */
const messages = (key: string): string[] => fixture.server.logs.filter((l) => l.streamPath === `/live/${key}`).map((l) => String(l.msg));

/** Segments the stream's HLS output has written so far (listed ones plus those already removed). */
async function segmentsWritten(key: string): Promise<{ count: number; newest?: string }> {
  const pl = await fetchPlaylist(`${fixture.server.httpBase}/live/stream-${key}/index.m3u8`);
  return pl ? { count: pl.mediaSequence + pl.segments.length, newest: pl.segments.at(-1)?.uri } : { count: 0 };
}

describe('audio gaps', { concurrency: 2 }, () => {
  test('audio that stops for good (3 s in): the output goes on without it', { timeout: 90000 }, async (t) => {
    const key = publishWithAudio('audio-stop', ['-t', '3', '-i', 'sine=f=440:sample_rate=48000']);
    // 2 s segments: eight written means 16 s of output, 13 s past the end of the audio.
    const written = await waitFor('eight HLS segments', async () => {
      const w = await segmentsWritten(key);
      return w.count >= 8 && w;
    }, 60000, 500);
    const log = messages(key);
    t.diagnostic(`${written.count} segments; log: ${log.filter((m) => /encoder|audio|format/.test(m)).join(' | ')}`);
    assert.equal(log.filter((m) => m === STOPPED).length, 1, 'the encoder was started again without audio, once');
    const info = await probe(`${fixture.server.httpBase}/live/stream-${key}/${written.newest}`);
    assert.deepEqual(info.streams.map((s) => s.codec_type), ['video'], 'the newest segment carries video only');
  });

  test('audio that stops for 5 s and comes back: the output carries it again', { timeout: 90000 }, async (t) => {
    const key = publishWithAudio('audio-gap', ['-i', "sine=f=440:sample_rate=48000,aselect='not(between(t,3,8))'"]);
    await waitFor('audio to stop and come back', () => messages(key).includes(RETURNED), 60000, 200);
    const log = messages(key);
    t.diagnostic(`log: ${log.filter((m) => /encoder|audio|format/.test(m)).join(' | ')}`);
    assert.ok(log.indexOf(STOPPED) >= 0 && log.indexOf(STOPPED) < log.indexOf(RETURNED), 'the audio stopped, then came back');
    // A segment begun after the audio came back: the one listed newest once two more were written.
    const after = (await segmentsWritten(key)).count;
    const written = await waitFor('two more HLS segments', async () => {
      const w = await segmentsWritten(key);
      return w.count >= after + 2 && w;
    }, 30000, 500);
    const info = await probe(`${fixture.server.httpBase}/live/stream-${key}/${written.newest}`);
    assert.deepEqual(info.streams.map((s) => s.codec_type).sort(), ['audio', 'video'], 'the newest segment carries audio again');
  });
});
