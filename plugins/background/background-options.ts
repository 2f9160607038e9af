/**
 * Options of the `background` plugin: the JSON schema (ajv, useDefaults) is the single source of
 * defaults, units and allowed values.
 */
import type { JSONSchemaType } from 'ajv';

/** BackgroundOptions configures background replacement for one stream. */
export interface BackgroundOptions {
  /** What replaces the background: a colour, a blur of the frame, an image, or nothing. */
  mode: 'color' | 'blur' | 'image' | 'none';
  /** Background colour, hex 'rrggbb'. */
  color: string;
  /** Blur strength in px at the frame's resolution (Gaussian standard deviation). */
  blurRadiusPx: number;
  /** Background image name: a file `<name>.jpg|.jpeg|.png|.webp` in the plugin's `imagesDir` (mode 'image'). */
  image: string;
  /** Absolute path of the background image (internal: resolved from `image` by the plugin's prepare). */
  imagePath: string;
  /** Confidence (0..1) at which a pixel is half person. */
  threshold: number;
  /** Half-width (0..0.5) of the confidence ramp around `threshold`; 0 = hard edge. */
  edgeSoftness: number;
  /** Temporal smoothing 0..1 (MediaPipe combine_with_previous_ratio); 0 = off. */
  smoothing: number;
  /**
   * Segmentation model (registry id), or 'auto': 'selfie-landscape' (256x144) for frames at least
   * 1.5 times as wide as tall (16:9), else 'selfie' (256x256).
   */
  model: 'auto' | SegmentationModelId;
}

/** SegmentationModelId names a registry model the plugin can run. */
export type SegmentationModelId = 'selfie' | 'selfie-landscape';

/** BACKGROUND_MODEL_INPUTS gives each model's input size in px (NHWC [1, height, width, 3]). */
export const BACKGROUND_MODEL_INPUTS: Record<SegmentationModelId, { width: number; height: number }> = {
  selfie: { width: 256, height: 256 },
  'selfie-landscape': { width: 256, height: 144 },
};

/** Width / height from which 'auto' picks the landscape model (16:9 is 1.78, 4:3 is 1.33). */
export const LANDSCAPE_MIN_ASPECT = 1.5;

/** resolveModel returns the model to run on a width x height px frame for the `model` option. */
export function resolveModel(model: BackgroundOptions['model'], width: number, height: number): SegmentationModelId {
  if (model !== 'auto') return model;
  return width >= height * LANDSCAPE_MIN_ASPECT ? 'selfie-landscape' : 'selfie';
}

/** backgroundOptionsSchema is the ajv schema of {@link BackgroundOptions}, with a default on every property. */
export const backgroundOptionsSchema: JSONSchemaType<BackgroundOptions> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['color', 'blur', 'image', 'none'], default: 'color', description: 'What replaces the background.' },
    color: { type: 'string', pattern: '^[0-9a-fA-F]{6}$', default: 'c0c0c0', description: "Background colour 'rrggbb' (mode 'color')." },
    blurRadiusPx: { type: 'integer', minimum: 1, maximum: 64, default: 16, description: "Blur strength in px at frame resolution (mode 'blur')." },
    image: { type: 'string', pattern: '^[A-Za-z0-9_-]{0,64}$', default: '', description: "Background image name: a file <name>.jpg|.jpeg|.png|.webp in imagesDir (mode 'image')." },
    imagePath: { type: 'string', default: '', description: "Absolute path of the background image (internal: resolved from 'image')." },
    threshold: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'Confidence at which a pixel is half person.' },
    edgeSoftness: { type: 'number', minimum: 0, maximum: 0.5, default: 0.15, description: 'Half-width of the smoothstep confidence ramp; 0 = hard edge.' },
    smoothing: { type: 'number', minimum: 0, maximum: 1, default: 0.7, description: 'Temporal smoothing (MediaPipe combine_with_previous_ratio); 0 = off.' },
    model: { type: 'string', enum: ['auto', 'selfie', 'selfie-landscape'], default: 'auto', description: "Segmentation model id; 'auto' runs 'selfie-landscape' (256x144) on frames at least 1.5 times as wide as tall, else 'selfie' (256x256)." },
  },
  required: ['mode', 'color', 'blurRadiusPx', 'image', 'imagePath', 'threshold', 'edgeSoftness', 'smoothing', 'model'],
};

/** BackgroundSettings are the plugin's server-level settings (config `plugins.background`), not settable per stream. */
export interface BackgroundSettings {
  /** Folder of background images. */
  imagesDir: string;
}

/** backgroundSettingsSchema is the ajv schema of {@link BackgroundSettings}. */
export const backgroundSettingsSchema: JSONSchemaType<BackgroundSettings> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    imagesDir: { type: 'string', default: './backgrounds', description: 'Folder of background images.' },
  },
  required: ['imagesDir'],
};
