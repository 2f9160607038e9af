/**
 * Test helpers around the real ffmpeg and ffprobe: a looping publisher, probing, frame grabs.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Publisher is an ffmpeg process pushing to RTMP. */
export interface Publisher {
  child: ChildProcess;
  /** stop ends it (SIGINT, then SIGKILL after 3 s) and resolves on exit. */
  stop(): Promise<void>;
  stderr(): string;
}

/** hasExited tells whether a publisher's ffmpeg has exited (with a code or on a signal). */
export function hasExited(p: Pick<Publisher, 'child'>): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

/**
 * publish runs `ffmpeg -re <inputArgs> <encodeArgs> -f flv <url>`; by default it loops a file
 * (`-stream_loop -1 -i file`) and re-encodes to H.264 (+AAC if the input has audio) with a 1 s GOP.
 */
export function publish(url: string, inputArgs: string[], encodeArgs = ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '30', '-c:a', 'aac']): Publisher {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', ...inputArgs, ...encodeArgs, '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    child,
    stderr: () => err,
    async stop() {
      if (!hasExited({ child })) child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** ProbeStream is one stream as ffprobe reports it. */
export interface ProbeStream { codec_type: string; codec_name: string; width?: number; height?: number }

/** probe runs ffprobe on a URL or file and returns its streams and format duration (s). */
export async function probe(url: string, timeoutMs = 15000): Promise<{ streams: ProbeStream[]; duration?: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rw_timeout', String(timeoutMs * 1000), '-show_entries',
    'stream=codec_type,codec_name,width,height:format=duration', '-of', 'json', url], { timeout: timeoutMs });
  const parsed = JSON.parse(stdout) as { streams: ProbeStream[]; format?: { duration?: string } };
  return { streams: parsed.streams, duration: parsed.format?.duration ? Number(parsed.format.duration) : undefined };
}

/** grabFrameRgb decodes one frame (after skipping `skipFrames`) of a URL to packed RGB24. */
export async function grabFrameRgb(url: string, width: number, height: number, skipFrames = 0, timeoutMs = 20000): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-rw_timeout', String(timeoutMs * 1000), '-i', url,
    '-vf', `select=gte(n\\,${skipFrames}),scale=${width}:${height}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
  { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
  return stdout as unknown as Buffer;
}
