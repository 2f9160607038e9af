/**
 * The people service: the gallery's one owner on the server. It validates names, runs enrolments
 * in the enrolment pool (from an upload, or from a stream's current frame through the events'
 * frame grabber), keeps the store, and keeps the events' labels in step: a renamed person's
 * events are relabelled, a deleted person's name is cleared from every stored event (the right to
 * be forgotten) before and after their faces go, and if that can not be done nothing is deleted.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { EventStore } from '../events/event-store.ts';
import type { GrabbedFrame } from '../events/frame-grabber.ts';
import { PeopleStoreError, type FaceSummary, type GalleryChangeKind, type GalleryEmbedding, type PeopleStore, type Person } from './people-store.ts';
import type { EnrolResult, EnrolTask, FoundFace } from './enrol-worker.ts';
import { personName } from './person-name.ts';

/** STORE_RETRY_MS: a store that failed to open is tried again by the first request after this long. */
export const STORE_RETRY_MS = 5000;

/** PeopleMetricsSource is what the metrics read. */
export interface PeopleMetricsSource {
  /** People and reference faces stored (as of the last change). */
  galleryCounts(): { people: number; faces: number };
  facesEnrolled(): number;
  /** Refused enrolments by reason (no_face, several_faces, face_too_small, unreadable, ...). */
  enrolRejections(): ReadonlyMap<string, number>;
}

/** PeopleServiceDeps are what the service uses. */
export interface PeopleServiceDeps {
  store: PeopleStore;
  /** Runs one enrolment off the main thread (EnrolPool.run). */
  enrol(task: EnrolTask): Promise<EnrolResult>;
  /** The stored events' labels (the event store's relabel). */
  labels: Pick<EventStore, 'relabel'>;
  /** The stream's current frame; rejects with MediaServerError `ERR_STREAM_NOT_FOUND` or `ERR_SNAPSHOT_TIMEOUT`. */
  currentFrame(streamKey: string): Promise<GrabbedFrame>;
  log: Logger;
  /** Releases what the service was given to own (the enrolment pool), at close. */
  release?(): Promise<void>;
}

/** EnrolOutcome is a stored face and the faces the image showed. */
export interface EnrolOutcome {
  face: FaceSummary;
  facesFound: FoundFace[];
}

const REJECTION_REASON: Record<string, string> = {
  ERR_IMAGE_UNREADABLE: 'unreadable',
  ERR_IMAGE_FORMAT: 'format',
  ERR_IMAGE_TOO_LARGE: 'too_large',
  ERR_FACE_TOO_SMALL: 'face_too_small',
};

/**
 * GalleryChange says what changed in the gallery, for whoever keeps a copy of its embeddings
 * (matching reloads them; a deleted or renamed person's label must leave the open tracks too).
 */
export type GalleryChange =
  | { type: 'created'; person: Person }
  | { type: 'renamed'; person: Person; previousName: string }
  | { type: 'deleted'; person: Person }
  | { type: 'faceAdded'; personId: string; face: FaceSummary }
  | { type: 'faceDeleted'; personId: string; faceId: string };

/** PeopleServiceEvents: `change` after every committed change of the gallery made here; `storeChange` after one a store shared with other servers announced (made here or there). */
export interface PeopleServiceEvents {
  change: [change: GalleryChange];
  storeChange: [kind: GalleryChangeKind];
}

/** PeopleService runs the gallery for the server and the CLI. */
export class PeopleService extends EventEmitter<PeopleServiceEvents> implements PeopleMetricsSource {
  private opened = false;
  private opening?: Promise<void>;
  private lastOpenFailureMs = -Infinity;
  private counts = { people: 0, faces: 0 };
  private enrolled = 0;
  private readonly rejections = new Map<string, number>();

  private unwatch?: () => void;

  constructor(private readonly deps: PeopleServiceDeps) {
    super();
    this.unwatch = deps.store.watch?.((kind) => {
      this.emit('storeChange', kind);
      void this.refreshCounts().catch(() => {});
    });
  }

  /** start opens the store; a failure is logged (the routes answer 503 and retry), never thrown. */
  async start(): Promise<void> {
    await this.ensureOpen().catch(() => {});
  }

  private async ensureOpen(): Promise<void> {
    if (this.opened) return;
    if (!this.opening) {
      if (Date.now() - this.lastOpenFailureMs < STORE_RETRY_MS) throw this.unavailable();
      this.opening = this.deps.store.open().then(async () => {
        this.opened = true;
        await this.refreshCounts();
        this.deps.log.info(this.counts, 'people store open');
      }, (err: Error & { code?: string }) => {
        this.lastOpenFailureMs = Date.now();
        this.deps.log.error({ err: err.message, code: err.code }, 'the people store can not be opened; people routes answer 503 until it can');
        throw this.unavailable();
      }).finally(() => { this.opening = undefined; });
    }
    await this.opening;
  }

