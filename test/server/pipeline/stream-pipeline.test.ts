/**
 * StreamPipeline fed by a StreamSource that is not node-media-server: an ffmpeg child that writes
 * a live FLV (H.264 + AAC) to its stdout, as a second kind of source would. The pipeline (real
 * decoder and encoder ffmpeg, a passthrough chain) must settle the format with audio, write HLS
 * with both tracks (every video frame either in it or counted as dropped, all the audio), place its
 * output time origin at the source's first frame (moved by the frames the encoder skipped), and on
 * stop end the playlist and let both children exit.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultConfig } from '../../../server/config.ts';
import { InferencePool } from '../../../server/inference/inference-pool.ts';
import type { StreamSource } from '../../../server/ingest/stream-source.ts';
import { resolveFfmpegPath } from '../../../server/pipeline/ffmpeg-path.ts';
import { FLV_VIDEO, FlvDemuxer, isSequenceHeader, videoPts } from '../../../server/pipeline/flv-demux.ts';
import { PluginCatalog } from '../../../server/pipeline/plugin-catalog.ts';
import { PluginChain } from '../../../server/pipeline/plugin-chain.ts';
import { StreamPipeline, type StreamFormat } from '../../../server/pipeline/stream-pipeline.ts';
import { waitFor } from '../../helpers/server-process.ts';

const SECONDS = 4;
const FPS = 25;

/**
 * FfmpegFlvSource is a StreamSource of the live FLV an ffmpeg child writes to stdout; it keeps
 * every byte, so a tap (a decoder restart too) gets the stream from its header on.
 */
class FfmpegFlvSource implements StreamSource {
  private readonly kept: Buffer[] = [];
  private readonly taps = new Set<(chunk: Buffer) => void>();
  readonly child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${FPS}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS),
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  readonly exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));

  constructor() {
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.kept.push(chunk);
      for (const onBytes of this.taps) onBytes(chunk);
    });
  }

  tap(onBytes: (chunk: Buffer) => void): () => void {
    for (const chunk of this.kept) onBytes(chunk);
    this.taps.add(onBytes);
    return () => { this.taps.delete(onBytes); };
  }

  audioDeclared(): boolean {
    return true;
  }

  /** firstVideoPtsMs is the presentation time (ms) of the first video frame written so far. */
  firstVideoPtsMs(): number | undefined {
    let pts: number | undefined;
    new FlvDemuxer((tag) => {
      if (pts === undefined && tag.type === FLV_VIDEO && !isSequenceHeader(tag)) pts = videoPts(tag);
    }).push(Buffer.concat(this.kept));
    return pts;
  }
}

/** countFrames decodes a file or playlist and counts its frames per `type:codec` stream (ffprobe). */
function countFrames(url: string): Record<string, number> {
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries',
    'stream=codec_type,codec_name,nb_read_frames', '-of', 'json', url], { encoding: 'utf8' })) as
    { streams: { codec_type: string; codec_name: string; nb_read_frames: string }[] };
  return Object.fromEntries(out.streams.map((st) => [`${st.codec_type}:${st.codec_name}`, Number(st.nb_read_frames)]));
}

const dir = mkdtempSync(join(tmpdir(), 'stream-pipeline-'));
const pool = new InferencePool({ workers: 1, intraOpThreads: 1 });
after(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a pipeline from a non-RTMP StreamSource settles its format with audio, writes HLS and ends it', { timeout: 90000 }, async (t) => {
  const config = defaultConfig();
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => { logLines.push(line); } });
  const source = new FfmpegFlvSource();
  const playlist = join(dir, 'index.m3u8');
  const pipeline = new StreamPipeline('/live/file-source', new PluginChain(new PluginCatalog([]), []), pool, {
    ffmpegPath: resolveFfmpegPath(), outputRtmpUrl: '', hlsPlaylistPath: playlist,
    segmentDurationMs: 1000, playlistLength: 10, encoder: config.encoder,
    maxQueueFrames: config.pipeline.maxQueueFrames, decoderThreads: config.decoder.threads,
    startTimeoutMs: 30000, maxModelIntervalFrames: 1,
  }, source, log);
  let format: StreamFormat | undefined;
  pipeline.once('started', (f) => { format = { ...f }; });
  let ended: unknown = 'not ended';
  let children: number[] = [];
  pipeline.once('ended', (error) => { ended = error; });
  try {
    await pipeline.start();
    await waitFor('the stream format', () => format !== undefined, 30000, 20);
    assert.deepEqual(format, { width: 320, height: 240, fps: FPS, frameRate: `${FPS}/1`, hasAudio: true });
    await waitFor('the first second of frames out', () => pipeline.stats.out.total >= FPS, 30000, 20);
    // No restart here: the output's timestamp 0 is the source's first frame, moved by one frame
    // for each the encoder skipped (each counted as dropped; a passthrough chain drops none). It
    // skips many at its start (66 of these 100 frames in a run here, 16 with 320 kb/s audio), most
    // likely while its audio input's probe (32 KB) holds its video input back.
    assert.equal(pipeline.stats.restarts, 0);
    const firstPts = source.firstVideoPtsMs();
    assert.ok(firstPts !== undefined);
    assert.equal(pipeline.outputPtsOriginMs, firstPts + (pipeline.stats.dropped * 1000) / FPS);
    children = pipeline.childPids;
    assert.equal(children.length, 2, 'decoder and encoder run');
    await source.exited;
    await waitFor('every frame of the source out', () => pipeline.stats.out.total >= SECONDS * FPS - 1, 30000, 20);
  } catch (err) {
    t.diagnostic(logLines.join('').slice(-4000));
    throw err;
  } finally {
    source.child.kill();
    await pipeline.stop();
  }
  t.diagnostic(`stats: ${JSON.stringify(pipeline.stats.snapshot())}`);
  assert.equal(ended, undefined, 'ended without an error');
  assert.equal(pipeline.isEnded, true);
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  assert.deepEqual(children.filter(alive), [], 'decoder and encoder exited');
  assert.match(readFileSync(playlist, 'utf8'), /#EXT-X-ENDLIST/);
  const out = countFrames(playlist);
  assert.deepEqual(Object.keys(out).sort(), ['audio:aac', 'video:h264']);
  assert.equal(out['video:h264'], pipeline.stats.out.total - pipeline.stats.dropped, 'every frame out is in the output or counted as dropped');
  const audioS = (out['audio:aac'] * 1024) / 48000;
  assert.ok(Math.abs(audioS - SECONDS) < 0.25, `${audioS} s of audio out, ${SECONDS} s in`);
});
