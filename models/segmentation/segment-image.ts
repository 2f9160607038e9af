import ort from 'onnxruntime-node';
import type { ModelEntry } from '../registry.ts';
import { stretchToTensor } from './preprocess.ts';
import type { RgbImage } from './rgb-image.ts';
import { upsampleMask } from './upsample-mask.ts';

/** segmentImage runs a selfie-segmentation session (registry entry `entry`, input NHWC [1, H, W, 3]) on one image and returns person confidence 0..1 per image pixel (row-major, image size), bilinearly upsampled from the model's sigmoid output. */
export async function segmentImage(session: ort.InferenceSession, entry: ModelEntry, image: RgbImage): Promise<Float32Array> {
  const [, height, width] = entry.input.shape as [number, number, number, number];
  const input = stretchToTensor(image, { width, height, range: entry.input.range });
  const result = await session.run({ [entry.input.name]: new ort.Tensor('float32', input, entry.input.shape) });
  const mask = result[entry.outputs[0]!.name]!.data as Float32Array;
  return upsampleMask(mask, width, height, image.width, image.height);
}
