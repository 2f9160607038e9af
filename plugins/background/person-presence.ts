/**
 * People in view, from the segmentation mask: the background plugin reports one `person`
 * detection per frame while the mask shows someone (the box around every pixel at or above the
 * threshold), with a track id that lasts while people stay in view and survives short gaps (the
 * mask flickering off for up to PRESENCE_HOLD_FRAMES frames). The selfie model does not tell
 * people apart, so one track stands for everyone in view: "a person appears, a person leaves".
 */
import type { Detection, PixelBox } from '../plugin-api.ts';

/** PersonPresence is a stream's presence track, carried in the plugin state. */
export interface PersonPresence {
  /** Current track id (0: nobody in view). */
  trackId: number;
  /** Next track id to hand out. */
  nextId: number;
  /** Frames the current track was seen on. */
  frames: number;
  /** Frames since the mask last showed someone. */
  missed: number;
  /** The last detection (repeated while load shedding reuses the mask). */
  last: Detection | null;
}

/** Share of the mask's pixels that must be person for someone to be in view (1%). */
export const MIN_PERSON_FRACTION = 0.01;
/** Frames the mask may show nobody before the track ends (0.5 s at 30 fps). */
export const PRESENCE_HOLD_FRAMES = 15;
/** Frames seen before the track counts as confirmed. */
export const PRESENCE_CONFIRM_FRAMES = 3;

/**
 * updatePresence reads the smoothed confidence mask (`width` x `height`, 0..1, row-major) of a
 * frame of `frameWidth` x `frameHeight` px and returns the new presence with this frame's person
 * detection (box in frame px, score = mean confidence of the person pixels), or null when nobody is in view.
 */
export function updatePresence(mask: Float32Array, width: number, height: number, frameWidth: number, frameHeight: number, threshold: number, previous: PersonPresence | undefined): { presence: PersonPresence; detection: Detection | null } {
  const p: PersonPresence = previous ?? { trackId: 0, nextId: 1, frames: 0, missed: 0, last: null };
  let count = 0, sum = 0, x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const c = mask[row + x]!;
      if (c < threshold) continue;
      count++;
      sum += c;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (count < MIN_PERSON_FRACTION * width * height) {
    const missed = p.missed + 1;
    if (p.trackId === 0 || missed > PRESENCE_HOLD_FRAMES) return { presence: { ...p, trackId: 0, frames: 0, missed, last: null }, detection: null };
    return { presence: { ...p, missed, last: null }, detection: null };
  }
  const trackId = p.trackId === 0 ? p.nextId : p.trackId;
  const frames = p.trackId === 0 ? 1 : p.frames + 1;
  const sx = frameWidth / width, sy = frameHeight / height;
  const box: PixelBox = { x: x0 * sx, y: y0 * sy, width: (x1 - x0 + 1) * sx, height: (y1 - y0 + 1) * sy };
  const detection: Detection = { kind: 'person', trackId, score: sum / count, box, confirmed: frames >= PRESENCE_CONFIRM_FRAMES, detected: true };
  return { presence: { trackId, nextId: p.trackId === 0 ? p.nextId + 1 : p.nextId, frames, missed: 0, last: detection }, detection };
}
