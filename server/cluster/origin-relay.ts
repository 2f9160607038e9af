/**
 * A cluster node's outputs at the origin: while a stream is live here, one ffmpeg copies its
 * processed `live/stream-<key>` (its FLV tapped in-process from node-media-server, codec headers
 * and the current GOP first, as the decoders get theirs; no re-encode) to the origin
 * (`cluster.originRtmpUrl`, an nginx-rtmp that serves RTMP playback and HLS for every node), under
 * the same name, so viewers never need to know which node processes a stream, and the name stays
 * when the stream moves to another node. A relay that ends while its stream lasts (the origin
 * restarting, a stall) is started again with the pipeline's backoff (250 ms doubling to 4 s).
 */
import type { Logger } from '../logger.ts';
import { buildRelayArgs } from '../pipeline/ffmpeg-args.ts';
import { FfmpegProcess } from '../pipeline/ffmpeg-process.ts';
import { Backoff } from '../pipeline/restart-backoff.ts';
import { outputName } from '../ingest/stream-key.ts';

/** OriginRelayOptions say what to copy where. */
export interface OriginRelayOptions {
  ffmpegPath: string;
  /** The origin's RTMP application URL, e.g. `rtmp://origin:1936/live`. */
  originBase: string;
  /** tap subscribes to `key`'s processed output FLV (headers and current GOP first); returns unsubscribe. */
  tap: (key: string, onBytes: (chunk: Buffer) => void) => () => void;
  /** Whether `key`'s output has an audio track (undefined: not known yet, taken as yes). */
  hasAudio: (key: string) => boolean | undefined;
  /** Whether `key`'s output has its video sequence header yet (a tap before it gets no decodable start; checked every 50 ms). */
  outputReady: (key: string) => boolean;
}

/** A relay whose ffmpeg has this much FLV unread on its stdin (the origin too slow) starts over. */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
const READY_POLL_MS = 50;

interface Relay {
  process?: FfmpegProcess;
  timer?: NodeJS.Timeout;
  backoff: Backoff;
  stopped: boolean;
  restarts: number;
  /** Set when the relay is killed to start over at once (no backoff, no warning). */
  restartNow?: boolean;
}

/** OriginRelays keeps one relay per live stream. */
export class OriginRelays {
  private readonly relays = new Map<string, Relay>();

  constructor(private readonly options: OriginRelayOptions, private readonly log: Logger) {}

  /**
   * start relays `key`'s output. Called again when the encoder published the output anew (a
   * restart, new codec parameters), the relay starts over at once: one that stayed connected
   * through the change would carry the new frames under the old sequence header, which players
   * of the origin cannot decode.
   */
  start(key: string): void {
    const existing = this.relays.get(key);
    if (existing) {
      clearTimeout(existing.timer);
      existing.timer = undefined;
      if (existing.process?.running) {
        existing.restartNow = true;
        existing.process.kill();
      } else {
        this.spawn(key, existing);
      }
      return;
    }
    const relay: Relay = { backoff: new Backoff(), stopped: false, restarts: 0 };
    this.relays.set(key, relay);
    this.spawn(key, relay);
  }

  /** restarts counts how often `key`'s relay was started again (undefined: no relay). */
  restarts(key: string): number | undefined {
    return this.relays.get(key)?.restarts;
  }

  private spawn(key: string, relay: Relay): void {
    if (!this.options.outputReady(key)) {
      relay.timer = setTimeout(() => {
        relay.timer = undefined;
        if (!relay.stopped) this.spawn(key, relay);
      }, READY_POLL_MS);
      return;
    }
    const destination = `${this.options.originBase.replace(/\/$/, '')}/${outputName(key)}`;
    const proc = new FfmpegProcess(this.options.ffmpegPath, buildRelayArgs(destination, undefined, this.options.hasAudio(key) ?? true), 0);
    this.log.debug({ key, destination }, 'origin relay started');
    relay.process = proc;
    const untap = this.options.tap(key, (chunk) => {
      if (!proc.running) return;
      if (proc.stdin.writableLength > MAX_BACKLOG_BYTES) {
        this.log.warn({ key, backlogBytes: proc.stdin.writableLength }, 'origin relay falls behind; starting it again');
        proc.kill();
        return;
      }
      proc.stdin.write(chunk);
    });
    void proc.exited.then(untap);
    void proc.exited.then((exit) => {
      if (relay.stopped || relay.process !== proc) return;
      if (relay.restartNow) {
        relay.restartNow = false;
        this.spawn(key, relay);
        return;
      }
      relay.restarts++;
      const delay = relay.backoff.next();
      this.log.warn({ key, code: exit.code, signal: exit.signal, stderr: exit.stderrTail, retryMs: delay }, 'origin relay ended; starting it again');
      relay.timer = setTimeout(() => {
        relay.timer = undefined;
        if (!relay.stopped) this.spawn(key, relay);
      }, delay);
    });
  }

  /** stop ends `key`'s relay and waits for its ffmpeg to exit. */
  async stop(key: string): Promise<void> {
    const relay = this.relays.get(key);
    if (!relay) return;
    this.relays.delete(key);
    relay.stopped = true;
    clearTimeout(relay.timer);
    const proc = relay.process;
    if (proc?.running) {
      proc.child.kill('SIGTERM');
      const t = setTimeout(() => proc.child.kill('SIGKILL'), 3000);
      await proc.exited;
      clearTimeout(t);
    }
  }

  /** stopAll ends every relay. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.relays.keys()].map((key) => this.stop(key)));
  }
}