  private unavailable(): MediaServerError {
    return new MediaServerError('ERR_PEOPLE_STORE_UNAVAILABLE', 'http', 'the people store is not open (see the server log)');
  }

  private async refreshCounts(): Promise<void> {
    this.counts = await this.deps.store.counts();
  }

  // --- metrics
  galleryCounts(): { people: number; faces: number } { return this.counts; }
  facesEnrolled(): number { return this.enrolled; }
  enrolRejections(): ReadonlyMap<string, number> { return this.rejections; }

  private notFound(id: string): MediaServerError {
    return new MediaServerError('ERR_PERSON_NOT_FOUND', 'http', `no person '${id}'`);
  }

  private storeError(err: unknown): never {
    if (err instanceof PeopleStoreError) throw new MediaServerError(err.code, 'http', err.message);
    throw err;
  }

  /** create adds a person. @throws MediaServerError `ERR_PERSON_NAME`, `ERR_PERSON_EXISTS`, `ERR_PEOPLE_STORE_UNAVAILABLE`. */
  async create(rawName: string): Promise<Person> {
    const name = personName(rawName);
    await this.ensureOpen();
    const person = await this.deps.store.createPerson(name).catch((err) => this.storeError(err));
    await this.refreshCounts();
    this.emit('change', { type: 'created', person });
    return person;
  }

  /** list returns everyone, oldest first. */
  async list(): Promise<Person[]> {
    await this.ensureOpen();
    return this.deps.store.listPeople();
  }

  /** get returns one person. @throws `ERR_PERSON_NOT_FOUND`. */
  async get(id: string): Promise<Person> {
    await this.ensureOpen();
    const person = await this.deps.store.getPerson(id);
    if (!person) throw this.notFound(id);
    return person;
  }

  /** findByName returns the person of that name (ASCII case-insensitive), or undefined. */
  async findByName(rawName: string): Promise<Person | undefined> {
    await this.ensureOpen();
    return this.deps.store.findByName(personName(rawName));
  }

  /**
   * rename changes a name and relabels the person's stored events; when the events can not be
   * relabelled the name is put back. @throws `ERR_PERSON_NAME`, `ERR_PERSON_NOT_FOUND`,
   * `ERR_PERSON_EXISTS`, `ERR_EVENT_STORE_UNAVAILABLE`.
   */
  async rename(id: string, rawName: string): Promise<Person> {
    const name = personName(rawName);
    await this.ensureOpen();
    const before = await this.deps.store.renamePerson(id, name).catch((err) => this.storeError(err));
    if (!before) throw this.notFound(id);
    if (before.name !== name) {
      try {
        await this.deps.labels.relabel(before.name, name);
      } catch (err) {
        await this.deps.store.renamePerson(id, before.name);
        throw this.eventsUnavailable(err, 'renamed');
      }
      this.emit('change', { type: 'renamed', person: { ...before, name }, previousName: before.name });
    }
    return { ...before, name };
  }

