/**
 * Run-length description of a matte's rows, so compositing can fill fully-background spans natively,
 * skip fully-person spans, and blend per pixel only along edges.
 */

/** Run kind: every alpha in the span is 0 (background). */
export const RUN_BACKGROUND = 0;
/** Run kind: every alpha in the span is 255 (person). */
export const RUN_PERSON = 255;
/** Run kind: alphas vary or lie between 0 and 255 (edge): blend per pixel. */
export const RUN_EDGE = 1;

/**
 * MatteRuns lists, for each row of a plane, spans `[start, end)` covering the row in order, each with
 * a kind: row r's spans are triples data[3k .. 3k+2] = start, end, kind for k in rowStart[r] .. rowStart[r + 1] - 1.
 */
export interface MatteRuns {
  height: number;
  rowStart: Int32Array;
  data: Int32Array;
  /** Number of triples written. */
  count: number;
}

/** createMatteRuns allocates an empty run list for `height` rows (its data grows on demand). */
export function createMatteRuns(height: number): MatteRuns {
  return { height, rowStart: new Int32Array(height + 1), data: new Int32Array(height * 8 * 3), count: 0 };
}

/** beginRow starts row `row` (rows must be written in order from 0). */
export function beginRow(runs: MatteRuns, row: number): void {
  if (row === 0) runs.count = 0;
  runs.rowStart[row] = runs.count;
  runs.rowStart[row + 1] = runs.count;
}

/** pushRun appends the span [start, end) of `kind` to the current row, merging it with an adjacent span of the same kind. */
export function pushRun(runs: MatteRuns, row: number, start: number, end: number, kind: number): void {
  if (end <= start) return;
  const n = runs.count;
  if (n > runs.rowStart[row]) {
    const last = (n - 1) * 3;
    if (runs.data[last + 2] === kind && runs.data[last + 1] === start) {
      runs.data[last + 1] = end;
      return;
    }
  }
  if ((n + 1) * 3 > runs.data.length) reserveRuns(runs, 1);
  const p = n * 3;
  runs.data[p] = start;
  runs.data[p + 1] = end;
  runs.data[p + 2] = kind;
  runs.count = n + 1;
  runs.rowStart[row + 1] = n + 1;
}

/** reserveRuns grows `runs.data` so that `extra` more triples fit after the `count` written; returns the (possibly new) data. */
export function reserveRuns(runs: MatteRuns, extra: number): Int32Array {
  const needed = (runs.count + extra) * 3;
  if (needed > runs.data.length) {
    const grown = new Int32Array(Math.max(needed, runs.data.length * 2));
    grown.set(runs.data);
    runs.data = grown;
  }
  return runs.data;
}

/** fullRowRuns makes runs with one span per row covering `width` px of `kind` (e.g. treat a whole matte as edge). */
export function fullRowRuns(width: number, height: number, kind: number = RUN_EDGE): MatteRuns {
  const runs = createMatteRuns(height);
  for (let y = 0; y < height; y++) {
    beginRow(runs, y);
    pushRun(runs, y, 0, width, kind);
  }
  return runs;
}
