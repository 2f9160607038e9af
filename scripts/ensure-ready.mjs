// Makes `npm start` and `npm test` work on a fresh clone: installs the locked dependencies when
// node_modules is missing or older than package-lock.json, then builds any missing or stale
// model (models/build.ts skips models whose hashes already match). Plain JS: runs before tsx exists.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('installing dependencies (npm ci)...\n');
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
} else {
  execFileSync(process.execPath, ['--import', 'tsx', join(root, 'models', 'build.ts')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
