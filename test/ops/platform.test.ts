/**
 * The platform the project declares (issue #19, platform): the Node range in package.json's
 * `engines` holds the running Node and lies inside every locked dependency's own range (what
 * npm's EBADENGINE warning checks, for every Node we declare rather than only this one), npm reads
 * no unknown project config, and `allowScripts` decides every locked install script (npm 11 warns
 * about the others; a later npm will not run them).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/server-process.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
/** The two functions of the semver package (npm's own range semantics) used here. */
const semver = require('semver') as {
  satisfies(version: string, range: string): boolean;
  subset(sub: string, sup: string): boolean;
};

interface LockEntry { version?: string; optional?: boolean; hasInstallScript?: boolean; engines?: { node?: string } | string[]; os?: string[]; cpu?: string[] }
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines?: { node?: string }; allowScripts?: Record<string, unknown>; overrides?: Record<string, unknown>;
};
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
/** Locked packages (not the root), by path in node_modules, with their package names. */
const locked = Object.entries(lock.packages).filter(([path]) => path !== '')
  .map(([path, entry]) => ({ path, name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), entry }));
/** installsHere is false for a package npm skips on this machine's os or cpu (a platform binary for another one). */
const installsHere = ({ os, cpu }: LockEntry) => [[os, process.platform], [cpu, process.arch]].every(([list, mine]) =>
  !list || (list as string[]).length === 0 || ((list as string[]).includes(mine as string) || ((list as string[]).every((v) => v.startsWith('!')) && !(list as string[]).includes(`!${mine}`))));
const npmMajor = Number((await run('npm', ['--version'], { cwd: REPO_ROOT })).stdout.split('.')[0]);

describe('Node versions', () => {
  const declared = pkg.engines?.node ?? '';

  it('package.json declares a bounded range of Node versions that holds the running Node', () => {
    assert.ok(declared, 'engines.node is set');
    assert.ok(!semver.satisfies('99.0.0', declared), `engines.node '${declared}' is bounded: it claims only Node lines that are tested`);
    assert.ok(semver.satisfies(process.version, declared), `Node ${process.version} is outside engines.node '${declared}'`);
  });

  it('every locked dependency installed on this platform supports every declared Node version (no EBADENGINE on any of them)', () => {
    const narrower = locked.filter(({ entry }) => installsHere(entry) && !Array.isArray(entry.engines) && entry.engines?.node)
      .filter(({ entry }) => !semver.subset(declared, (entry.engines as { node: string }).node))
      .map(({ path, entry }) => `${path}@${entry.version} needs node ${(entry.engines as { node: string }).node}`);
    assert.deepEqual(narrower, [], `engines.node '${declared}' is wider than these dependencies allow (pin older versions in overrides)`);
  });
});

describe('npm configuration', () => {
  it('npm reads no unknown project config (.npmrc)', async () => {
    const npmrc = join(REPO_ROOT, '.npmrc');
    if (existsSync(npmrc)) assert.doesNotMatch(readFileSync(npmrc, 'utf8'), /onnxruntime-node-install/, 'onnxruntime-node-install is not an npm config');
    const { stderr } = await run('npm', ['config', 'get', 'registry'], { cwd: REPO_ROOT });
    assert.doesNotMatch(stderr, /Unknown (project|user|env|cli) config/, stderr);
  });

  it('allowScripts decides every locked install script with a boolean, and names nothing that is not locked', () => {
    const allow = pkg.allowScripts ?? {};
    const nameOf = (spec: string) => spec.replace(/(.)@[^@]*$/, '$1');
    for (const [spec, value] of Object.entries(allow)) assert.equal(typeof value, 'boolean', `allowScripts['${spec}'] is true or false`);
    const withScripts = locked.filter(({ entry }) => entry.hasInstallScript);
    const undecided = withScripts.filter(({ name, entry }) => !(name in allow) && !(`${name}@${entry.version}` in allow)).map(({ name }) => name);
    assert.deepEqual(undecided, [], 'install scripts allowScripts does not decide');
    const stale = Object.keys(allow).filter((spec) => !withScripts.some(({ name }) => name === nameOf(spec)));
    assert.deepEqual(stale, [], 'allowScripts entries for packages without a locked install script');
  });

  it('allows only the install scripts the project needs', () => {
    const allow = pkg.allowScripts ?? {};
    // better-sqlite3 builds (or fetches) its native binding in its install script.
    assert.equal(allow['better-sqlite3'], true);
    // onnxruntime-node's postinstall downloads the CUDA execution provider (we run on the CPU);
    // esbuild's only checks and links its binary, which its platform package brings.
    assert.equal(allow['onnxruntime-node'], false);
    assert.equal(allow.esbuild, false);
    // core-js (under @tensorflow/tfjs, which only the face-embed fidelity test loads) prints a funding banner.
    assert.equal(allow['core-js'], false);
  });

  it('npm itself finds no install script that allowScripts leaves undecided', { skip: npmMajor < 11 ? `npm ${npmMajor} has no install-script policy` : false }, async () => {
    const { stdout, stderr } = await run('npm', ['approve-scripts', '--allow-scripts-pending'], { cwd: REPO_ROOT });
    assert.doesNotMatch(stdout + stderr, /not yet covered/, stdout + stderr);
  });

  it('what the denied and approved scripts did is not needed or is there: better-sqlite3 opens a database, esbuild transforms', async () => {
    const Database = require('better-sqlite3') as new (path: string) => { prepare(sql: string): { get(): unknown }; close(): void };
    const db = new Database(':memory:');
    assert.deepEqual(db.prepare('select 1 + 1 as two').get(), { two: 2 });
    db.close();
    const esbuild = require('esbuild') as { transform(code: string, options: object): Promise<{ code: string }> };
    assert.match((await esbuild.transform('const x: number = 1', { loader: 'ts' })).code, /const x = 1/);
  });

  it('every place that runs npm ci tells onnxruntime-node\'s script to skip (npm before 11 runs every install script)', () => {
    const docker = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.ok(docker.indexOf('ENV ONNXRUNTIME_NODE_INSTALL=skip') >= 0 && docker.indexOf('ENV ONNXRUNTIME_NODE_INSTALL=skip') < docker.indexOf('RUN npm ci'), 'Dockerfile');
    const ci = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');
    assert.ok(ci.indexOf('export ONNXRUNTIME_NODE_INSTALL=skip') >= 0 && ci.indexOf('export ONNXRUNTIME_NODE_INSTALL=skip') < ci.indexOf('npm ci'), '.ci/run');
    assert.match(readFileSync(join(REPO_ROOT, 'scripts/ensure-ready.mjs'), 'utf8'), /ONNXRUNTIME_NODE_INSTALL: 'skip'/, 'scripts/ensure-ready.mjs');
  });
});
