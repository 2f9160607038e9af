import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDecoderArgs, buildEncoderArgs, buildRtpIngestArgs, type EncoderArgsInput } from '../../../server/pipeline/ffmpeg-args.ts';
import { resolveFfmpegPath } from '../../../server/pipeline/ffmpeg-path.ts';

const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('decoder: FLV on stdin, y4m I420 at constant frame rate on fd 1 only', () => {
  const args = buildDecoderArgs();
  assert.equal(after(args, '-f'), 'flv');
  assert.equal(after(args, '-i'), 'pipe:0');
  assert.equal(after(args, '-vf'), 'crop=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p', 'odd sizes are cropped to even for 4:2:0');
  assert.deepEqual(args.filter((a) => /^pipe:[1-9]$/.test(a)), ['pipe:1']);
  assert.equal(after(args, '-fps_mode'), 'cfr');
  assert.ok(args.includes('yuv4mpegpipe'));
});

test('WHIP repackager: H.264 copied; VP8 encoded to H.264 with the encoder settings, keeping each frame\'s timestamp', () => {
  const x264 = { preset: 'ultrafast', crf: 23, maxBitrateKbps: 4000, keyframeIntervalMs: 2000, threads: 1, deblock: true };
  const h264 = buildRtpIngestArgs({ videoCodec: 'H264', hasAudio: true, audioBitrateKbps: 128, x264 });
  assert.equal(after(h264, '-c:v'), 'copy');
  assert.equal(after(h264, '-c:a'), 'aac');
  assert.ok(!h264.includes('-vsync'));
  const vp8 = buildRtpIngestArgs({ videoCodec: 'VP8', hasAudio: false, audioBitrateKbps: 128, x264 });
  assert.equal(after(vp8, '-c:v'), 'libx264');
  assert.equal(after(vp8, '-preset'), 'ultrafast');
  assert.equal(after(vp8, '-force_key_frames'), 'expr:gte(t,n_forced*2)');
  assert.equal(after(vp8, '-vsync'), 'passthrough', 'no constant-rate resampling of a browser camera');
  assert.ok(!vp8.includes('-c:a'));
  assert.equal(vp8.at(-1), 'pipe:1');
});

test('decoder: a fixed output size scales with the aspect ratio kept and pads', () => {
  const vf = after(buildDecoderArgs({ outputSize: { width: 640, height: 480 } }), '-vf');
  assert.equal(vf, 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p');
});

const encoder: EncoderArgsInput = {
  hasAudio: true,
  rtmpUrl: 'rtmp://127.0.0.1:1935/live/stream-demo?token=abc', hlsPlaylistPath: '/m/live/stream-demo/index.m3u8',
  segmentDurationMs: 2000, playlistLength: 6, preset: 'veryfast', crf: 23, maxBitrateKbps: 4000, keyframeIntervalMs: 2000, threads: 0, deblock: true, continuePlaylist: true,
};

test('encoder: YUV4MPEG2 in (size and rate from its header), libx264 zerolatency with a keyframe every 2 s, tee to RTMP and HLS', () => {
  const args = buildEncoderArgs(encoder);
  assert.equal(after(args, '-f'), 'yuv4mpegpipe');
  assert.equal(after(args, '-i'), 'pipe:0');
  assert.ok(!args.includes('-video_size') && !args.includes('-framerate'), 'no frame size or rate before the first frame');
  assert.equal(after(args, '-tune'), 'zerolatency');
  assert.equal(after(args, '-force_key_frames'), 'expr:gte(t,n_forced*2)');
  assert.equal(after(args, '-x264-params'), 'keyint=infinite:deblock=0,0', 'keyframes only from the time expression; deblocking on');
  assert.equal(after(args, '-maxrate'), '4000k');
  assert.ok(args.includes('pipe:3') && args.includes('1:a'), 'audio from fd 3 is mapped and copied');
  const tee = args[args.length - 1];
  assert.match(tee, /^\[f=flv:onfail=ignore\]rtmp\\:\/\/127\.0\.0\.1\\:1935\/live\/stream-demo\?token=abc\|/);
  assert.match(tee, /hls_time=2:hls_list_size=6:hls_flags=delete_segments\+independent_segments/);
  assert.match(tee, /\/m\/live\/stream-demo\/index\.m3u8$/);
});

test('encoder: a new playlist starts clean; a continued one appends after a discontinuity', () => {
  assert.doesNotMatch(buildEncoderArgs({ ...encoder, continuePlaylist: false }).at(-1)!, /append_list|discont_start/);
  assert.match(buildEncoderArgs(encoder).at(-1)!, /\+append_list\+discont_start/);
});

test('encoder: no audio input without audio; uncapped bitrate omits VBV', () => {
  const args = buildEncoderArgs({ ...encoder, hasAudio: false, maxBitrateKbps: 0 });
  assert.ok(!args.includes('pipe:3'));
  assert.ok(!args.includes('1:a'));
  assert.ok(!args.includes('-maxrate'));
});

/** encodeSettings runs the real ffmpeg with the encoder's args on 10 frames and returns x264's settings line from the stream. */
async function encodeSettings(input: Partial<EncoderArgsInput>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'encoder-args-'));
  try {
    const ffmpeg = resolveFfmpegPath();
    const args = buildEncoderArgs({ ...encoder, hasAudio: false, rtmpUrl: '', hlsPlaylistPath: join(dir, 'index.m3u8'), continuePlaylist: false, ...input });
    // Debian's ffmpeg makes the frames (the stream ffmpeg has no lavfi); the server's ffmpeg encodes.
    const source = spawn('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-frames:v', '10', '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const encode = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    encode.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    source.stdout!.pipe(encode.stdin!);
    const code = await new Promise<number | null>((resolve) => encode.once('exit', resolve));
    assert.equal(code, 0, `encoder failed: ${stderr.slice(-500)}`);
    // x264 writes its options into an SEI message of the first frame: "... options: cabac=0 ref=1 deblock=1:0:0 ...".
    const text = readFileSync(join(dir, 'segment-0.ts')).toString('latin1');
    const settings = /options: [^\0]*/.exec(text)?.[0];
    assert.ok(settings, 'no x264 settings in the output');
    return settings;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('encoder (real ffmpeg): deblocking on at the default strength even with ultrafast; off when asked', async () => {
  assert.match(await encodeSettings({ preset: 'ultrafast', deblock: true }), / deblock=1:0:0 /);
  assert.match(await encodeSettings({ preset: 'superfast', deblock: true }), / deblock=1:0:0 /);
  assert.match(await encodeSettings({ preset: 'ultrafast', deblock: false }), / deblock=0:0:0 /);
  assert.match(await encodeSettings({ preset: 'superfast', deblock: false }), / deblock=0:0:0 /);
});
