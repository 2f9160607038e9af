/**
 * The PostgreSQL gallery store on a real PostgreSQL on loopback (the cluster's shared gallery):
 * people with unique names whatever their ASCII case, faces with embeddings stored bit-exact,
 * the cascade of a deletion, a face of a deleted person refused; two stores on one database (two
 * nodes): a change through one is announced to the other ('deleted' for deletions), and the
 * event store's relabel clears the name across nodes. Then two gallery publishers, one per node:
 * a person deleted through node A leaves node B's shared gallery at once. Last, the server
 * restarted: B LISTENs again and hears A's changes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PgEventStore } from '../../../server/events/pg-event-store.ts';
import { PgPeopleStore } from '../../../server/people/pg-people-store.ts';
import { PeopleStoreError, type GalleryChangeKind } from '../../../server/people/people-store.ts';
import { PeopleService } from '../../../server/people/people-service.ts';
import { GalleryPublisher } from '../../../server/people/gallery-publisher.ts';
import { PluginSharedData } from '../../../server/pipeline/plugin-shared-data.ts';
import { MediaServerError } from '../../../server/errors.ts';
import { createLogger } from '../../../server/logger.ts';
import { EventIdFactory } from '../../../server/events/event-id.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres-server.ts';
import { waitFor } from '../../helpers/server-process.ts';
import { makeEvent, T0 } from '../events/event-fixtures.ts';

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const embedding = (seed: number) => Float32Array.from({ length: 128 }, (_, i) => Math.sin(seed * 1000 + i) / 11.3);

describe('PgPeopleStore (a real PostgreSQL on loopback)', () => {
  let server: PostgresServer;
  let url: string;
  let a: PgPeopleStore;
  let b: PgPeopleStore;
  const heardByB: GalleryChangeKind[] = [];

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('gallery');
    [a, b] = [new PgPeopleStore({ url }), new PgPeopleStore({ url })];
    b.watch((kind) => heardByB.push(kind));
    await Promise.all([a.open(), b.open()]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
  });

  it('people: unique names whatever their ASCII case, found, listed in order, renamed', async () => {
    const ann = await a.createPerson('Ann');
    await assert.rejects(b.createPerson('aNN'), (e) => e instanceof PeopleStoreError && e.code === 'ERR_PERSON_EXISTS');
    const bob = await b.createPerson('Bob');
    assert.deepEqual((await a.listPeople()).map((p) => p.name), ['Ann', 'Bob']);
    assert.equal((await b.findByName('ann'))!.id, ann.id);
    await assert.rejects(a.renamePerson(bob.id, 'ANN'), (e) => e instanceof PeopleStoreError && e.code === 'ERR_PERSON_EXISTS');
    assert.equal((await a.renamePerson(bob.id, 'Robert'))!.name, 'Bob', 'resolves with the person before');
    assert.equal((await b.getPerson(bob.id))!.name, 'Robert');
    assert.equal(await a.renamePerson('nobody', 'X'), undefined);
  });

  it('faces: embeddings bit-exact, images back, a face of a deleted person refused, the cascade', async () => {
    const [ann, robert] = await a.listPeople();
    const e1 = embedding(1);
    const f1 = await a.addFace({ personId: ann!.id, embedding: e1, imageJpeg: JPEG, source: 'upload', score: 0.91 });
    await b.addFace({ personId: robert!.id, embedding: embedding(2), imageJpeg: JPEG, source: 'stream:cam', score: 0.8 });
    const stored = await b.embeddings();
    assert.deepEqual(stored.map((s) => s.name).sort(), ['Ann', 'Robert']);
    assert.deepEqual([...stored.find((s) => s.faceId === f1.id)!.embedding], [...e1], 'bit-exact');
    assert.deepEqual([...(await b.faceImage(ann!.id, f1.id))!], [...JPEG]);
    assert.equal(await b.faceImage(robert!.id, f1.id), undefined, 'Ann\'s face is not under Robert');
    assert.deepEqual(await a.counts(), { people: 2, faces: 2 });
    assert.equal((await b.deletePerson(robert!.id))!.faces.length, 1);
    await assert.rejects(a.addFace({ personId: robert!.id, embedding: e1, imageJpeg: JPEG, source: 'upload', score: 1 }),
      (e) => e instanceof PeopleStoreError && e.code === 'ERR_PERSON_NOT_FOUND');
    assert.deepEqual(await a.counts(), { people: 1, faces: 1 }, 'the cascade took Robert\'s face');
    assert.equal(await a.deleteFace(ann!.id, 'nope'), false);
  });

  it('changes through one node are announced to the other; deletions as deleted', async () => {
    heardByB.length = 0;
    const carl = await a.createPerson('Carl');
    await waitFor('B hears the creation', () => heardByB.includes('changed'), 5000, 10);
    await a.deletePerson(carl.id);
    await waitFor('B hears the deletion', () => heardByB.includes('deleted'), 5000, 10);
  });

  it('two nodes with publishers: a person deleted through A leaves B\'s shared gallery at once; relabel reaches every node\'s events', async (t) => {
    const log = createLogger('silent');
    const events = new PgEventStore({ url, nodeId: 'b' });
    await events.open();
    const ids = new EventIdFactory();
    await events.writeBatch([{ op: 'upsert', event: makeEvent(ids, T0, { label: 'Dora' }) }]);
    const service = (store: PgPeopleStore) => new PeopleService({
      store, enrol: () => Promise.reject(new Error('no enrolment here')), labels: events, log,
      currentFrame: () => Promise.reject(new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', 'none')),
    });
    const storeA = new PgPeopleStore({ url });
    const storeB = new PgPeopleStore({ url });
    const [nodeA, nodeB] = [service(storeA), service(storeB)];
    await Promise.all([nodeA.start(), nodeB.start()]);
    const sharedB = new PluginSharedData();
    const publisherB = new GalleryPublisher(nodeB, sharedB, log);
    await publisherB.start();
    try {
      const dora = await nodeA.create('Dora');
      await storeA.addFace({ personId: dora.id, embedding: embedding(3), imageJpeg: JPEG, source: 'upload', score: 0.9 });
      const names = () => { const blob = sharedB.snapshot().gallery; return blob === undefined ? undefined : (JSON.parse(new TextDecoder().decode(new Uint8Array(blob.buffer, 4, new DataView(blob.buffer).getUint32(0, true)).slice())) as { people: { name: string }[] }).people.map((p) => p.name); };
      await waitFor('B publishes Dora', () => names()?.includes('Dora') === true, 5000, 10);
      const deletedAt = performance.now();
      await nodeA.delete(dora.id);
      await waitFor('B withdraws or republishes without Dora', () => !(names()?.includes('Dora') ?? false), 5000, 1);
      t.diagnostic(`node B's gallery lost Dora ${(performance.now() - deletedAt).toFixed(1)} ms after node A's DELETE began`);
      assert.equal((await events.query({ label: 'Dora', limit: 10 })).events.length, 0, 'her name is gone from the events');
      await waitFor('B publishes again', () => names() !== undefined, 5000, 10);
    } finally {
      publisherB.stop();
      await nodeA.close();
      await nodeB.close();
      await events.close();
    }
  });

  it('PostgreSQL restarted: B is told at the loss and once it LISTENs again, then hears A\'s changes as before', async () => {
    heardByB.length = 0;
    await server.down();
    await waitFor('B told of the loss', () => heardByB.includes('deleted'), 5000, 10);
    await server.up();
    await waitFor('B told it LISTENs again', () => heardByB.length >= 2, 10_000, 20);
    assert.deepEqual(heardByB, ['deleted', 'deleted'], 'once at the loss, once back: not at every failed retry');
    // A's pooled connections died with the server; its next change takes a new one.
    const erin = await waitFor('A changes the gallery again', () => a.createPerson('Erin').catch(() => undefined), 10_000, 100);
    await waitFor('B hears A\'s creation', () => heardByB.includes('changed'), 5000, 10);
    await a.deletePerson(erin.id);
    await waitFor('B hears A\'s deletion', () => heardByB.filter((k) => k === 'deleted').length === 3, 5000, 10);
  });
});
