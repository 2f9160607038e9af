/**
 * The aligned face chip of a tracked face, straight from the I420 frame: only the part of the frame
 * the chip samples is converted to RGB (BT.601 limited range, as ffmpeg decodes and as enrolment
 * from a stream converts), then align-face.ts warps it to dlib's 150x150 chip by the two eye
 * keypoints, exactly as enrolment does for images.
 */
import { DLIB_CHIP_150, eyeAlignTransform, warpToChip, type FaceChipTemplate, type Point2 } from '../../models/face/align-face.ts';
import type { RgbImage } from '../../models/segmentation/rgb-image.ts';
import type { PixelBox, YuvFrame } from '../plugin-api.ts';
import { i420RegionToRgb } from '../yuv-color.ts';

/**
 * chipSourceRegion is the frame region (px, clamped, even-aligned) a chip through `transform`
 * samples: the bounding box of its four corners plus 2 px for the bilinear taps; null when it lies
 * wholly outside the frame.
 */
export function chipSourceRegion(frame: Pick<YuvFrame, 'width' | 'height'>, transform: { a: number; b: number; tx: number; ty: number }, size: number): PixelBox | null {
  const { a, b, tx, ty } = transform;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [u, v] of [[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]] as const) {
    xs.push(a * u - b * v + tx);
    ys.push(b * u + a * v + ty);
  }
  const x0 = Math.max(0, (Math.floor(Math.min(...xs)) - 2) & ~1);
  const y0 = Math.max(0, (Math.floor(Math.min(...ys)) - 2) & ~1);
  const x1 = Math.min(frame.width, (Math.ceil(Math.max(...xs)) + 3 + 1) & ~1);
  const y1 = Math.min(frame.height, (Math.ceil(Math.max(...ys)) + 3 + 1) & ~1);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/**
 * frameFaceChip returns the aligned chip (template.size square RGB, default dlib's 150x150) of a
 * face whose eyes are at `rightEye` and `leftEye` (BlazeFace keypoints 0 and 1, continuous frame
 * px); the parts of the chip outside the frame are black, as in enrolment. Throws RangeError when
 * the eyes coincide.
 */
export function frameFaceChip(frame: YuvFrame, rightEye: Point2, leftEye: Point2, template: FaceChipTemplate = DLIB_CHIP_150): RgbImage {
  const transform = eyeAlignTransform(rightEye, leftEye, template);
  const region = chipSourceRegion(frame, transform, template.size);
  if (region === null) return { data: new Uint8Array(template.size * template.size * 3), width: template.size, height: template.size, channels: 3 };
  const crop = { data: i420RegionToRgb(frame, region), width: region.width, height: region.height, channels: 3 as const };
  return warpToChip(crop, { ...transform, tx: transform.tx - region.x, ty: transform.ty - region.y }, template.size);
}
