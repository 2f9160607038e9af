import type { RgbImage } from '../segmentation/rgb-image.ts';
import type { FaceDetection } from './decode.ts';

/** Letterbox records how an image was fitted into the square model input: scale (model px per image px) and padding (model px) on the left and top. */
export interface Letterbox {
  scale: number;
  padX: number;
  padY: number;
  size: number;
}

/** letterboxToTensor fits the image (aspect ratio kept) centred into a size x size float32 NHWC RGB tensor with bilinear sampling, values mapped from 0..255 to `range` (default MediaPipe face range [-1, 1]) and padding set to 0; returns the tensor and the letterbox transform. */
export function letterboxToTensor(image: RgbImage, size = 128, range: [number, number] = [-1, 1]): { tensor: Float32Array; letterbox: Letterbox } {
  const scale = Math.min(size / image.width, size / image.height);
  const padX = (size - image.width * scale) / 2;
  const padY = (size - image.height * scale) / 2;
  const k = (range[1] - range[0]) / 255;
  const tensor = new Float32Array(size * size * 3);
  const { data, width, height, channels } = image;
  for (let oy = 0; oy < size; oy++) {
    const sy = (oy + 0.5 - padY) / scale - 0.5;
    if (sy < -0.5 || sy > height - 0.5) continue;
    const cy = Math.min(Math.max(sy, 0), height - 1);
    const y0 = Math.floor(cy);
    const y1 = Math.min(y0 + 1, height - 1);
    const fy = cy - y0;
    for (let ox = 0; ox < size; ox++) {
      const sx = (ox + 0.5 - padX) / scale - 0.5;
      if (sx < -0.5 || sx > width - 0.5) continue;
      const cx = Math.min(Math.max(sx, 0), width - 1);
      const x0 = Math.floor(cx);
      const x1 = Math.min(x0 + 1, width - 1);
      const fx = cx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => data[(yy * width + xx) * channels + c]!;
        const top = p(y0, x0) + (p(y0, x1) - p(y0, x0)) * fx;
        const bottom = p(y1, x0) + (p(y1, x1) - p(y1, x0)) * fx;
        tensor[(oy * size + ox) * 3 + c] = (top + (bottom - top) * fy) * k + range[0];
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
