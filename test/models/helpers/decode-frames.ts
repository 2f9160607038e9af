// Frames of a shared clip as raw RGB, decoded by ffmpeg (no PNG round trip).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RgbImage } from '../../../models/segmentation/rgb-image.ts';
import { mediaDir } from './shared-media.ts';

const run = promisify(execFile);

/** DecodedFrame is one frame of a clip: its index in the sampled sequence, its time (s) and its RGB pixels. */
export interface DecodedFrame {
  index: number;
  atSec: number;
  image: RgbImage;
}

/** decodeFramesRgb samples `file` (in mediaDir) at `fps` frames per second with ffmpeg's fps filter and resolves to the frames as interleaved RGB (3 channels) at the clip's size (ffprobe); rejects if ffprobe or ffmpeg fails or the output is not a whole number of frames. */
export async function decodeFramesRgb(file: string, fps: number): Promise<DecodedFrame[]> {
  const input = path.join(mediaDir, file);
  const probe = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', input], { timeout: 30_000 });
  const [width, height] = probe.stdout.trim().split(',').map(Number) as [number, number];
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', input, '-vf', `fps=${fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
    timeout: 120_000,
  });
  const frameBytes = width * height * 3;
  if (!(frameBytes > 0) || stdout.byteLength % frameBytes !== 0) throw new Error(`${file}: ffmpeg gave ${stdout.byteLength} bytes, not a whole number of ${width}x${height} RGB frames`);
  return Array.from({ length: stdout.byteLength / frameBytes }, (_, index) => ({
    index,
    atSec: index / fps,
    image: { data: new Uint8Array(stdout.buffer, stdout.byteOffset + index * frameBytes, frameBytes), width, height, channels: 3 as const },
  }));
}
