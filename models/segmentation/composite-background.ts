import type { RgbImage } from './rgb-image.ts';

/** parseHexColour parses 'rrggbb' or '#rrggbb' into [r, g, b] 0..255; throws on anything else. */
export function parseHexColour(text: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) throw new Error(`colour '${text}' is not a hex colour like c0c0c0`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** replaceBackground alpha-blends the image over a solid colour using person confidence (0..1, one per pixel) as alpha and returns interleaved RGB 8-bit at the image size. */
export function replaceBackground(image: RgbImage, confidence: Float32Array, colour: [number, number, number]): Uint8Array {
  const n = image.width * image.height;
  if (confidence.length !== n) throw new Error(`confidence has ${confidence.length} values for a ${image.width}x${image.height} image`);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = Math.min(Math.max(confidence[i]!, 0), 1);
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(image.data[i * image.channels + c]! * a + colour[c]! * (1 - a));
  }
  return out;
}
