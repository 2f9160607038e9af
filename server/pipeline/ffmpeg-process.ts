/**
 * One ffmpeg child process: spawned with extra pipes, its stderr kept in a small ring for error
 * messages, its exit observable as a promise, and killed for sure on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

const STDERR_LINES = 20;

/**
 * ffmpegEnv is the server's environment without MALLOC_MMAP_THRESHOLD_, which npm start's launcher
 * (scripts/run-server.sh) sets for the server alone. ffmpeg allocates a new 1.4 MB packet for each
 * 720p YUV4MPEG2 frame it reads; with that threshold each one would be a fresh mapping, measured at
 * +0.8 ms of CPU per frame (page faults) in the encoder.
 */
function ffmpegEnv(): NodeJS.ProcessEnv {
  const { MALLOC_MMAP_THRESHOLD_: _serverOnly, ...env } = process.env;
  return env;
}

/** FfmpegExit is how an ffmpeg process ended. */
export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines ffmpeg wrote to stderr. */
  stderrTail: string;
}

/** FfmpegProcess wraps a spawned ffmpeg with `extraPipes` additional fds (3, 4, ...). */
export class FfmpegProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<FfmpegExit>;
  private readonly stderrLines: string[] = [];
  private partial = '';

  /**
   * @param stdoutFd when set, the child's stdout is this fd (e.g. a FIFO's write end, see
   *   frame-fifo.ts) instead of a pipe, and `stdout` is unavailable.
   */
  constructor(ffmpegPath: string, args: string[], extraPipes: number, stdoutFd?: number) {
    const stdio: ('pipe' | number)[] = Array.from({ length: 3 + extraPipes }, () => 'pipe');
    if (stdoutFd !== undefined) stdio[1] = stdoutFd;
    this.child = spawn(ffmpegPath, args, { stdio, env: ffmpegEnv() });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => this.keepStderr(text));
    // A child that dies closes our pipe ends under us; writes then fail with EPIPE, which the exit handles.
    for (const s of this.child.stdio) s?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.keepStderr(`spawn failed: ${err.message}\n`);
      });
      this.child.once('close', (code, signal) => resolve({ code, signal, stderrTail: this.stderrTail() }));
    });
  }

  /** pid of the child, if it started. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** running is true until the process has exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** stdin of the child. */
  get stdin(): Writable {
    return this.child.stdin!;
  }

  /** stdout of the child (null when it was given a `stdoutFd`). */
  get stdout(): Readable | null {
    return this.child.stdout;
  }

  /** pipe returns the child's fd `n` (3 and up) as a stream. */
  pipe(n: number): Readable & Writable {
    return this.child.stdio[n] as Readable & Writable;
  }

  /** stderrTail gives the last stderr lines, joined. */
  stderrTail(): string {
    return [...this.stderrLines, this.partial].filter(Boolean).join('\n');
  }

  /** stop ends stdin so ffmpeg finishes cleanly, then SIGKILLs it after `graceMs`. */
  async stop(graceMs = 3000): Promise<FfmpegExit> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** kill sends SIGKILL if the process is still running. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  private keepStderr(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      this.stderrLines.push(line);
      if (this.stderrLines.length > STDERR_LINES) this.stderrLines.shift();
    }
  }
}
