/**
 * The people service's promises to the right to be forgotten, on real stores (SQLite files): a
 * deletion or a rename that can not relabel the stored events (the event store is not open) is
 * refused with ERR_EVENT_STORE_UNAVAILABLE and changes nothing; once it can, deleting clears the
 * name from the stored events; enrolment into a person deleted meanwhile is refused, and
 * refusals are counted by reason; committed changes, and only those, are announced (`change`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../server/events/sqlite-event-store.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import { createLogger } from '../../../server/logger.ts';
import { MediaServerError } from '../../../server/errors.ts';
import { PeopleService, type GalleryChange } from '../../../server/people/people-service.ts';
import { SqlitePeopleStore } from '../../../server/people/sqlite-people-store.ts';
import enrolImage, { closeModels } from '../../../server/people/enrol-worker.ts';
import { mediaSkip } from '../../helpers/e2e-media.ts';
import { makeEvent, T0 } from '../events/event-fixtures.ts';
import { makePeopleImages, type PeopleImages } from './people-images.ts';

const code = (c: string) => (e: unknown) => e instanceof MediaServerError && e.code === c;

describe('people service and the events\' labels', { skip: mediaSkip }, () => {
  let dir: string;
  let images: PeopleImages;
  let events: SqliteEventStore;
  let people: PeopleService;
  const ids = new EventIdFactory();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'people-service-'));
    images = await makePeopleImages(dir);
    const path = join(dir, 'events.sqlite');
    events = new SqliteEventStore({ path });
    people = new PeopleService({
      store: new SqlitePeopleStore({ path }),
      enrol: (task) => enrolImage(task),
      labels: events,
      currentFrame: () => Promise.reject(new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', 'no streams here')),
      log: createLogger('silent'),
    });
    await people.start();
  });
  after(async () => {
    await people?.close();
    await events?.close();
    await closeModels();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to delete or rename while the events can not be relabelled, and changes nothing', async () => {
    const changes: GalleryChange[] = [];
    people.on('change', (c) => changes.push(c));
    const ann = await people.create('Ann');
    const { face } = await people.enrolImage(ann.id, readFileSync(images.oneFaceJpeg));
    assert.deepEqual(changes.map((c) => c.type), ['created', 'faceAdded']);
    assert.deepEqual(changes[1], { type: 'faceAdded', personId: ann.id, face });
    // The event store is not open (as while the server retries a locked or unwritable file).
    await assert.rejects(people.delete(ann.id), code('ERR_EVENT_STORE_UNAVAILABLE'));
    await assert.rejects(people.rename(ann.id, 'Anna'), code('ERR_EVENT_STORE_UNAVAILABLE'));
    const still = await people.get(ann.id);
    assert.equal(still.name, 'Ann');
    assert.equal(still.faces.length, 1);
    assert.equal((await people.embeddings()).length, 1);
    assert.equal(changes.length, 2, 'nothing refused is announced');
    people.removeAllListeners('change');
  });

  it('deletes once the events can be written: faces, embeddings and the label on every stored event go', async () => {
    await events.open();
    await events.writeBatch([
      { op: 'upsert', event: makeEvent(ids, T0, { label: 'Ann' }) },
      { op: 'upsert', event: makeEvent(ids, T0 + 1, { label: 'Bob' }) },
    ]);
    const ann = (await people.findByName('ann'))!;
    const deletedEvents: GalleryChange[] = [];
    people.on('change', (c) => deletedEvents.push(c));
    const { person, eventsCleared } = await people.delete(ann.id);
    people.removeAllListeners('change');
    assert.deepEqual(deletedEvents, [{ type: 'deleted', person }]);
    assert.equal(person.faces.length, 1);
    assert.equal(eventsCleared, 1);
    assert.deepEqual((await events.query({ limit: 10 })).events.map((e) => e.label), ['Bob', null]);
    assert.deepEqual(await people.embeddings(), []);
    await assert.rejects(people.get(ann.id), code('ERR_PERSON_NOT_FOUND'));
    assert.deepEqual(people.galleryCounts(), { people: 0, faces: 0 });
  });

  it('refuses to enrol into a person deleted meanwhile, and reports each refusal by its reason', async () => {
    const cy = await people.create('Cy');
    const enrolling = people.enrolImage(cy.id, readFileSync(images.oneFacePng));
    await people.delete(cy.id);
    await assert.rejects(enrolling, code('ERR_PERSON_NOT_FOUND'));
    const dee = await people.create('Dee');
    await assert.rejects(people.enrolImage(dee.id, readFileSync(images.twoFaces)), (e: unknown) => code('ERR_FACE_COUNT')(e) && /^2 faces found/.test((e as Error).message));
    await assert.rejects(people.enrolImage(dee.id, new Uint8Array(0)), code('ERR_IMAGE_EMPTY'));
    await assert.rejects(people.enrolFromStream(dee.id, 'cam'), code('ERR_STREAM_NOT_FOUND'));
    assert.deepEqual(Object.fromEntries(people.enrolRejections()), { several_faces: 1, unreadable: 1 });
    assert.equal((await people.get(dee.id)).faces.length, 0);
  });
});
