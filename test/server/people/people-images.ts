/**
 * Test images for the gallery, made from the shared footage (never committed): single frames
 * extracted with ffmpeg to JPEG or PNG, and a two-face picture composed with sharp from two face
 * crops side by side.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import sharp from 'sharp';
import { mediaFile } from '../../helpers/e2e-media.ts';

const run = promisify(execFile);

/** extractFrame writes the frame of `clip` (a file in the shared footage) at `atSeconds` to `out` (.jpg or .png by its extension). */
export async function extractFrame(clip: string, atSeconds: number, out: string): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-y', '-ss', String(atSeconds), '-i', mediaFile(clip), '-frames:v', '1', out]);
  return out;
}

/** PeopleImages are the files the gallery tests upload. */
export interface PeopleImages {
  /** sister.mkv at 1 s: one face (JPEG). */
  oneFaceJpeg: string;
  /** again.mkv at 1 s: another person's one face (PNG). */
  oneFacePng: string;
  /** car-detection.mp4 at 5 s: a parking lot, no face (JPEG). */
  noFace: string;
  /** The face crops of the two above side by side (JPEG, 400x220). */
  twoFaces: string;
}

/** makePeopleImages writes the PeopleImages into `dir`. */
export async function makePeopleImages(dir: string): Promise<PeopleImages> {
  const [oneFaceJpeg, oneFacePng, noFace] = await Promise.all([
    extractFrame('sister.mkv', 1, join(dir, 'one-face.jpg')),
    extractFrame('again.mkv', 1, join(dir, 'one-face.png')),
    extractFrame('car-detection.mp4', 5, join(dir, 'no-face.jpg')),
  ]);
  // Head-and-shoulders crops around the faces BlazeFace finds at (263, 106) 70 px and (287, 86) 73 px.
  const left = await sharp(oneFaceJpeg).extract({ left: 198, top: 40, width: 200, height: 220 }).toBuffer();
  const right = await sharp(oneFacePng).extract({ left: 224, top: 20, width: 200, height: 220 }).toBuffer();
  const twoFaces = join(dir, 'two-faces.jpg');
  await sharp({ create: { width: 400, height: 220, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite([{ input: left, left: 0, top: 0 }, { input: right, left: 200, top: 0 }])
    .jpeg({ quality: 92 })
    .toFile(twoFaces);
  return { oneFaceJpeg, oneFacePng, noFace, twoFaces };
}