  private eventsUnavailable(err: unknown, what: string): MediaServerError {
    this.deps.log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, `relabelling events failed; the person is not ${what}`);
    return new MediaServerError('ERR_EVENT_STORE_UNAVAILABLE', 'http', `the person can not be ${what} now: their events can not be relabelled (the event store is not writable; see the server log)`);
  }

  /**
   * delete removes a person, their faces and embeddings, and clears their name from every stored
   * event; resolves with the person deleted and how many events lost the label.
   * @throws `ERR_PERSON_NOT_FOUND`; `ERR_EVENT_STORE_UNAVAILABLE` (nothing was deleted).
   */
  async delete(id: string): Promise<{ person: Person; eventsCleared: number }> {
    await this.ensureOpen();
    const person = await this.deps.store.getPerson(id);
    if (!person) throw this.notFound(id);
    let eventsCleared: number;
    try {
      eventsCleared = await this.deps.labels.relabel(person.name, null);
    } catch (err) {
      throw this.eventsUnavailable(err, 'deleted');
    }
    const deleted = await this.deps.store.deletePerson(id);
    if (!deleted) throw this.notFound(id);
    await this.refreshCounts();
    this.emit('change', { type: 'deleted', person: deleted });
    // Events written between the first clear and the deletion (a face still in view).
    eventsCleared += await this.deps.labels.relabel(person.name, null).catch((err: Error) => {
      this.deps.log.warn({ err: err.message, person: id }, 'clearing a deleted person\'s label from late events failed');
      return 0;
    });
    return { person: deleted, eventsCleared };
  }

  /**
   * enrolImage adds a reference face from a JPEG or PNG that shows exactly one face.
   * @throws `ERR_PERSON_NOT_FOUND`, `ERR_IMAGE_EMPTY`, `ERR_IMAGE_UNREADABLE`, `ERR_IMAGE_FORMAT`,
   *   `ERR_IMAGE_TOO_LARGE`, `ERR_FACE_COUNT` (0 or 2+ faces, the message says how many),
   *   `ERR_FACE_TOO_SMALL`, `ERR_ENROL_BUSY`.
   */
  async enrolImage(personId: string, bytes: Uint8Array, source = 'upload'): Promise<EnrolOutcome> {
    await this.get(personId);
    if (bytes.byteLength === 0) throw this.rejected('ERR_IMAGE_EMPTY', 'the request has no image (an empty body)', 'unreadable');
    return this.enrol(personId, { kind: 'image', bytes, pick: 'only' }, source);
  }

  /**
   * enrolFromStream adds a reference face from the largest face in a live stream's current frame.
   * @throws `ERR_PERSON_NOT_FOUND`, `ERR_STREAM_NOT_FOUND`, `ERR_SNAPSHOT_TIMEOUT`, `ERR_FACE_COUNT` (no face), `ERR_FACE_TOO_SMALL`, `ERR_ENROL_BUSY`.
   */
  async enrolFromStream(personId: string, streamKey: string): Promise<EnrolOutcome> {
    await this.get(personId);
    const frame = await this.deps.currentFrame(streamKey);
    return this.enrol(personId, { kind: 'i420', yuv: frame.yuv.buffer as ArrayBuffer, width: frame.width, height: frame.height, pick: 'largest' }, `stream:${streamKey}`);
  }

  private rejected(code: string, message: string, reason: string): MediaServerError {
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1);
    return new MediaServerError(code, 'http', message);
  }

  private async enrol(personId: string, task: EnrolTask, source: string): Promise<EnrolOutcome> {
    let result: EnrolResult;
    try {
      result = await this.deps.enrol(task);
    } catch (err) {
      const e = err as Error;
      if (/queue is full/i.test(e.message)) throw new MediaServerError('ERR_ENROL_BUSY', 'http', 'too many enrolments are waiting; try again shortly');
      throw new MediaServerError('ERR_ENROL_FAILED', 'inference', `the face models failed: ${e.message}`, { cause: err });
    }
    if (result.rejected) {
      const { code, message } = result.rejected;
      const reason = code === 'ERR_FACE_COUNT' ? (result.faces.length === 0 ? 'no_face' : 'several_faces') : REJECTION_REASON[code] ?? 'other';
      throw this.rejected(code, message, reason);
    }
    const chosen = result.chosen!;
    const face = await this.deps.store.addFace({ personId, embedding: chosen.embedding, imageJpeg: chosen.chipJpeg, source, score: chosen.face.score })
      .catch((err) => this.storeError(err));
    this.enrolled += 1;
    await this.refreshCounts();
    this.emit('change', { type: 'faceAdded', personId, face });
    return { face, facesFound: result.faces };
  }

  /** deleteFace removes one reference face. @throws `ERR_PERSON_NOT_FOUND`, `ERR_FACE_NOT_FOUND`. */
  async deleteFace(personId: string, faceId: string): Promise<void> {
    await this.get(personId);
    if (!(await this.deps.store.deleteFace(personId, faceId))) throw new MediaServerError('ERR_FACE_NOT_FOUND', 'http', `person '${personId}' has no face '${faceId}'`);
    await this.refreshCounts();
    this.emit('change', { type: 'faceDeleted', personId, faceId });
  }

  /** faceImage returns a reference face's aligned chip (150x150 JPEG). @throws `ERR_PERSON_NOT_FOUND`, `ERR_FACE_NOT_FOUND`. */
  async faceImage(personId: string, faceId: string): Promise<Uint8Array> {
    await this.ensureOpen();
    const jpeg = await this.deps.store.faceImage(personId, faceId);
    if (!jpeg) throw new MediaServerError('ERR_FACE_NOT_FOUND', 'http', `person '${personId}' has no face '${faceId}'`);
    return jpeg;
  }

  /** embeddings returns every reference embedding (for matching). */
  async embeddings(): Promise<GalleryEmbedding[]> {
    await this.ensureOpen();
    return this.deps.store.embeddings();
  }

  /** close closes the store. */
  async close(): Promise<void> {
    await this.opening?.catch(() => {});
    this.opened = false;
    this.unwatch?.();
    await this.deps.store.close();
    await this.deps.release?.();
  }
}
