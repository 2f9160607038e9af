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
  /** Absolute path of the background image (resolved by the host). */
  imagePath: string;
  /** Confidence (0..1) at which a pixel is half person. */
  threshold: number;
  /** Half-width (0..0.5) of the confidence ramp around `threshold`; 0 = hard edge. */
  edgeSoftness: number;
  /** Temporal smoothing 0..1 (MediaPipe combine_with_previous_ratio); 0 = off. */
  smoothing: number;
  /** Segmentation model (registry id). */
  model: 'selfie' | 'selfie-landscape';
}

/** BACKGROUND_MODEL_INPUTS gives each model's input size in px (NHWC [1, height, width, 3]). */
export const BACKGROUND_MODEL_INPUTS: Record<BackgroundOptions['model'], { width: number; height: number }> = {
  selfie: { width: 256, height: 256 },
  'selfie-landscape': { width: 256, height: 144 },
};

/** backgroundOptionsSchema is the ajv schema of {@link BackgroundOptions}, with a default on every property. */
export const backgroundOptionsSchema: JSONSchemaType<BackgroundOptions> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['color', 'blur', 'image', 'none'], default: 'color', description: 'What replaces the background.' },
    color: { type: 'string', pattern: '^[0-9a-fA-F]{6}$', default: 'c0c0c0', description: "Background colour 'rrggbb' (mode 'color')." },
    blurRadiusPx: { type: 'integer', minimum: 1, maximum: 64, default: 16, description: "Blur strength in px at frame resolution (mode 'blur')." },
    imagePath: { type: 'string', default: '', description: "Absolute path of the background image (mode 'image')." },
    threshold: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'Confidence at which a pixel is half person.' },
    edgeSoftness: { type: 'number', minimum: 0, maximum: 0.5, default: 0.15, description: 'Half-width of the smoothstep confidence ramp; 0 = hard edge.' },
    smoothing: { type: 'number', minimum: 0, maximum: 1, default: 0.7, description: 'Temporal smoothing (MediaPipe combine_with_previous_ratio); 0 = off.' },
    model: { type: 'string', enum: ['selfie', 'selfie-landscape'], default: 'selfie', description: 'Segmentation model id.' },
  },
  required: ['mode', 'color', 'blurRadiusPx', 'imagePath', 'threshold', 'edgeSoftness', 'smoothing', 'model'],
};
