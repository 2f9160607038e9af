/**
 * The frame plugins this server ships, by name. Add a plugin here to make it configurable.
 */
import type { FramePluginDefinition } from './plugin-api.ts';
import background from './background/index.ts';
import faces from './faces/index.ts';

/** FRAME_PLUGINS maps a plugin name to its definition. */
export const FRAME_PLUGINS: Readonly<Record<string, FramePluginDefinition<any>>> = {
  [background.name]: background as FramePluginDefinition<any>,
  [faces.name]: faces as FramePluginDefinition<any>,
};
