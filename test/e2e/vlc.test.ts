/**
 * Issue #3: a common desktop player, VLC, plays the processed RTMP output. cvlc runs headless and
 * transcodes what it plays to a file, which proves it demuxed and decoded our FLV, H.264 and AAC.
 *
 * Debian's VLC refuses to run as root ("VLC is not supposed to be run as root"; vlc-wrapper only
 * drops set-uid rights back to the real user, which is root too), so as root it runs as `nobody`
 * through util-linux `setpriv`. RTMP needs no extra Debian package: VLC 3 reads rtmp:// through
 * libavformat (the avio access module in vlc-plugin-base).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor, type ServerProcess } from '../helpers/server-process.ts';
import { publish, probe, type Publisher } from '../helpers/ffmpeg-tools.ts';
import { uniqueKey, startServerOnFreePorts } from '../helpers/e2e-media.ts';

const run = promisify(execFile);
const CVLC = '/usr/bin/cvlc';
const isRoot = process.getuid?.() === 0;

function hasSetpriv(): boolean {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip: string | false = !existsSync(CVLC)
  ? `${CVLC} is absent (Debian: apt-get install vlc-bin vlc-plugin-base)`
  : isRoot && !hasSetpriv() ? 'running as root and setpriv (util-linux) is absent, so VLC cannot drop to an unprivileged user' : false;

const PLAY_S = 4;
const FPS = 25;

let server: ServerProcess | undefined;
let publisher: Publisher | undefined;
let workDir = '';

before(async () => {
  if (skip) return;
  workDir = mkdtempSync(join(tmpdir(), 'vlc-e2e-'));
  // VLC may run as nobody: it needs to write its output and its ~/.local state here.
  chmodSync(workDir, 0o777);
  server = await startServerOnFreePorts();
});

after(async () => {
  await publisher?.stop();
  await server?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Runs cvlc (as nobody when we are root) and resolves with its exit code and stderr. */
function cvlc(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  const [cmd, argv] = isRoot
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', CVLC, ...args]]
    : [CVLC, args];
  const child = spawn(cmd, argv, { env: { ...process.env, HOME: workDir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.once('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); }));
}

test('cvlc plays rtmp://…/live/stream-<key> headless', { skip, timeout: 90000 }, async (t) => {
  const s = server!;
  const key = uniqueKey('vlc');
  publisher = publish(`${s.rtmpBase}/${key}`, ['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${FPS}`, '-re', '-f', 'lavfi', '-i', 'sine=f=440:sample_rate=44100'],
    ['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS), '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
  const pub = publisher;
  const url = `${s.rtmpBase}/stream-${key}`;
  const publishedAt = Date.now();
  await waitFor('the processed output', async () => {
    assert.equal(pub.child.exitCode, null, `publisher exited: ${pub.stderr()}`);
    const info = await probe(url, 8000);
    return info.streams.some((x) => x.codec_type === 'video') && info.streams.some((x) => x.codec_type === 'audio');
  }, 60000, 500);
  t.diagnostic(`time to first output: ${Date.now() - publishedAt} ms`);

  const out = join(workDir, 'vlc.ts');
  const started = Date.now();
  const vlc = await cvlc(['--intf', 'dummy', '--vout', 'dummy', '--aout', 'dummy', '--no-plugins-cache', '--play-and-exit',
    '--run-time', String(PLAY_S), '--sout', `#transcode{vcodec=mp2v,vb=800,acodec=mpga,ab=128}:std{access=file,mux=ts,dst=${out}}`, url], 30000);
  t.diagnostic(`cvlc exited ${vlc.code} after ${Date.now() - started} ms`);
  assert.equal(vlc.code, 0, `cvlc failed: ${vlc.stderr.slice(-1500)}`);
  // VLC reports an unopenable input on stderr and still exits 0 with --play-and-exit.
  assert.doesNotMatch(vlc.stderr, /can't be opened|access error|unknown protocol|no suitable (access|demux)/i, vlc.stderr.slice(-1500));
  assert.ok(existsSync(out), `cvlc wrote no output: ${vlc.stderr.slice(-1500)}`);

  // What VLC decoded and re-encoded: MPEG-2 video at our size and MPEG audio, for most of the run.
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries',
    'stream=codec_type,codec_name,width,height,nb_read_frames', '-of', 'json', out]);
  const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames?: string }[] }).streams;
  const video = streams.find((x) => x.codec_type === 'video');
  const audio = streams.find((x) => x.codec_type === 'audio');
  t.diagnostic(`VLC output: ${JSON.stringify(streams)}`);
  assert.deepEqual([video?.codec_name, video?.width, video?.height], ['mpeg2video', 320, 240]);
  assert.ok(Number(video?.nb_read_frames) >= FPS * (PLAY_S - 1.5), `VLC decoded only ${video?.nb_read_frames} video frames in ${PLAY_S} s`);
  assert.equal(audio?.codec_name, 'mp2', 'VLC decoded the AAC audio');
  assert.ok(Number(audio?.nb_read_frames) > 0);
});
