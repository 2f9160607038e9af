/**
 * A player that stays on one output at the origin and notes when each video packet arrives, to
 * time a failover to the packet rather than to a probe's polling: an ffmpeg reading
 * `rtmp://<origin>/live/stream-<key>` (no probing delay, packets copied to `framecrc` on stdout,
 * one line per packet as it comes), started again 50 ms after each exit (nginx-rtmp ends its
 * players when the publisher leaves; a new one waits for the next publisher).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from '../helpers/server-process.ts';

/** OriginPacket is one video packet the watcher got: when (Date.now()), whether a keyframe, and in which of its reader sessions. */
export interface OriginPacket { at: number; key: boolean; session: number }

/** Resumption is when an output came back at the origin after a gap. */
export interface Resumption {
  /** Date.now() of the first video packet after the gap. */
  at: number;
  /** Date.now() of the first keyframe from then on (a player can show a picture from here). */
  keyAt: number;
  /** The gap: ms between the last packet before it and this one. */
  gapMs: number;
}

/** OriginWatch follows one output at the origin. */
export interface OriginWatch {
  packets: OriginPacket[];
  /** resumedAfter resolves with the first resumption after `t` (Date.now()): a packet following a gap of `minGapMs` or more. */
  resumedAfter(t: number, timeoutMs: number, minGapMs?: number): Promise<Resumption>;
  stop(): Promise<void>;
}

/** watchOrigin starts a watcher on `url` (an RTMP playback URL of the origin). */
export function watchOrigin(url: string): OriginWatch {
  const packets: OriginPacket[] = [];
  let child: ChildProcess | undefined;
  let stopped = false;
  let session = 0;
  const run = () => {
    if (stopped) return;
    const mine = ++session;
    child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-probesize', '32', '-analyzeduration', '0',
      '-i', url, '-map', '0:v', '-c', 'copy', '-f', 'framecrc', '-flush_packets', '1', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('#')) return;
      packets.push({ at: Date.now(), key: !line.includes('F=0x'), session: mine });
    });
    child.once('exit', () => { if (!stopped) setTimeout(run, 50); });
  };
  run();
  const resumption = (t: number, minGapMs: number): Resumption | undefined => {
    for (let i = 1; i < packets.length; i++) {
      const p = packets[i]!;
      const gapMs = p.at - packets[i - 1]!.at;
      if (p.at <= t || gapMs < minGapMs) continue;
      const key = packets.slice(i).find((q) => q.key);
      return key && { at: p.at, keyAt: key.at, gapMs };
    }
    return undefined;
  };
  return {
    packets,
    resumedAfter: (t, timeoutMs, minGapMs = 300) => waitFor('the output back at the origin after a gap', () => resumption(t, minGapMs), timeoutMs, 20),
    async stop() {
      stopped = true;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
