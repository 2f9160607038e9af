/**
 * The `background` frame plugin: segments people (MediaPipe selfie segmentation) and replaces the
 * background with a colour, a halo-free blur of the frame, or an image.
 */
import { defineFramePlugin, siblingModuleUrl } from '../plugin-api.ts';
import { backgroundOptionsSchema, backgroundSettingsSchema, type BackgroundOptions, type BackgroundSettings } from './background-options.ts';
import { backgroundFromQuery, listBackgroundImages, prepareBackground } from './background-images.ts';

export type { BackgroundOptions } from './background-options.ts';

/** The background plugin's definition (default export), validated by the host before streams start. */
export default defineFramePlugin<BackgroundOptions>({
  name: 'background',
  version: '0.2.0',
  description: 'Segments people and replaces the background with a colour, a blur or an image.',
  optionsSchema: backgroundOptionsSchema,
  settingsSchema: backgroundSettingsSchema as never,
  internalOptions: ['imagePath'],
  models: ['selfie', 'selfie-landscape'],
  isPassthrough: (options) => options.mode === 'none',
  // A failed frame leaves as decoded: the background shows, nothing is exposed that the plugin hides.
  failurePolicy: 'pass-through',
  fromQuery: backgroundFromQuery,
  prepare: (options, host) => prepareBackground(options, (host.settings as unknown as BackgroundSettings).imagesDir) as never,
  describe: async (host) => ({ images: await listBackgroundImages((host.settings as unknown as BackgroundSettings).imagesDir) }),
  legacyName: 'background',
  gauges: { people: 'Whether the segmentation shows someone on the stream\'s last processed frame (1) or nobody (0).' },
  cliFlags: [
    { flags: '--bg <mode>', description: 'default background: color | blur | image | none', option: 'mode' },
    { flags: '--bg-color <rrggbb>', description: 'default background colour', option: 'color' },
    { flags: '--bg-image <name>', description: 'default background image name (in plugins.background.imagesDir)', option: 'image' },
  ],
  workerModule: siblingModuleUrl(import.meta.url, 'background-worker'),
});
