/**
 * An A/V sync probe: a synthetic input with a one-frame white flash and a 50 ms 1 kHz beep at
 * every whole second, and the measurement of flash and beep onsets in a recording of it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** SYNC_PROBE_FPS is the probe's frame rate; one frame (33 ms) is the video's time resolution. */
export const SYNC_PROBE_FPS = 30;
/** SYNC_PROBE_SAMPLE_RATE is the probe's audio rate in Hz. */
export const SYNC_PROBE_SAMPLE_RATE = 48000;

/**
 * syncProbeInputArgs are ffmpeg input arguments for the probe: black 320x240 video whose frame at
 * each whole second (t mod 1 < 0.02 holds for exactly one frame at 30 fps) is white, and a 1 kHz
 * tone gated on for the first 50 ms of each second; `samples_per_frame=480` makes the gate's
 * per-frame evaluation land exactly on the second (480 samples = 10 ms at 48 kHz).
 * `audioDelayS` (seconds, default 0) starts the audio that much after the video (`-itsoffset`),
 * its gate shifted to match, so the beeps stay on the video's whole seconds.
 */
export function syncProbeInputArgs(audioDelayS = 0): string[] {
  return [
    '-f', 'lavfi', '-i', `color=black:s=320x240:r=${SYNC_PROBE_FPS},format=yuv420p,`
      + "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t,1),0.02)'",
    ...(audioDelayS ? ['-itsoffset', String(audioDelayS)] : []),
    '-re', '-f', 'lavfi', '-i', `sine=f=1000:sample_rate=${SYNC_PROBE_SAMPLE_RATE}:samples_per_frame=480,`
      + `volume='if(lt(mod(t+${audioDelayS},1),0.05),1,0)':eval=frame`,
  ];
}

/** syncProbeEncodeArgs encode the probe like a webcam encoder would (H.264 1 s GOP, AAC). */
export function syncProbeEncodeArgs(): string[] {
  return ['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency',
    '-g', String(SYNC_PROBE_FPS), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-ar', String(SYNC_PROBE_SAMPLE_RATE)];
}

/** recordCopy records `seconds` of a URL without re-encoding into a Matroska file (ms timestamps). */
export async function recordCopy(url: string, file: string, seconds: number): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-rw_timeout', '15000000', '-i', url, '-map', '0:v', '-map', '0:a',
    '-c', 'copy', '-t', String(seconds), '-f', 'matroska', file], { timeout: (seconds + 30) * 1000 });
}

/** SyncMeasurement lists the onsets found (s, on the recording's clock) and the paired offsets. */
export interface SyncMeasurement {
  flashes: number[];
  beeps: number[];
  /** audio onset - video onset, ms, per flash with a beep within 500 ms (positive: audio late). */
  offsetsMs: number[];
}

interface ProbeFrame { media_type: string; pts_time?: string; best_effort_timestamp_time?: string; nb_samples?: number }

/**
 * measureSync finds flash onsets (first frame of a run with mean luma > 128) and beep onsets
 * (first sample above a quarter of the tone's peak after >= 300 ms of silence) in a recording,
 * timing both from the container's own frame timestamps, and pairs them (from 300 ms into the recording).
 */
export async function measureSync(file: string): Promise<SyncMeasurement> {
  const { stdout: json } = await run('ffprobe', ['-v', 'error', '-show_entries',
    'frame=media_type,pts_time,best_effort_timestamp_time,nb_samples:stream=codec_type,sample_rate', '-of', 'json', file], { maxBuffer: 64 * 1024 * 1024 });
  const parsed = JSON.parse(json) as { frames: ProbeFrame[]; streams: { codec_type: string; sample_rate?: string }[] };
  const frames = parsed.frames;
  const rate = Number(parsed.streams.find((x) => x.codec_type === 'audio')?.sample_rate);
  if (!(rate > 0)) throw new Error(`${file} has no audio stream with a sample rate`);
  const time = (f: ProbeFrame) => Number(f.pts_time ?? f.best_effort_timestamp_time);
  const videoTimes = frames.filter((f) => f.media_type === 'video').map(time);
  const audioFrames = frames.filter((f) => f.media_type === 'audio');

  const [gw, gh] = [16, 12];
  const { stdout: gray } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-map', '0:v', '-fps_mode', 'passthrough',
    '-vf', `scale=${gw}:${gh}`, '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const lumaFrames = (gray as unknown as Buffer).length / (gw * gh);
  if (lumaFrames !== videoTimes.length) throw new Error(`decoded ${lumaFrames} video frames, ffprobe listed ${videoTimes.length}`);
  const flashes: number[] = [];
  let wasBright = false;
  for (let i = 0; i < lumaFrames; i++) {
    const px = (gray as unknown as Buffer).subarray(i * gw * gh, (i + 1) * gw * gh);
    const bright = px.reduce((a, v) => a + v, 0) / px.length > 128;
    if (bright && !wasBright) flashes.push(videoTimes[i]);
    wasBright = bright;
  }

  const { stdout: pcm } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-map', '0:a', '-ac', '1',
    '-f', 's16le', 'pipe:1'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const samples = new Int16Array((pcm as unknown as Buffer).buffer, (pcm as unknown as Buffer).byteOffset, (pcm as unknown as Buffer).length / 2);
  // Each decoded sample's time comes from its own frame's timestamp, so gaps cannot shift onsets.
  const sampleTimes = new Float64Array(samples.length);
  let n = 0;
  for (const f of audioFrames) {
    for (let k = 0; k < (f.nb_samples ?? 0) && n < samples.length; k++) sampleTimes[n++] = time(f) + k / rate;
  }
  if (n !== samples.length) throw new Error(`decoded ${samples.length} audio samples, ffprobe frames hold ${n}`);
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  const loud = peak / 4;
  const beeps: number[] = [];
  let lastLoud = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]) < loud) continue;
    if (sampleTimes[i] - lastLoud >= 0.3) beeps.push(sampleTimes[i]);
    lastLoud = sampleTimes[i];
  }

  // A recording starts at a keyframe, which is a flash, possibly inside a beep whose true onset
  // was cut off: onsets in its first 300 ms are not trusted.
  const trustedFrom = Math.min(videoTimes[0] ?? Infinity, sampleTimes[0] ?? Infinity) + 0.3;
  const offsetsMs: number[] = [];
  for (const flash of flashes.filter((f) => f >= trustedFrom)) {
    const nearest = beeps.filter((b) => b >= trustedFrom).reduce((best, b) => (Math.abs(b - flash) < Math.abs(best - flash) ? b : best), Infinity);
    if (Math.abs(nearest - flash) < 0.5) offsetsMs.push(Math.round((nearest - flash) * 1000));
  }
  return { flashes, beeps, offsetsMs };
}
