/**
 * `npm run enrol` (server/people/enrol-cli.ts) as a real process on real image files: it enrols
 * into the data folder's database (found by --data-dir, the config file, or LIVEMATTE_DATA_DIR),
 * prints per image what it found and did, exits 1 when any image was refused (with the reason) and
 * 2 on bad usage, and keeps no new person without a face.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/server-process.ts';
import { mediaSkip } from '../../helpers/e2e-media.ts';
import { SqlitePeopleStore } from '../../../server/people/sqlite-people-store.ts';
import { makePeopleImages, type PeopleImages } from './people-images.ts';

interface Run { code: number; stdout: string; stderr: string }

function enrol(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // Only the test's own LIVEMATTE_* settings: none inherited from the shell.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIVEMATTE_')));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'server/people/enrol-cli.ts', ...args], { cwd: REPO_ROOT, env: { ...base, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function gallery(dataDir: string) {
  const store = new SqlitePeopleStore({ path: join(dataDir, 'events.sqlite') });
  await store.open();
  try {
    return await store.listPeople();
  } finally {
    await store.close();
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe('npm run enrol', { skip: mediaSkip }, () => {
  let dir: string;
  let images: PeopleImages;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'enrol-cli-'));
    images = await makePeopleImages(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('enrols each image with one face, reports the refused ones with the reason, exits 1', async () => {
    const data = join(dir, 'data-a');
    const run = await enrol(['--data-dir', data, '--name', 'Ann', images.oneFaceJpeg, images.noFace, images.twoFaces, join(dir, 'missing.jpg')]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0]!, /^created person 'Ann' \(/);
    assert.match(lines[1]!, new RegExp(`^${images.oneFaceJpeg}: 1 face, enrolled as face ${UUID.source}`));
    assert.match(lines[2]!, /no-face\.jpg: not enrolled: ERR_FACE_COUNT: 0 faces found/);
    assert.match(lines[3]!, /two-faces\.jpg: not enrolled: ERR_FACE_COUNT: 2 faces found/);
    assert.match(lines[4]!, /missing\.jpg: not enrolled: ERR_IMAGE_UNREADABLE: .*ENOENT/);
    assert.match(lines[5]!, /'Ann' has 1 face; 3 of 4 images failed/);
    const people = await gallery(data);
    assert.deepEqual(people.map((p) => [p.name, p.faces.length, p.faces[0]!.source]), [['Ann', 1, 'cli:one-face.jpg']]);
    assert.equal(people[0]!.faces[0]!.id, UUID.exec(lines[1]!)![0]);

    const more = await enrol(['--data-dir', data, '--name', 'ann', images.oneFacePng]);
    assert.equal(more.code, 0, more.stdout + more.stderr);
    assert.match(more.stdout, /^found person 'Ann'/);
    assert.equal((await gallery(data))[0]!.faces.length, 2);
  });

  it('finds the data folder from the config file and from LIVEMATTE_DATA_DIR, as the server does', async () => {
    const fromEnv = join(dir, 'data-env');
    const byEnv = await enrol(['--name', 'Bob', images.oneFacePng], { LIVEMATTE_DATA_DIR: fromEnv });
    assert.equal(byEnv.code, 0, byEnv.stdout + byEnv.stderr);
    assert.deepEqual((await gallery(fromEnv)).map((p) => p.name), ['Bob']);
    const fromFile = join(dir, 'data-file');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `dataDir: ${fromFile}\n`);
    const byFile = await enrol(['-c', config, '--name', 'Cy', images.oneFaceJpeg]);
    assert.equal(byFile.code, 0, byFile.stdout + byFile.stderr);
    assert.deepEqual((await gallery(fromFile)).map((p) => p.name), ['Cy']);
  });

  it('keeps no new person when no image enrolled, and exits 2 on bad usage (and with PostgreSQL events, where the server has no gallery)', async () => {
    const data = join(dir, 'data-b');
    const none = await enrol(['--data-dir', data, '--name', 'Dee', images.noFace]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /person 'Dee' not kept/);
    assert.deepEqual(await gallery(data), []);
    const noName = await enrol(['--data-dir', data, images.oneFaceJpeg]);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /required option '--name <name>'/);
    const badName = await enrol(['--data-dir', data, '--name', '  ', images.oneFaceJpeg]);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /ERR_PERSON_NAME: the name is empty/);
    const postgres = await enrol(['--data-dir', data, '--name', 'Eve', images.oneFaceJpeg], { LIVEMATTE_EVENTS_STORE: 'postgres', LIVEMATTE_EVENTS_POSTGRES_URL: 'postgres://livematte@127.0.0.1:1/livematte' });
    assert.equal(postgres.code, 2);
    assert.match(postgres.stderr, /events\.store postgres/);
    assert.deepEqual(await gallery(data), []);
  });
});
