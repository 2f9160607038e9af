/** RgbImage is an interleaved 8-bit RGB (3 channels) or RGBA (4 channels, alpha ignored) image, row-major, no row padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}
