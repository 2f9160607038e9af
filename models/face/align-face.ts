// Face alignment for the embedding model: a similarity transform (rotation, uniform scale, shift) that puts
// BlazeFace's two eye keypoints on a template's eye positions, then bilinear sampling of the RGB image.
// Coordinates: image keypoints are continuous px (pixel i spans [i, i + 1), as decode.ts scales 0..1 by
// the width); templates use the convention of their sources (pixel centres at integers, as dlib and
// OpenCV's warpAffine), so a keypoint at continuous x is at index coordinate x - 0.5.
import type { RgbImage } from '../segmentation/rgb-image.ts';
import type { FaceDetection } from './decode.ts';

/** Point2 is a 2-D point in px. */
export interface Point2 {
  x: number;
  y: number;
}

/** FaceChipTemplate is a square output chip (side `size` px) with the subject's right eye (image left) and left eye centres in chip px, pixel centres at integers; `source` says where the numbers come from. */
export interface FaceChipTemplate {
  size: number;
  rightEye: Point2;
  leftEye: Point2;
  source: string;
}

// dlib's mean face shape (dlib/image_transforms/interpolation.h, get_face_chip_details: "Average positions of
// face points 17-67", 0..1 over the face), points 36-41 (right eye contour) and 42-47 (left eye contour).
// The 5-point branch of the same function (eye corners, used by dnn_face_recognition_ex.cpp) puts the
// eye-corner midpoints within 0.2 px (x) and 0.6 px (y) of these centres on a 150 px chip.
const DLIB_RIGHT_EYE = { x: [0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743], y: [0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077] };
const DLIB_LEFT_EYE = { x: [0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335], y: [0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099] };
const DLIB_CHIP_PADDING = 0.25; // dlib's dnn_face_recognition_ex.cpp: get_face_chip_details(shape, 150, 0.25)

function dlibChipPoint(xs: number[], ys: number[], size: number): Point2 {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const place = (v: number) => ((v + DLIB_CHIP_PADDING) / (1 + 2 * DLIB_CHIP_PADDING)) * size;
  return { x: place(mean(xs)), y: place(mean(ys)) };
}

/** DLIB_CHIP_150 is dlib's 150x150 face chip with padding 0.25 (`get_face_chip_details(shape, 150, 0.25)`, the chip dlib's face descriptor expects): eye centres (means of dlib's mean-shape eye contours) at about (47.5, 46.6) and (100.5, 46.6) chip px, 52.9 px apart. */
export const DLIB_CHIP_150: FaceChipTemplate = {
  size: 150,
  rightEye: dlibChipPoint(DLIB_RIGHT_EYE.x, DLIB_RIGHT_EYE.y, 150),
  leftEye: dlibChipPoint(DLIB_LEFT_EYE.x, DLIB_LEFT_EYE.y, 150),
  source: 'dlib get_face_chip_details(shape, 150, 0.25), mean face shape points 36-47',
};

/** ChipTransform maps chip index coordinates (u, v) to image index coordinates: x = a·u − b·v + tx, y = b·u + a·v + ty; `scale` = √(a² + b²) is image px per chip px. */
export interface ChipTransform {
  a: number;
  b: number;
  tx: number;
  ty: number;
  scale: number;
}

/**
 * eyeAlignTransform returns the similarity transform that takes `template`'s eyes to the image eyes
 * `rightEye`, `leftEye` (continuous image px, BlazeFace keypoints 0 and 1): the chip shows the face
 * rotated so the eyes are level, scaled so they are the template's distance apart, at its positions.
 * Throws a RangeError when the two eyes coincide.
 */
export function eyeAlignTransform(rightEye: Point2, leftEye: Point2, template: FaceChipTemplate): ChipTransform {
  const ix = leftEye.x - rightEye.x;
  const iy = leftEye.y - rightEye.y;
  const cx = template.leftEye.x - template.rightEye.x;
  const cy = template.leftEye.y - template.rightEye.y;
  const chipLength2 = cx * cx + cy * cy;
  if (!(ix * ix + iy * iy > 1e-12)) throw new RangeError(`eyeAlignTransform: the eyes coincide at (${rightEye.x}, ${rightEye.y})`);
  // Complex division (ix + i·iy) / (cx + i·cy) gives the rotation-and-scale a + i·b.
  const a = (ix * cx + iy * cy) / chipLength2;
  const b = (iy * cx - ix * cy) / chipLength2;
  const rx = rightEye.x - 0.5;
  const ry = rightEye.y - 0.5;
  return { a, b, tx: rx - (a * template.rightEye.x - b * template.rightEye.y), ty: ry - (b * template.rightEye.x + a * template.rightEye.y), scale: Math.hypot(a, b) };
}

// MAX_SUPERSAMPLING caps the n x n box filter used when the chip shrinks the face (scale > 1): enough for a
// face 4x the chip (600 px eyes-to-chin), beyond that the chip aliases a little.
const MAX_SUPERSAMPLING = 4;

