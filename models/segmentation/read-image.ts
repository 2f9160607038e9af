import sharp from 'sharp';
import type { RgbImage } from './rgb-image.ts';

/** readRgbImage decodes an image file (PNG, JPEG, GIF first frame, anything sharp reads) to 8-bit sRGB RGB; rejects with sharp's error if the file is missing or unreadable. */
export async function readRgbImage(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
}
