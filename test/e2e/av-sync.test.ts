/**
 * Issue #3, A/V sync: a flash-and-beep probe published for over a minute comes out of the server
 * with audio and video within 50 ms of each other.
 *
 * Two streams run at once on one server (to keep the suite short):
 * - `?bg=none`: passthrough frames, but still decoder -> scheduler -> encoder, which sync depends on;
 * - colour mode with `threshold=0&edgeSoftness=0`: every frame goes through the model and the
 *   compositor (and may be dropped and repeated when the pool falls behind). With the default
 *   threshold the probe's frames hold no person, so the plugin paints every frame, flash or not,
 *   the same grey and the flash cannot be seen; a threshold of 0 makes every pixel "person" so the
 *   frame is kept while the processing and its timing stay those of colour mode.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { uniqueKey, startServerOnFreePorts } from '../helpers/e2e-media.ts';
import { syncProbeInputArgs, syncProbeEncodeArgs, recordCopy, measureSync, type SyncMeasurement } from '../helpers/av-sync-probe.ts';

/** Issue #3's bound on |audio - video|, ms. */
const MAX_OFFSET_MS = 50;
/** How long the probe runs before the output is read, ms (sync must hold after a minute, not just at start). */
const PUBLISH_BEFORE_READ_MS = 60000;
const RECORD_S = 10;

let server: ServerProcess | undefined;
const publishers: Publisher[] = [];
let workDir = '';

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'av-sync-'));
  server = await startServerOnFreePorts();
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await server?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function summary(m: SyncMeasurement): string {
  return `${m.flashes.length} flashes, ${m.beeps.length} beeps, offsets (audio - video) ms: ${m.offsetsMs.join(' ')}`;
}

/** Publishes the probe, waits a minute, records the output (and the input) and measures both. */
async function publishAndMeasure(name: string, query: string, publishBeforeReadMs = PUBLISH_BEFORE_READ_MS,
  extraEncodeArgs: string[] = [], inputArgs = syncProbeInputArgs()): Promise<{ input: SyncMeasurement; output: SyncMeasurement; key: string }> {
  const s = server!;
  const key = uniqueKey(name);
  const pub = publish(`${s.rtmpBase}/${key}${query}`, inputArgs, [...syncProbeEncodeArgs(), ...extraEncodeArgs]);
  publishers.push(pub);
  const startedAt = Date.now();
  const out = `${s.rtmpBase}/stream-${key}`;
  await waitFor(`${name}: the output to carry video and audio`, async () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    const info = await probe(out, 8000);
    return info.streams.some((x) => x.codec_type === 'video') && info.streams.some((x) => x.codec_type === 'audio');
  }, 60000, 1000);
  // Not a sleep-and-hope: the condition is the elapsed publish time itself, and the publisher
  // must stay alive throughout.
  await waitFor(`${name}: ${publishBeforeReadMs} ms of publishing`, () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    return Date.now() - startedAt >= publishBeforeReadMs;
  }, publishBeforeReadMs + 10000, 500);
  const inFile = join(workDir, `${key}-in.mkv`);
  const outFile = join(workDir, `${key}-out.mkv`);
  await Promise.all([recordCopy(`${s.rtmpBase}/${key}`, inFile, RECORD_S), recordCopy(out, outFile, RECORD_S)]);
  const [input, output] = await Promise.all([measureSync(inFile), measureSync(outFile)]);
  return { input, output, key };
}

function assertInSync(m: { input: SyncMeasurement; output: SyncMeasurement }, minPairs: number): void {
  // The probe as published must itself be in sync, or the output's figure would mean nothing.
  assert.ok(m.input.offsetsMs.length >= RECORD_S - 2, `input: too few flash/beep pairs (${summary(m.input)})`);
  assert.ok(m.input.offsetsMs.every((o) => Math.abs(o) <= MAX_OFFSET_MS), `the published probe is out of sync (${summary(m.input)})`);
  assert.ok(m.output.offsetsMs.length >= minPairs, `output: only ${m.output.offsetsMs.length} flash/beep pairs in ${RECORD_S} s (${summary(m.output)})`);
  for (const offset of m.output.offsetsMs) {
    assert.ok(Math.abs(offset) <= MAX_OFFSET_MS, `output audio - video offset ${offset} ms exceeds ${MAX_OFFSET_MS} ms (${summary(m.output)})`);
  }
}

