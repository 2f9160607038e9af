// face-media.ts: where the face tests find the shared footage, and the reason to skip without it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SHARED_MEDIA } from '../helpers/server-process.ts';

/**
 * FACE_MEDIA_DIR is the footage folder: $LIVE_MATTE_MEDIA_DIR if set (a git worktree has no
 * ../shared beside it), else ../shared/media beside the repository.
 */
export const FACE_MEDIA_DIR = process.env.LIVE_MATTE_MEDIA_DIR?.trim() || SHARED_MEDIA;

/** faceMedia is the absolute path of a clip in {@link FACE_MEDIA_DIR}. */
export const faceMedia = (name: string): string => path.join(FACE_MEDIA_DIR, name);

/** faceMediaSkip is false when every named clip exists, else the reason to skip (for `describe(..., { skip })`). */
export function faceMediaSkip(...names: string[]): string | false {
  const missing = names.filter((n) => !existsSync(faceMedia(n)));
  return missing.length === 0
    ? false
    : `test media absent: ${missing.join(', ')} not in ${FACE_MEDIA_DIR} (see ../shared/media/SOURCES.md; set LIVE_MATTE_MEDIA_DIR to another folder)`;
}
