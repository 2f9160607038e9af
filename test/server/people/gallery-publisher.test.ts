/**
 * The gallery publisher over a real people service (SQLite, the real enrolment worker): the shared
 * datum follows every change (created, face added, renamed, face deleted, deleted), holds each
 * reference embedding bit-exact with its owner, and, when the store can not be read, keeps the
 * last gallery after a harmless change but withdraws it at once after a deletion.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaceGalleryMeta } from '../../../plugins/plugin-api.ts';
import { SqliteEventStore } from '../../../server/events/sqlite-event-store.ts';
import { createLogger } from '../../../server/logger.ts';
import { MediaServerError } from '../../../server/errors.ts';
import { GalleryPublisher } from '../../../server/people/gallery-publisher.ts';
import { PeopleService } from '../../../server/people/people-service.ts';
import { SqlitePeopleStore } from '../../../server/people/sqlite-people-store.ts';
import enrolImage, { closeModels } from '../../../server/people/enrol-worker.ts';
import { PluginSharedData, SharedDataCache } from '../../../server/pipeline/plugin-shared-data.ts';
import { mediaSkip } from '../../helpers/e2e-media.ts';
import { makePeopleImages, type PeopleImages } from './people-images.ts';

describe('gallery publisher', { skip: mediaSkip }, () => {
  let dir: string;
  let images: PeopleImages;
  let events: SqliteEventStore;
  let store: SqlitePeopleStore;
  let people: PeopleService;
  let publisher: GalleryPublisher;
  const shared = new PluginSharedData();
  const cache = new SharedDataCache();
  const gallery = () => cache.view(shared.snapshot()).gallery as { version: number; meta: FaceGalleryMeta; data: Float32Array } | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gallery-publisher-'));
    images = await makePeopleImages(dir);
    const path = join(dir, 'events.sqlite');
    events = new SqliteEventStore({ path });
    await events.open();
    store = new SqlitePeopleStore({ path });
    people = new PeopleService({
      store, enrol: (task) => enrolImage(task), labels: events, log: createLogger('silent'),
      currentFrame: () => Promise.reject(new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', 'no streams here')),
    });
    await people.start();
    publisher = new GalleryPublisher(people, shared, createLogger('silent'));
    await publisher.start();
  });
  after(async () => {
    publisher?.stop();
    await people?.close();
    await events?.close();
    await closeModels();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows every change of the gallery, embeddings bit-exact with their owners', async () => {
    assert.deepEqual(gallery()!.meta, { dims: 128, people: [], owners: [] }, 'an empty gallery is published at start');
    const ann = await people.create('Ann');
    const bob = await people.create('Bob');
    await people.enrolImage(ann.id, readFileSync(images.oneFaceJpeg));
    const { face } = await people.enrolImage(bob.id, readFileSync(images.oneFacePng));
    await publisher.reload();
    const g = gallery()!;
    assert.deepEqual(g.meta.people.map((p) => p.name), ['Ann', 'Bob']);
    assert.deepEqual([...g.meta.owners].sort(), [0, 1]);
    const stored = await people.embeddings();
    const bobRow = g.meta.owners.indexOf(1);
    assert.deepEqual([...g.data.subarray(bobRow * 128, bobRow * 128 + 128)], [...stored.find((e) => e.faceId === face.id)!.embedding], 'Bob\'s embedding, bit-exact, in the row owned by Bob');
    const before = g.version;
    await people.rename(ann.id, 'Anna');
    await publisher.reload();
    assert.ok(gallery()!.version > before);
    assert.equal(gallery()!.meta.people[0]!.name, 'Anna');
    await people.deleteFace(bob.id, face.id);
    await publisher.reload();
    assert.deepEqual(gallery()!.meta.owners, [0], 'Bob has no reference face left');
    await people.delete(bob.id);
    await publisher.reload();
    assert.deepEqual(gallery()!.meta.people.map((p) => p.name), ['Anna']);
  });

  it('a store that can not be read: the last gallery stays after a rename, and is withdrawn at once after a deletion', async () => {
    const anna = (await people.list())[0]!;
    const version = gallery()!.version;
    const originalEmbeddings = store.embeddings.bind(store);
    store.embeddings = () => Promise.reject(new Error('disk I/O error'));
    try {
      await people.rename(anna.id, 'Ann');
      await publisher.reload();
      assert.equal(gallery()!.version, version, 'kept: a rename shows nobody who should be hidden');
      const carl = await people.create('Carl');
      await people.delete(carl.id);
      assert.equal(gallery(), undefined, 'withdrawn synchronously with the deletion: nobody is recognised until it is read again');
      await publisher.reload();
      assert.equal(gallery(), undefined);
    } finally {
      store.embeddings = originalEmbeddings;
    }
    await publisher.reload();
    assert.deepEqual(gallery()!.meta.people.map((p) => p.name), ['Ann']);
  });
});
