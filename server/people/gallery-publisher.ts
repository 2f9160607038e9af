/**
 * Publishes the people gallery to the frame plugins as the shared datum `gallery`
 * (plugins/plugin-api.ts `FaceGalleryMeta`: people, the owner of each reference embedding, the
 * embeddings as rows of 128 floats): at start and after every change of the gallery. Reloads run
 * one at a time; a change during a reload triggers one more, so the last publish is the last change.
 * While the store can not be read the last good gallery stays published, except after a deletion:
 * then the gallery is withdrawn (nobody is recognised, so nobody deleted stays shown) until a
 * reload succeeds. With a store shared by a cluster (PostgreSQL), the changes other nodes announce
 * are followed the same way.
 */
import type { FaceGalleryMeta } from '../../plugins/plugin-api.ts';
import type { Logger } from '../logger.ts';
import type { PluginSharedData } from '../pipeline/plugin-shared-data.ts';
import type { GalleryChange, PeopleService } from './people-service.ts';
import type { GalleryChangeKind } from './people-store.ts';

/** GalleryPublisher keeps `shared.gallery` equal to the store's gallery. */
export class GalleryPublisher {
  private running?: Promise<void>;
  private again = false;
  private readonly onChange = (change: GalleryChange) => {
    if (change.type === 'deleted' || change.type === 'faceDeleted') this.shared.withdraw('gallery');
    void this.reload();
  };
  /** A store shared with other servers (PostgreSQL) announced a change, made here or on another node. */
  private readonly onStoreChange = (kind: GalleryChangeKind) => {
    if (kind === 'deleted') this.shared.withdraw('gallery');
    void this.reload();
  };

  constructor(
    private readonly people: PeopleService,
    private readonly shared: PluginSharedData,
    private readonly log: Logger,
  ) {}

  /** start publishes the gallery (resolves when the first publish is done or has failed) and follows its changes. */
  start(): Promise<void> {
    this.people.on('change', this.onChange);
    this.people.on('storeChange', this.onStoreChange);
    return this.reload();
  }

  /** stop follows no more changes (the datum stays as it is). */
  stop(): void {
    this.people.off('change', this.onChange);
    this.people.off('storeChange', this.onStoreChange);
  }

  /** reload reads the gallery and publishes it; resolves when every requested reload is done; never rejects. */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          this.publishOnce(await this.people.list(), await this.people.embeddings());
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'the people gallery could not be read for matching; retried on the next change');
        }
      } while (this.again);
    })().finally(() => { this.running = undefined; });
    return this.running;
  }

  private publishOnce(people: { id: string; name: string }[], references: { personId: string; embedding: Float32Array }[]): void {
    const index = new Map(people.map((p, i) => [p.id, i]));
    const rows = references.filter((r) => index.has(r.personId));
    const dims = rows[0]?.embedding.length ?? 128;
    const data = new Float32Array(rows.length * dims);
    rows.forEach((r, i) => data.set(r.embedding.subarray(0, dims), i * dims));
    const meta: FaceGalleryMeta = { dims, people: people.map((p) => ({ id: p.id, name: p.name })), owners: rows.map((r) => index.get(r.personId)!) };
    const blob = this.shared.publish('gallery', meta, data);
    this.log.debug({ version: blob.version, people: people.length, references: rows.length }, 'people gallery published to the plugins');
  }
}
