/**
 * Structured logging with pino: one JSON object per line, the stream path on every stream's line.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** createLogger makes the root logger at `level` writing JSON lines to stdout. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'live-matte' } });
}
