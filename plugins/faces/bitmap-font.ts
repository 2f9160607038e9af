/**
 * A 3x5 pixel bitmap font for the labels `mark` mode draws by each face (names, `unknown`,
 * scores): A-Z (lower case drawn as upper case), 0-9, space and `. - _ ' ?`. Each glyph is 5 rows,
 * top to bottom; bit 2 of a row is the left column, bit 0 the right one. Characters without a
 * glyph are drawn as `?` so a label never loses its length.
 */

/** GLYPH_WIDTH and GLYPH_HEIGHT are a glyph's size in font px; glyphs are drawn one font px apart. */
export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  A: [2, 5, 7, 5, 5], B: [6, 5, 6, 5, 6], C: [3, 4, 4, 4, 3], D: [6, 5, 5, 5, 6], E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4], G: [3, 4, 5, 5, 3], H: [5, 5, 7, 5, 5], I: [7, 2, 2, 2, 7], J: [1, 1, 1, 5, 2],
  K: [5, 5, 6, 5, 5], L: [4, 4, 4, 4, 7], M: [5, 7, 7, 5, 5], N: [6, 5, 5, 5, 5], O: [2, 5, 5, 5, 2],
  P: [6, 5, 6, 4, 4], Q: [2, 5, 5, 6, 3], R: [6, 5, 6, 5, 5], S: [3, 4, 2, 1, 6], T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7], V: [5, 5, 5, 5, 2], W: [5, 5, 7, 7, 5], X: [5, 5, 2, 5, 5], Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 2, 2, 2], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  ' ': [0, 0, 0, 0, 0], '.': [0, 0, 0, 0, 2], '-': [0, 0, 7, 0, 0], _: [0, 0, 0, 0, 7], "'": [2, 2, 0, 0, 0],
  '?': [7, 1, 2, 0, 2],
};

/** glyphRows returns the 5 row bitmaps of `ch` (upper-cased; `?` for a character without a glyph). */
export function glyphRows(ch: string): readonly number[] {
  return GLYPHS[ch.toUpperCase()] ?? GLYPHS['?']!;
}

/**
 * glyphCells lists the lit font px of `text` as [column, row] pairs (column counts across the
 * whole text, 4 columns per character), for a caller to paint at any scale.
 */
export function glyphCells(text: string): [number, number][] {
  const cells: [number, number][] = [];
  [...text].forEach((ch, i) => {
    glyphRows(ch).forEach((bits, row) => {
      for (let col = 0; col < GLYPH_WIDTH; col++) if (bits & (4 >> col)) cells.push([i * (GLYPH_WIDTH + 1) + col, row]);
    });
  });
  return cells;
}
