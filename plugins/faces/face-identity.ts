/**
 * Who each face track is: votes over the track's embeddings, settled by a majority, kept with the
 * track id (an identity belongs to a track and never moves to another face).
 *
 * A track is embedded when it starts, then every `settleEveryMs` of stream time until its identity
 * is settled, then every `recheckMs` to check it (and soon again after a check that disagreed);
 * at most `maxPerFrame` tracks per frame, unsettled ones first. Each embedding votes for a person
 * or for unknown (face-matching.ts); an identity is settled when `votesToSettle` of the last
 * `voteWindow` votes agree. A settled person is shown (with `anonymise: unknown`) only while the
 * latest vote still agrees, so one disagreeing check hides the face at once; a track the tracker
 * continued ambiguously (two faces may have swapped) is hidden until it is checked again, at once. When the gallery
 * changes, identities of people no longer in it are forgotten (the face is hidden again until it
 * settles anew). The state is plain data; it travels with the frame between worker threads.
 */
import type { FaceGalleryMeta, SharedDatum } from '../plugin-api.ts';

/** IdentitySettings: the cadence and the vote rule. */
export interface IdentitySettings {
  /** Stream time between embeddings of an unsettled track, ms. */
  settleEveryMs: number;
  /** Stream time between checks of a settled track, ms. */
  recheckMs: number;
  /** Votes of one outcome (a person, or unknown) among the last `voteWindow` that settle it. */
  votesToSettle: number;
  voteWindow: number;
  /** Embeddings per frame at most (the rest wait for a later frame). */
  maxPerFrame: number;
}

/** DEFAULT_IDENTITY_SETTINGS: 100 ms between embeddings until settled (2 of 3 votes: settled from the second embedding, ~100 ms after the first), a check every second, 2 embeddings per frame. */
export const DEFAULT_IDENTITY_SETTINGS: IdentitySettings = { settleEveryMs: 100, recheckMs: 1000, votesToSettle: 2, voteWindow: 3, maxPerFrame: 2 };

/** Vote is one embedding's outcome: a person id or null (unknown), and the best person's similarity. */
export interface Vote {
  personId: string | null;
  score: number;
}

/** TrackIdentity is what is known of one track's identity. */
export interface TrackIdentity {
  trackId: number;
  /** The last `voteWindow` votes, oldest first. */
  votes: Vote[];
  /** The settled outcome (personId null: settled as unknown), score = mean similarity of its agreeing votes; null: not settled. */
  settled: Vote | null;
  /** PTS (ms) of the last embedding; -1: none yet. */
  lastEmbedMs: number;
  /** True when the track may have changed faces (an ambiguous association): not shown until its next vote. */
  checkPending?: boolean;
}

/** IdentityState is every live track's identity and the gallery version they were settled against (0: no gallery). */
export interface IdentityState {
  galleryVersion: number;
  identities: TrackIdentity[];
}

/** createIdentityState returns the state of a stream with no identities. */
export function createIdentityState(): IdentityState {
  return { galleryVersion: 0, identities: [] };
}

/** isIdentityState is true when `value` is a usable identity state. */
export function isIdentityState(value: unknown): value is IdentityState {
  const s = value as IdentityState | undefined;
  return typeof s === 'object' && s !== null && Array.isArray(s.identities) && Number.isInteger(s.galleryVersion);
}

/**
 * syncIdentities keeps one identity per live track (`trackIds`, ids of the tracker's tracks): ended
 * tracks' identities go, new tracks get an empty one; on a gallery version change (or the gallery
 * gone) votes for people no longer in it are dropped and identities settled on them are unsettled.
 */
export function syncIdentities(state: IdentityState, trackIds: readonly number[], gallery: SharedDatum<FaceGalleryMeta> | undefined): IdentityState {
  const version = gallery?.version ?? 0;
  const known = new Set(gallery?.meta.people.map((p) => p.id) ?? []);
  const byTrack = new Map(state.identities.map((i) => [i.trackId, i]));
  const identities = trackIds.map((trackId): TrackIdentity => {
    let identity = byTrack.get(trackId) ?? { trackId, votes: [], settled: null, lastEmbedMs: -1 };
    if (version !== state.galleryVersion) {
      const votes = identity.votes.filter((v) => v.personId === null || known.has(v.personId));
      const lost = identity.settled?.personId != null && !known.has(identity.settled.personId);
      // A gallery that grew can make an "unknown" someone: check it at the next chance.
      const recheck = identity.settled?.personId === null;
      identity = { ...identity, votes, settled: lost ? null : identity.settled, lastEmbedMs: lost || recheck ? -1 : identity.lastEmbedMs };
    }
    return identity;
  });
  return { galleryVersion: version, identities };
}

