import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** repoRoot is the absolute path of the repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** sharedDir holds the test media and the oracle model: $LIVE_MATTE_SHARED_DIR if set, else ../shared beside the repository root, else ../../shared (a git worktree one folder deeper, e.g. wt/<name>/). */
export const sharedDir =
  process.env.LIVE_MATTE_SHARED_DIR ?? [path.resolve(repoRoot, '..', 'shared'), path.resolve(repoRoot, '..', '..', 'shared')].find((d) => existsSync(d)) ?? path.resolve(repoRoot, '..', 'shared');

/** mediaDir holds the real test footage (see ../shared/media/SOURCES.md). */
export const mediaDir = path.join(sharedDir, 'media');

/** oracleModelPath is the reference ONNX used only by tests to check the converter. */
export const oracleModelPath = path.join(sharedDir, 'reference', 'selfie_segmentation.onnx');

/** mediaSkipReason is false when ../shared/media exists, else a message for `test(..., { skip })`. */
export const mediaSkipReason: string | false = existsSync(mediaDir) ? false : `test media folder ${mediaDir} is absent (see ../shared/media/SOURCES.md)`;

/** oracleSkipReason is false when media and the oracle model exist, else a message for `test(..., { skip })`. */
export const oracleSkipReason: string | false =
  mediaSkipReason || (existsSync(oracleModelPath) ? false : `oracle model ${oracleModelPath} is absent (see ../shared/reference/README.md)`);

/** extractFrame decodes the frame at `atSec` of a clip in mediaDir to an RGB PNG at `outPath` with ffmpeg (exact seek after -i, works for GIF); rejects if ffmpeg fails. */
export async function extractFrame(file: string, atSec: number, outPath: string): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', path.join(mediaDir, file), '-ss', String(atSec), '-frames:v', '1', '-pix_fmt', 'rgb24', outPath], {
    timeout: 60_000,
  });
  return outPath;
}
