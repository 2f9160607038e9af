/**
 * Runs the real ffmpeg for plugin tests (raw video conversions through files or pipes).
 */
import { execFile, spawnSync } from 'node:child_process';

/** hasFfmpeg is true when an `ffmpeg` binary is on PATH. */
export const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

/** ffmpeg runs `ffmpeg -v error -nostdin <args>` with optional stdin bytes and resolves to stdout; rejects with stderr on failure. */
export function ffmpeg(args: string[], input?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('ffmpeg', ['-v', 'error', '-nostdin', ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ffmpeg ${args.join(' ')} failed: ${stderr.toString()}`, { cause: error }));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
