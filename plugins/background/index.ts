/**
 * The `background` frame plugin: segments people (MediaPipe selfie segmentation) and replaces the
 * background with a colour, a halo-free blur of the frame, or an image.
 */
import { defineFramePlugin, siblingModuleUrl } from '../plugin-api.ts';
import { backgroundOptionsSchema, type BackgroundOptions } from './background-options.ts';

export type { BackgroundOptions } from './background-options.ts';

/** The background plugin's definition (default export), validated by the host before streams start. */
export default defineFramePlugin<BackgroundOptions>({
  name: 'background',
  version: '0.1.0',
  description: 'Segments people and replaces the background with a colour, a blur or an image.',
  optionsSchema: backgroundOptionsSchema,
  models: ['selfie', 'selfie-landscape'],
  isPassthrough: (options) => options.mode === 'none',
  workerModule: siblingModuleUrl(import.meta.url, 'background-worker'),
});
