/**
 * The `faces` frame plugin: finds faces (MediaPipe BlazeFace short or full range), tracks them
 * across frames, and blurs, pixelates, fills or marks them. It fails closed: a frame it could not
 * finish leaves with its faces filled, or wholly covered, never in the clear. With recognition
 * (`recognise`, or `anonymise: unknown`) it embeds tracked faces (dlib's descriptor) and matches
 * them against the enrolled people (the host's shared `gallery`), so enrolled people can stay
 * visible and be named while everyone else stays hidden.
 */
import { defineFramePlugin, siblingModuleUrl } from '../plugin-api.ts';
import { facesFromQuery, facesOptionsSchema, facesSettingsSchema, type FacesOptions, type FacesSettings, type PreparedFacesOptions } from './faces-options.ts';

export type { FacesOptions, FacesSettings } from './faces-options.ts';

/** The faces plugin's definition (default export), validated by the host before streams start. */
export default defineFramePlugin<FacesOptions>({
  name: 'faces',
  version: '0.1.0',
  description: 'Detects and tracks faces and anonymises them (blur, pixelate, box), or marks them; recognises enrolled people (anonymise everyone but them).',
  optionsSchema: facesOptionsSchema,
  models: ['face-short', 'face-full', 'face-embed'],
  // The embedder (~70-100 MB per worker thread once open) only for streams that recognise.
  modelsFor: (options) => [options.model === 'short' ? 'face-short' : 'face-full', ...(options.recognise || options.anonymise === 'unknown' ? ['face-embed'] : [])],
  settingsSchema: facesSettingsSchema as never,
  prepare: (options, host) => ({ ...options, ...(host.settings as unknown as FacesSettings) } satisfies PreparedFacesOptions),
  failurePolicy: 'fail-closed',
  fromQuery: facesFromQuery,
  cliFlags: [{ flags: '--faces <mode>', description: 'default faces mode (when the plugin is in the chain): blur | pixelate | box | mark | detect', option: 'mode' }],
  gauges: { faces: 'Confirmed face tracks in view on the stream\'s last processed frame.' },
  workerModule: siblingModuleUrl(import.meta.url, 'faces-worker'),
});
