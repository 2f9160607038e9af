/**
 * The project's root folder (the one holding package.json), found from this module's own location,
 * so the same code works from the TypeScript sources (`server/...`, run with tsx) and from the
 * compiled JavaScript (`dist/server/...`, what `npm start` runs).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

/** PROJECT_ROOT is the absolute path of the folder holding package.json. */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