describe('A/V sync of the processed output', { concurrency: 3 }, () => {
  test('?bg=none (passthrough through decoder, scheduler, encoder)', { timeout: 150000 }, async (t) => {
    const m = await publishAndMeasure('sync-none', '?bg=none');
    t.diagnostic(`input:  ${summary(m.input)}`);
    t.diagnostic(`output: ${summary(m.output)}`);
    // Passthrough never drops a frame, so every second in the recording has its pair.
    assertInSync(m, RECORD_S - 2);
  });

  test('colour mode, every pixel kept (model and compositor on every frame)', { timeout: 150000 }, async (t) => {
    const m = await publishAndMeasure('sync-color', '?bg=color&threshold=0&edgeSoftness=0');
    t.diagnostic(`input:  ${summary(m.input)}`);
    t.diagnostic(`output: ${summary(m.output)}`);
    // A flash frame the scheduler drops under load is replaced by the previous (black) frame, so
    // some seconds may have no flash; the ones that remain must be in sync.
    assertInSync(m, 3);
  });

  // Publishers do not all start their clocks at 0 (hardware encoders, relays, encoders with
  // look-ahead). Runs beside the two above, so it costs no extra wall time; a short run suffices.
  test('a publisher whose timestamps start at 400 ms stays in sync (?bg=none)', { timeout: 150000 }, async (t) => {
    const m = await publishAndMeasure('sync-offset', '?bg=none', 15000, ['-output_ts_offset', '0.4']);
    t.diagnostic(`input:  ${summary(m.input)}`);
    t.diagnostic(`output: ${summary(m.output)}`);
    assertInSync(m, RECORD_S - 2);
  });

  // A publisher whose audio starts after its video, with nothing saying audio is coming: MP3 (no
  // sequence header to send up front), no metadata, and the muxer told not to hold the video back
  // for the audio. 2 s late: the server has settled the stream's format without audio by the time
  // the first audio arrives, and must start the encoder again with an audio input rather than drop
  // it. 0.15 s late: the audio usually arrives after the encoder was started (at the first video
  // frame) and before the first frame is decoded, which settles the format with audio and replaces
  // that encoder; either way the output must carry the audio in sync.
  for (const delayS of [2, 0.15]) {
    test(`audio that starts ${delayS} s after the video reaches the output, in sync (?bg=none)`, { timeout: 150000 }, async (t) => {
      const m = await publishAndMeasure(`sync-late${delayS}`.replace('.', '_'), '?bg=none', 15000,
        ['-c:a', 'libmp3lame', '-flvflags', 'no_metadata', '-max_interleave_delta', '100000'], syncProbeInputArgs(delayS));
      t.diagnostic(`input:  ${summary(m.input)}`);
      t.diagnostic(`output: ${summary(m.output)}`);
      const logs = server!.logs.filter((l) => l.streamPath === `/live/${m.key}`);
      const format = logs.findIndex((l) => l.msg === 'stream format');
      const late = logs.findIndex((l) => String(l.msg).startsWith('audio turned up after the stream format'));
      t.diagnostic(`log: ${logs.filter((l) => /encoder|format|audio/.test(String(l.msg))).map((l) => `${l.msg} (hasAudio ${l.hasAudio})`).join(' | ')}`);
      assert.ok(format >= 0, 'the format was settled');
      if (delayS >= 2 && logs[format]!.hasAudio === false) {
        assert.ok(late > format, 'the format was settled without audio, then the audio turned up and was taken');
      } else if (delayS >= 2) {
        // On a busy machine the first frame can take longer to decode than the audio takes to come:
        // the format is then settled with audio, the 0.15 s case's path. The output is checked all the same.
        t.diagnostic('the first frame was decoded after the audio arrived: the format was settled with audio');
      }
      assertInSync(m, RECORD_S - 2);
    });
  }
});
