/**
 * Benchmark helper: CPU time and RSS of a process and all its descendants, from /proc (Linux).
 * CPU is utime+stime (+cutime+cstime, so that a child that exited and was reaped between two
 * samples is still counted in its parent), in seconds; RSS in bytes.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CLK_TCK and PAGE_SIZE from getconf (fallbacks 100 and 4096). */
function getconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}
export const CLK_TCK = getconf('CLK_TCK', 100);
export const PAGE_SIZE = getconf('PAGESIZE', 4096);

/** Role of a process in the server's tree, from its command line. */
export type Role = 'server' | 'decoder' | 'encoder' | 'other';

interface Stat { pid: number; ppid: number; utime: number; stime: number; cutime: number; cstime: number; rssPages: number }

function parseStat(text: string, pid: number): Stat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the comm: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17) ... rss(24).
  const f = text.slice(close + 2).split(' ');
  const at = (field: number) => Number(f[field - 3]);
  return { pid, ppid: at(4), utime: at(14), stime: at(15), cutime: at(16), cstime: at(17), rssPages: at(24) };
}

function readStat(path: string, pid: number): Stat | undefined {
  try {
    return parseStat(readFileSync(path, 'utf8'), pid);
  } catch {
    return undefined;
  }
}

function roleOf(pid: number, root: number): Role {
  if (pid === root) return 'server';
  let cmd = '';
  try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { /* gone */ }
  // Both speak YUV4MPEG2: the encoder is the one running libx264.
  if (cmd.includes('libx264')) return 'encoder';
  if (cmd.includes('yuv4mpegpipe')) return 'decoder';
  return 'other';
}

/** RoleFigures is CPU seconds, RSS bytes and process count of one role. */
export interface RoleFigures { cpuS: number; rssBytes: number; count: number }

/** TreeSample is one reading of a process tree. */
export interface TreeSample {
  at: number;
  cpuS: number;
  rssBytes: number;
  /**
   * Proportional set size of the tree (/proc/<pid>/smaps_rollup): shared pages (ffmpeg's and node's
   * libraries) divided among the processes mapping them, so adding PSS does not count them N times.
   */
  pssBytes: number;
  roles: Record<Role, RoleFigures>;
  /** CPU seconds of the root's main thread (tid == pid) alone; the rest of the root is worker/helper threads. */
  mainThreadCpuS: number;
}

/** readPssBytes returns a process's proportional set size, or 0 when it is gone or unreadable. */
function readPssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** sampleTree reads the root pid and all its live descendants now. */
export function sampleTree(root: number): TreeSample {
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(`/proc/${name}/stat`, Number(name));
    if (s) stats.set(s.pid, s);
  }
  const children = new Map<number, number[]>();
  for (const s of stats.values()) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const roles: Record<Role, RoleFigures> = {
    server: { cpuS: 0, rssBytes: 0, count: 0 }, decoder: { cpuS: 0, rssBytes: 0, count: 0 },
    encoder: { cpuS: 0, rssBytes: 0, count: 0 }, other: { cpuS: 0, rssBytes: 0, count: 0 },
  };
  const queue = stats.has(root) ? [root] : [];
  const treePids: number[] = [];
  while (queue.length) {
    const pid = queue.shift()!;
    treePids.push(pid);
    const s = stats.get(pid)!;
    const r = roles[roleOf(pid, root)];
    r.cpuS += (s.utime + s.stime + s.cutime + s.cstime) / CLK_TCK;
    r.rssBytes += s.rssPages * PAGE_SIZE;
    r.count += 1;
    queue.push(...(children.get(pid) ?? []));
  }
  let pssBytes = 0;
  for (const pid of treePids) pssBytes += readPssBytes(pid);
  const main = readStat(`/proc/${root}/task/${root}/stat`, root);
  const values = Object.values(roles);
  return {
    at: performance.now(),
    cpuS: values.reduce((a, r) => a + r.cpuS, 0),
    rssBytes: values.reduce((a, r) => a + r.rssBytes, 0),
    pssBytes,
    roles,
    mainThreadCpuS: main ? (main.utime + main.stime) / CLK_TCK : 0,
  };
}

/** TreeDelta is the CPU used between two samples, per role. */
export interface TreeDelta { seconds: number; cpuS: number; roles: Record<Role, number>; mainThreadCpuS: number }

/** diffTree subtracts two samples of the same tree. */
export function diffTree(a: TreeSample, b: TreeSample): TreeDelta {
  const roles = Object.fromEntries((Object.keys(b.roles) as Role[]).map((k) => [k, b.roles[k].cpuS - a.roles[k].cpuS])) as Record<Role, number>;
  return { seconds: (b.at - a.at) / 1000, cpuS: b.cpuS - a.cpuS, roles, mainThreadCpuS: b.mainThreadCpuS - a.mainThreadCpuS };
}
