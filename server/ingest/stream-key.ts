/**
 * Stream keys and paths: what a publisher may name a stream, checked before anything touches disk.
 */

/** STREAM_APP is the RTMP application publishers push to (`rtmp://host/live/<key>`). */
export const STREAM_APP = 'live';
/** OUTPUT_PREFIX starts the name of every processed output: `live/stream-<key>`. */
export const OUTPUT_PREFIX = 'stream-';
/** MAX_STREAM_KEY_LENGTH bounds a key, in characters. */
export const MAX_STREAM_KEY_LENGTH = 128;

const KEY_PATTERN = /^[A-Za-z0-9_-]+$/;

/** isValidStreamKey: 1..128 of A-Z a-z 0-9 _ - (no dots, slashes, escapes or unicode). */
export function isValidStreamKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_STREAM_KEY_LENGTH && KEY_PATTERN.test(key);
}

/** isOutputName is true for a processed output's name (`stream-<key>`), never processed again. */
export function isOutputName(name: string): boolean {
  return name.startsWith(OUTPUT_PREFIX);
}

/** outputName gives the processed output's name for a stream key. */
export function outputName(key: string): string {
  return OUTPUT_PREFIX + key;
}

/** keyOfOutput is the stream key of a processed output name: `stream-demo` -> `demo`. */
export function keyOfOutput(name: string): string {
  return name.slice(OUTPUT_PREFIX.length);
}