/** isShown is true when the identity is a settled person, its latest vote agrees and no check is pending (what `anonymise: unknown` leaves visible). */
export function isShown(identity: TrackIdentity | undefined): boolean {
  const settled = identity?.settled;
  return settled != null && settled.personId !== null && identity!.checkPending !== true && identity!.votes.at(-1)?.personId === settled.personId;
}

/**
 * checkAgain marks tracks whose association was ambiguous on this frame (face-tracker.ts
 * `ambiguousAt`: two faces may have swapped tracks): each is hidden until its next vote, due at once.
 */
export function checkAgain(state: IdentityState, trackIds: readonly number[]): IdentityState {
  if (trackIds.length === 0) return state;
  const ids = new Set(trackIds);
  return { ...state, identities: state.identities.map((i) => (ids.has(i.trackId) ? { ...i, checkPending: true, lastEmbedMs: -1 } : i)) };
}

/** wantsEmbedding is true when the track is due for an embedding at `ptsMs`. */
export function wantsEmbedding(identity: TrackIdentity, ptsMs: number, settings: IdentitySettings): boolean {
  if (identity.lastEmbedMs < 0 || ptsMs < identity.lastEmbedMs) return true;
  const agreeing = identity.settled !== null && identity.votes.at(-1)?.personId === identity.settled.personId;
  return ptsMs - identity.lastEmbedMs >= (agreeing ? settings.recheckMs : settings.settleEveryMs);
}

/**
 * pickForEmbedding chooses which of `candidates` (track ids that can be embedded on this frame:
 * detected, eyes known, large enough) are embedded now: the due ones, unsettled first, then the
 * longest waiting, at most `maxPerFrame`.
 */
export function pickForEmbedding(state: IdentityState, candidates: readonly number[], ptsMs: number, settings: IdentitySettings): number[] {
  const byTrack = new Map(state.identities.map((i) => [i.trackId, i]));
  return candidates
    .map((id) => byTrack.get(id))
    .filter((i): i is TrackIdentity => i !== undefined && wantsEmbedding(i, ptsMs, settings))
    .sort((a, b) => Number(b.checkPending === true) - Number(a.checkPending === true) || Number(a.settled !== null) - Number(b.settled !== null) || a.lastEmbedMs - b.lastEmbedMs)
    .slice(0, settings.maxPerFrame)
    .map((i) => i.trackId);
}

/**
 * addVote records one embedding's vote for a track at `ptsMs` and settles (or re-settles) its
 * identity when `votesToSettle` of the last `voteWindow` votes agree; otherwise the settled outcome
 * stays as it was. Returns a new state.
 */
export function addVote(state: IdentityState, trackId: number, vote: Vote, ptsMs: number, settings: IdentitySettings): IdentityState {
  return {
    ...state,
    identities: state.identities.map((i) => {
      if (i.trackId !== trackId) return i;
      const votes = [...i.votes, vote].slice(-settings.voteWindow);
      const agreeing = votes.filter((v) => v.personId === vote.personId);
      const settled = agreeing.length >= settings.votesToSettle
        ? { personId: vote.personId, score: agreeing.reduce((s, v) => s + v.score, 0) / agreeing.length }
        : i.settled;
      return { ...i, votes, settled, lastEmbedMs: ptsMs, checkPending: false };
    }),
  };
}

/** identityLabel is a track's label for detections and events: the person's name, null (settled unknown), or undefined (not settled). */
export function identityLabel(identity: TrackIdentity | undefined, gallery: SharedDatum<FaceGalleryMeta> | undefined): string | null | undefined {
  const settled = identity?.settled;
  if (!settled) return undefined;
  if (settled.personId === null) return null;
  return gallery?.meta.people.find((p) => p.id === settled.personId)?.name;
}
