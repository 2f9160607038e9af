import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFfmpegPath, STREAM_FFMPEG_PATH } from '../../../server/pipeline/ffmpeg-path.ts';
import { MediaServerError } from '../../../server/errors.ts';

test('the configured ffmpegPath wins; one that is not executable is ERR_FFMPEG_MISSING', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ffmpeg-path-'));
  try {
    const configured = join(dir, 'my-ffmpeg');
    writeFileSync(configured, '#!/bin/sh\n');
    chmodSync(configured, 0o755);
    assert.equal(resolveFfmpegPath(configured, STREAM_FFMPEG_PATH), configured);
    assert.throws(() => resolveFfmpegPath(join(dir, 'absent')), (err: unknown) => err instanceof MediaServerError && err.code === 'ERR_FFMPEG_MISSING');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unconfigured: the stream ffmpeg when built, else ffmpeg on PATH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ffmpeg-path-'));
  try {
    const built = join(dir, 'ffmpeg');
    const onPath = execFileSync('sh', ['-c', 'command -v ffmpeg']).toString().trim();
    assert.equal(resolveFfmpegPath('', built), onPath, 'no build there: ffmpeg on PATH');
    writeFileSync(built, '#!/bin/sh\n');
    chmodSync(built, 0o755);
    assert.equal(resolveFfmpegPath('', built), built);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the stream ffmpeg (when built) is the Debian ffmpeg version on this machine', { skip: !existsSync(STREAM_FFMPEG_PATH) && 'not built here (npm run build:ffmpeg)' }, () => {
  assert.equal(resolveFfmpegPath(), STREAM_FFMPEG_PATH);
  const built = readFileSync(join(STREAM_FFMPEG_PATH, '..', 'VERSION'), 'utf8').trim();
  const versionLine = execFileSync(STREAM_FFMPEG_PATH, ['-hide_banner', '-version']).toString().split('\n')[0]!;
  assert.ok(versionLine.includes(`livematte-${built}`), versionLine);
  // A Debian security update to ffmpeg makes the build stale: npm start rebuilds it when it can.
  const debian = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'ffmpeg']).toString().trim();
  assert.equal(built, debian, 'build/ffmpeg is older than the installed Debian ffmpeg: npm run build:ffmpeg');
});
