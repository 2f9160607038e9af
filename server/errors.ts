/**
 * Errors as data: a code, a category, whether it is fatal for its stream, the stream path, a cause.
 */

/** ErrorCategory says which part of the server an error comes from. */
export type ErrorCategory = 'ingest' | 'decode' | 'inference' | 'encode' | 'config' | 'plugin' | 'model' | 'http';

/** MediaServerError is the one error type the server raises; a fatal one ends a stream, never the process. */
export class MediaServerError extends Error {
  /** Stable machine-readable code, e.g. `ERR_FFMPEG_EXITED`. */
  readonly code: string;
  /** Which part of the server raised it. */
  readonly category: ErrorCategory;
  /** True when the stream (or, for config/model errors, the start) cannot go on. */
  readonly fatal: boolean;
  /** Stream path such as `/live/demo`, when the error belongs to one stream. */
  readonly streamPath?: string;

  constructor(code: string, category: ErrorCategory, message: string,
    options: { fatal?: boolean; streamPath?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'MediaServerError';
    this.code = code;
    this.category = category;
    this.fatal = options.fatal ?? false;
    this.streamPath = options.streamPath;
  }
}
