/**
 * A named pipe (FIFO) that carries a child's frame output into memory Node chooses, read by a
 * `net.Socket` with the `onread` option: no chunk Buffer per read, no copy from chunks into frames.
 *
 * A child's ordinary stdout pipe hands Node a new 64 KiB Buffer per read; at 1280x720 I420 30 fps
 * that is ~21 Buffers and 41 MB per second and stream, all garbage, which kept the main thread's
 * garbage collector busy. With a FIFO the child writes to an inherited fd as it would to stdout,
 * and each read lands in the buffer `target()` returns (the rest of the current frame).
 *
 * The FIFO's name exists only while both ends are opened (it is created with mode 0600 in a
 * private temporary folder and unlinked at once), so nothing is left on disk.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** FrameFifo is an opened FIFO: give `writeFd` to the child, then call `read`. */
export interface FrameFifo {
  /** The write end, to pass as the child's stdout (`stdio[1]`); closed here after `read`. */
  writeFd: number;
  /**
   * read starts reading: each read fills (part of) `target()` and is reported to `onData`; `onEnd`
   * runs once when the child's end closes (exit or crash) or reading fails.
   */
  read(target: () => Uint8Array, onData: (n: number, buffer: Uint8Array) => void, onEnd: (error?: Error) => void): void;
  /** close stops reading and closes both ends (idempotent). */
  close(): void;
}

/**
 * openFrameFifo creates and opens a FIFO (the `mkfifo` program of coreutils).
 * @throws Error when FIFOs are not available here (the caller then uses an ordinary pipe).
 */
export function openFrameFifo(): FrameFifo {
  const dir = mkdtempSync(join(tmpdir(), 'live-matte-fifo-'));
  let readFd = -1;
  let writeFd = -1;
  try {
    const path = join(dir, 'frames');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    // The read end first and non-blocking (libuv wants it so); then the write end opens at once.
    readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    writeFd = openSync(path, constants.O_WRONLY);
  } catch (err) {
    if (readFd >= 0) closeSync(readFd);
    throw new Error(`cannot open a FIFO for frames: ${(err as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  let socket: Socket | undefined;
  let ownWriteFd = true;
  let closed = false;
  const closeWriteEnd = () => {
    if (ownWriteFd) {
      ownWriteFd = false;
      closeSync(writeFd);
    }
  };
  return {
    writeFd,
    read(target, onData, onEnd) {
      // The child holds its own copy of the write end; ours must go, or the reader never sees EOF.
      closeWriteEnd();
      let ended = false;
      const end = (error?: Error) => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      // `onread` is a documented option of `new net.Socket()` (Node >= 12.14) missing from its typings.
      const options: SocketConstructorOpts & { onread: OnReadOpts } = {
        fd: readFd,
        readable: true,
        writable: false,
        onread: { buffer: target, callback: (n: number, buffer: Uint8Array) => {
          onData(n, buffer);
          return true; // keep reading (false would pause the socket)
        } },
      };
      socket = new Socket(options);
      socket.on('end', () => end());
      socket.on('error', (err) => end(err));
      socket.on('close', () => end());
    },
    close() {
      if (closed) return;
      closed = true;
      closeWriteEnd();
      if (socket) socket.destroy();
      else closeSync(readFd);
    },
  };
}
