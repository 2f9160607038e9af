// Makes `npm start` and `npm test` work on a fresh clone: installs the locked dependencies when
// node_modules is missing or older than package-lock.json, then builds any missing or stale
// model (models/build.ts skips models whose hashes already match), and the stream ffmpeg when the
// machine has its build tools (scripts/build-ffmpeg.sh --if-possible: else a one-line hint). With
// `--compile` (npm start) it also compiles server/, plugins/ and models/ to dist/ when a source is
// newer than the last compile (tsconfig.build.json). Plain JS: runs before tsx exists.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('installing dependencies (npm ci)...\n');
  // allowScripts (package.json) denies onnxruntime-node's CUDA download; npm before 11 runs every
  // install script, so the script is also told to skip.
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env: { ONNXRUNTIME_NODE_INSTALL: 'skip', ...process.env } });
} else {
  execFileSync(process.execPath, ['--import', 'tsx', join(root, 'models', 'build.ts')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

if (process.platform === 'linux') {
  try {
    execFileSync('bash', [join(root, 'scripts', 'build-ffmpeg.sh'), '--if-possible'], { cwd: root, stdio: 'inherit' });
  } catch {
    // The script printed why; the server runs Debian's ffmpeg (or a stream ffmpeg built before).
    process.stderr.write('the stream ffmpeg was not built; the server runs an earlier build if there is one, else ffmpeg on PATH\n');
  }
}

/** newestMtimeMs is the latest modification time of a .ts file under `dir` (0 when none). */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'build' && entry.name !== 'node_modules') newest = Math.max(newest, newestMtimeMs(path));
    else if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

if (process.argv.includes('--compile')) {
  const stamp = join(root, 'dist', '.tsbuildinfo');
  const sources = Math.max(...['server', 'plugins', 'models'].map((d) => newestMtimeMs(join(root, d))), statSync(join(root, 'tsconfig.build.json')).mtimeMs);
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < sources) {
    process.stderr.write('compiling the server to dist/ (tsc -p tsconfig.build.json)...\n');
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
    const now = new Date();
    utimesSync(stamp, now, now); // tsc leaves it alone when no output changed
  }
}