/**
 * warpToChip samples `image` (RGB or RGBA, alpha ignored) through `transform` into a `size` x `size` RGB
 * chip: bilinear between pixel centres, zero (black) outside the image as dlib's extract_image_chip and
 * OpenCV's BORDER_CONSTANT; when the chip is smaller than the face (scale > 1) each chip pixel averages
 * n x n bilinear samples, n = ceil(scale) up to 4, against aliasing.
 */
export function warpToChip(image: RgbImage, transform: ChipTransform, size: number): RgbImage {
  const { a, b, tx, ty } = transform;
  const { width, height, channels, data } = image;
  const n = Math.min(MAX_SUPERSAMPLING, Math.max(1, Math.ceil(transform.scale - 1e-9)));
  const out = new Uint8Array(size * size * 3);
  const acc = [0, 0, 0];
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sv = 0; sv < n; sv++) {
        for (let su = 0; su < n; su++) {
          const cu = u + (su + 0.5) / n - 0.5;
          const cv = v + (sv + 0.5) / n - 0.5;
          const x = a * cu - b * cv + tx;
          const y = b * cu + a * cv + ty;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const fx = x - x0;
          const fy = y - y0;
          for (let dy = 0; dy < 2; dy++) {
            const yy = y0 + dy;
            if (yy < 0 || yy >= height) continue;
            const wy = dy ? fy : 1 - fy;
            for (let dx = 0; dx < 2; dx++) {
              const xx = x0 + dx;
              if (xx < 0 || xx >= width) continue;
              const w = wy * (dx ? fx : 1 - fx);
              const at = (yy * width + xx) * channels;
              acc[0]! += w * data[at]!;
              acc[1]! += w * data[at + 1]!;
              acc[2]! += w * data[at + 2]!;
            }
          }
        }
      }
      const o = (v * size + u) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.min(255, Math.max(0, Math.round(acc[c]! / (n * n))));
    }
  }
  return { data: out, width: size, height: size, channels: 3 };
}

/** alignFace crops and aligns one face from an RGB(A) image to `template` (default DLIB_CHIP_150) from its eye keypoints in continuous image px (BlazeFace keypoint 0 = right eye, 1 = left eye); returns a template.size square RGB chip. Throws RangeError when the eyes coincide. */
export function alignFace(image: RgbImage, rightEye: Point2, leftEye: Point2, template: FaceChipTemplate = DLIB_CHIP_150): RgbImage {
  return warpToChip(image, eyeAlignTransform(rightEye, leftEye, template), template.size);
}

/** AlignedFace is one detected face on its chip: the chip (template.size square, RGB), the chip -> image transform, the eye distance (image px) and that distance over the box width (about 0.4 for a frontal BlazeFace box, falling towards 0 as the head turns to profile, where the eye-distance scale zooms the chip in). */
export interface AlignedFace {
  chip: RgbImage;
  transform: ChipTransform;
  eyeDistancePx: number;
  eyeDistanceToBoxWidth: number;
}

/**
 * alignDetectedFace aligns a BlazeFace detection given in image px (models/face/detect-image.ts, or the
 * faces plugin's frame px: box xMin, yMin, width, height and keypoints 0 = right eye, 1 = left eye) to
 * `template` (default DLIB_CHIP_150): rotation so the eyes are level, scale from the eye distance, shift
 * onto the template's eye positions. Throws RangeError when the detection has fewer than two keypoints,
 * when the eyes coincide, or when the box width is not positive.
 */
export function alignDetectedFace(image: RgbImage, face: FaceDetection, template: FaceChipTemplate = DLIB_CHIP_150): AlignedFace {
  const [rightEye, leftEye] = face.keypoints;
  if (!rightEye || !leftEye) throw new RangeError(`alignDetectedFace: the detection has ${face.keypoints.length} keypoints, the eyes (0 and 1) are needed`);
  if (!(face.width > 0)) throw new RangeError(`alignDetectedFace: box width ${face.width} px is not positive`);
  const transform = eyeAlignTransform(rightEye, leftEye, template);
  const eyeDistancePx = Math.hypot(leftEye.x - rightEye.x, leftEye.y - rightEye.y);
  return { chip: warpToChip(image, transform, template.size), transform, eyeDistancePx, eyeDistanceToBoxWidth: eyeDistancePx / face.width };
}

/** chipToTensor converts an RGB chip to the float32 NHWC [1, h, w, 3] data of its raw 0..255 values (the face-embed model subtracts the mean and divides by 255 inside its graph); throws for an RGBA chip. */
export function chipToTensor(chip: RgbImage): Float32Array {
  if (chip.channels !== 3) throw new Error(`chipToTensor: expected an RGB chip, got ${chip.channels} channels`);
  return Float32Array.from(chip.data);
}
