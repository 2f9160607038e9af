/**
 * Matching one face embedding against the gallery (`SharedData.gallery`): a person's score is the
 * best cosine similarity over their reference embeddings (all L2-normalised, so the dot product);
 * a face is that person only when the best person's score reaches the threshold and leads the
 * second-best person's by the margin. Otherwise it is unknown.
 */
import type { FaceGalleryMeta, SharedDatum } from '../plugin-api.ts';

/** MatchSettings: the similarity a match needs (cosine, -1..1) and its lead over the next person. */
export interface MatchSettings {
  threshold: number;
  margin: number;
}

/** GalleryMatch is one embedding's outcome: the matched person (null: unknown), the best and second-best persons' scores (-1 when there is none). */
export interface GalleryMatch {
  personId: string | null;
  best: number;
  second: number;
  /** The best-scoring person even when below the threshold (null: empty gallery), for diagnostics. */
  nearestId: string | null;
}

/**
 * matchEmbedding scores `embedding` (L2-normalised, `gallery.meta.dims` floats) against every
 * reference of `gallery`.
 * @throws RangeError when the embedding's length is not the gallery's `dims`.
 */
export function matchEmbedding(embedding: ArrayLike<number>, gallery: SharedDatum<FaceGalleryMeta>, settings: MatchSettings): GalleryMatch {
  const { dims, people, owners } = gallery.meta;
  if (embedding.length !== dims) throw new RangeError(`embedding has ${embedding.length} values, the gallery's have ${dims}`);
  const perPerson = new Float64Array(people.length).fill(-1);
  const data = gallery.data;
  for (let r = 0; r < owners.length; r++) {
    let dot = 0;
    const base = r * dims;
    for (let k = 0; k < dims; k++) dot += embedding[k]! * data[base + k]!;
    const p = owners[r]!;
    if (dot > perPerson[p]!) perPerson[p] = dot;
  }
  let bestIndex = -1;
  let best = -1;
  let second = -1;
  perPerson.forEach((score, p) => {
    if (score > best) {
      second = best;
      best = score;
      bestIndex = p;
    } else if (score > second) second = score;
  });
  const nearestId = bestIndex >= 0 && best > -1 ? people[bestIndex]!.id : null;
  const matched = nearestId !== null && best >= settings.threshold && best - second >= settings.margin;
  return { personId: matched ? nearestId : null, best, second, nearestId };
}
