/**
 * Who is at the other end of a loopback TCP connection, read from Linux's /proc: lets the server
 * know that a connection comes from one of its own child processes (the encoders publishing
 * `live/stream-<key>`) without handing them a secret that `ps` would show every local user.
 *
 * The client's end of the connection is found in /proc/net/tcp{,6} (its local port is the
 * server-side socket's remote port, its remote port our listening port), which gives the socket's
 * inode; a process holds that socket when one of its /proc/<pid>/fd links reads `socket:[inode]`.
 *
 * Chosen over handing ffmpeg the token another way: ffmpeg 5.1 (Debian 12's) reads an output URL
 * and its RTMP options only from its arguments (no environment variable or file for them; reading
 * option values from files came in later ffmpeg releases and does not cover the tee muxer's output
 * list), and a secret that does not exist cannot leak.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/** /proc/net/tcp state of an established connection. */
const TCP_ESTABLISHED = '01';

/** socketOwnerCheckAvailable is true where /proc shows sockets and child processes (Linux). */
export function socketOwnerCheckAvailable(): boolean {
  return existsSync('/proc/net/tcp') && existsSync(`/proc/${process.pid}/fd`);
}

/** clientSocketInodes are the inodes of the client ends of connections from `clientPort` to `serverPort`. */
function clientSocketInodes(clientPort: number, serverPort: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_ESTABLISHED) continue;
      const local = parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16);
      const remote = parseInt(f[2].slice(f[2].lastIndexOf(':') + 1), 16);
      if (local === clientPort && remote === serverPort && f[9] !== '0') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** childProcessIds lists this process's children (every thread's /proc children list; a scan of /proc where the kernel lacks it). */
function childProcessIds(): number[] {
  const tasks = `/proc/${process.pid}/task`;
  try {
    const tids = readdirSync(tasks);
    if (existsSync(`${tasks}/${tids[0]}/children`)) {
      return tids.flatMap((tid) => {
        try { return readFileSync(`${tasks}/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
      });
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) out.push(Number(entry));
    } catch {
      // the process ended while we read /proc
    }
  }
  return out;
}

/**
 * socketFromChildProcess is true when the peer of `socket` (an accepted loopback connection) is a
 * socket held by a child process of this server; false for any other peer, a non-loopback one, or
 * where /proc cannot tell (it never throws).
 */
export function socketFromChildProcess(socket: Socket): boolean {
  if (!socket.remoteAddress || !LOOPBACK.has(socket.remoteAddress) || !socket.remotePort || !socket.localPort) return false;
  try {
    const inodes = clientSocketInodes(socket.remotePort, socket.localPort);
    if (inodes.size === 0) return false;
    const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
    for (const pid of childProcessIds()) {
      let fds: string[];
      try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
      for (const fd of fds) {
        try {
          if (wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
        } catch {
          // the fd closed while we read it
        }
      }
    }
  } catch {
    return false;
  }
  return false;
}
