/**
 * The gallery store's interface: people (a name each) and their reference faces (an embedding and
 * the aligned face image each), nothing SQLite-specific, so another backend (PostgreSQL, for the
 * cluster) can stand in. Every method is async; a failed one rejects with the backend's error, or
 * with a PeopleStoreError for the conflicts the API answers.
 */

/** FaceSummary is one reference face of a person, without its embedding or image. */
export interface FaceSummary {
  id: string;
  personId: string;
  /** Where it came from: `upload`, `stream:<key>`, `cli:<file name>`. */
  source: string;
  /** The face detector's confidence for it, 0..1. */
  score: number;
  /** Unix epoch ms. */
  createdMs: number;
}

/** Person is one enrolled person with their reference faces, oldest first. */
export interface Person {
  id: string;
  /** Trimmed, 1..100 characters, unique (ASCII case-insensitive); it is the label of their events. */
  name: string;
  /** Unix epoch ms. */
  createdMs: number;
  faces: FaceSummary[];
}

/** NewFace is a reference face to store. */
export interface NewFace {
  personId: string;
  /** L2-normalised embedding, Float32Array(128). */
  embedding: Float32Array;
  /** The aligned face chip as a JPEG. */
  imageJpeg: Uint8Array;
  source: string;
  score: number;
}

/** GalleryEmbedding is one reference embedding with whose it is (what matching reads). */
export interface GalleryEmbedding {
  personId: string;
  name: string;
  faceId: string;
  embedding: Float32Array;
}

/** PeopleStoreErrorCode: a name another person has, or a person that is not (or no longer) there. */
export type PeopleStoreErrorCode = 'ERR_PERSON_EXISTS' | 'ERR_PERSON_NOT_FOUND';

/** PeopleStoreError is a conflict the store detected (code ERR_PERSON_EXISTS or ERR_PERSON_NOT_FOUND). */
export class PeopleStoreError extends Error {
  constructor(readonly code: PeopleStoreErrorCode, message: string) {
    super(message);
    this.name = 'PeopleStoreError';
  }
}

/** GalleryChangeKind is what a shared store announces: 'deleted' (a person or a face is gone) or 'changed'. */
export type GalleryChangeKind = 'deleted' | 'changed';

/** PeopleStore keeps the gallery. */
export interface PeopleStore {
  /** open makes the store ready (runs migrations). */
  open(): Promise<void>;
  /** createPerson adds a person with no faces. Rejects with ERR_PERSON_EXISTS when the name is taken. */
  createPerson(name: string): Promise<Person>;
  /** listPeople returns everyone, oldest first, with their faces. */
  listPeople(): Promise<Person[]>;
  /** getPerson returns one person, or undefined. */
  getPerson(id: string): Promise<Person | undefined>;
  /** findByName returns the person of that name (ASCII case-insensitive), or undefined. */
  findByName(name: string): Promise<Person | undefined>;
  /** renamePerson changes a name; resolves with the person before the change, or undefined (no such person). Rejects with ERR_PERSON_EXISTS. */
  renamePerson(id: string, name: string): Promise<Person | undefined>;
  /** deletePerson removes a person, their faces and embeddings; resolves with what was deleted, or undefined. */
  deletePerson(id: string): Promise<Person | undefined>;
  /** addFace stores a reference face. Rejects with ERR_PERSON_NOT_FOUND when the person is not there (deleted meanwhile). */
  addFace(face: NewFace): Promise<FaceSummary>;
  /** faceImage returns the JPEG of one face of one person, or undefined. */
  faceImage(personId: string, faceId: string): Promise<Uint8Array | undefined>;
  /** deleteFace removes one face of one person; resolves false when there was none. */
  deleteFace(personId: string, faceId: string): Promise<boolean>;
  /** embeddings returns every reference embedding, grouped by person. */
  embeddings(): Promise<GalleryEmbedding[]>;
  /** counts is how many people and faces are stored. */
  counts(): Promise<{ people: number; faces: number }>;
  /**
   * watch (a store shared by several servers, e.g. PostgreSQL) calls `listener` after every change
   * any of them commits, and with 'deleted' when changes may have been missed; returns the
   * unsubscribe function. Absent: only this server changes the store.
   */
  watch?(listener: (kind: GalleryChangeKind) => void): () => void;
  /** close releases the store (idempotent). */
  close(): Promise<void>;
}
