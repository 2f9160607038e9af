/** seededRandom returns a deterministic uniform [0, 1) generator (mulberry32) for reproducible test tensors. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** randomTensor fills a Float32Array of the shape's element count with uniform values in [lo, hi). */
export function randomTensor(shape: number[], rand: () => number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = lo + rand() * (hi - lo);
  return out;
}
