import type { RgbImage } from '../segmentation/rgb-image.ts';
import type { FaceDetection } from './decode.ts';

/** Letterbox records how an image was fitted into the square model input: scale (model px per image px) and padding (model px) on the left and top. */
export interface Letterbox {
  scale: number;
  padX: number;
  padY: number;
  size: number;
}

/** letterboxToTensor fits the image (aspect ratio kept) centred into a size x size float32 NHWC RGB tensor with bilinear sampling, values mapped from 0..255 to `range` (default MediaPipe face range [-1, 1]) and the padding black (pixel 0, i.e. `range[0]`, as MediaPipe's ImageToTensorCalculator pads with BORDER_ZERO before normalising); returns the tensor and the letterbox transform. */
export function letterboxToTensor(image: RgbImage, size = 128, range: [number, number] = [-1, 1]): { tensor: Float32Array; letterbox: Letterbox } {
  const scale = Math.min(size / image.width, size / image.height);
  const padX = (size - image.width * scale) / 2;
  const padY = (size - image.height * scale) / 2;
  const k = (range[1] - range[0]) / 255;
  const offset = range[0];
  // Black padding: MediaPipe zero-pads the letterboxed image, then maps pixels to the range.
  const tensor = new Float32Array(size * size * 3).fill(offset);
  const { data, width, height, channels } = image;
  // Per-column taps are the same for every row: compute them once (element offsets of x0 / x1, weight).
  const colValid = new Uint8Array(size);
  const colX0 = new Int32Array(size);
  const colX1 = new Int32Array(size);
  const colFx = new Float64Array(size);
  for (let ox = 0; ox < size; ox++) {
    const sx = (ox + 0.5 - padX) / scale - 0.5;
    if (sx < -0.5 || sx > width - 0.5) continue;
    const cx = Math.min(Math.max(sx, 0), width - 1);
    const x0 = Math.floor(cx);
    colValid[ox] = 1;
    colX0[ox] = x0 * channels;
    colX1[ox] = Math.min(x0 + 1, width - 1) * channels;
    colFx[ox] = cx - x0;
  }
  for (let oy = 0; oy < size; oy++) {
    const sy = (oy + 0.5 - padY) / scale - 0.5;
    if (sy < -0.5 || sy > height - 0.5) continue;
    const cy = Math.min(Math.max(sy, 0), height - 1);
    const y0 = Math.floor(cy);
    const row0 = y0 * width * channels;
    const row1 = Math.min(y0 + 1, height - 1) * width * channels;
    const fy = cy - y0;
    for (let ox = 0; ox < size; ox++) {
      if (colValid[ox] === 0) continue;
      const a = row0 + colX0[ox]!;
      const b = row0 + colX1[ox]!;
      const c0 = row1 + colX0[ox]!;
      const d = row1 + colX1[ox]!;
      const fx = colFx[ox]!;
      const o = (oy * size + ox) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[a + c]! + (data[b + c]! - data[a + c]!) * fx;
        const bottom = data[c0 + c]! + (data[d + c]! - data[c0 + c]!) * fx;
        tensor[o + c] = (top + (bottom - top) * fy) * k + offset;
      }
    }
  }
  return { tensor, letterbox: { scale, padX, padY, size } };
}

/** detectionToImagePx maps a detection from normalised model-input coordinates back to image pixels through the letterbox transform. */
export function detectionToImagePx(d: FaceDetection, lb: Letterbox): FaceDetection {
  const x = (v: number) => (v * lb.size - lb.padX) / lb.scale;
  const y = (v: number) => (v * lb.size - lb.padY) / lb.scale;
  return {
    xMin: x(d.xMin),
    yMin: y(d.yMin),
    width: (d.width * lb.size) / lb.scale,
    height: (d.height * lb.size) / lb.scale,
    score: d.score,
    keypoints: d.keypoints.map((p) => ({ x: x(p.x), y: y(p.y) })),
  };
}
