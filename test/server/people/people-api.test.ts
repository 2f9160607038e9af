/**
 * The people API on the real server (server/app.ts `start`, loopback ports): enrolment from real
 * image files made from the shared footage (one face enrols; no face, two faces, corrupt bytes, a
 * 20 MiB body, another format, empty and 10,000-character names are refused with a clear 4xx and
 * change nothing), the admin token on writes, the reference image, renaming and deleting (faces
 * gone, the name cleared from stored events), enrolment from a live stream published by a real
 * ffmpeg, and the metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { start, type RunningServer } from '../../../server/app.ts';
import { resolveConfig } from '../../../server/config.ts';
import { createLogger } from '../../../server/logger.ts';
import type { DetectionsEvent } from '../../../server/pipeline/detections-event.ts';
import { publish, type Publisher } from '../../helpers/ffmpeg-tools.ts';
import { publishTestPattern, scrapeMetrics } from '../../ops/ops-helpers.ts';
import { waitFor } from '../../helpers/server-process.ts';
import { mediaFile, mediaSkip, uniqueKey } from '../../helpers/e2e-media.ts';
import { makePeopleImages, type PeopleImages } from './people-images.ts';

const ADMIN = 'people-admin-token';
const AUTH = { authorization: `Bearer ${ADMIN}` };

describe('people API on the real server', { skip: mediaSkip }, () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  let images: PeopleImages;
  const publishers: Publisher[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'people-api-'));
    images = await makePeopleImages(dir);
    const config = resolveConfig({
      cli: {
        bind: '127.0.0.1', rtmp: { port: 0 }, http: { port: 0 }, mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'),
        inference: { workers: 1 }, auth: { adminToken: ADMIN }, events: { trackLostMs: 300, flushIntervalMs: 50 },
      },
    });
    server = await start(config, createLogger('warn'));
    base = `http://127.0.0.1:${server.httpPort}`;
  });
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body instanceof Uint8Array) init.body = body as unknown as BodyInit;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(base + path, init);
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, json: type.includes('json') ? await res.json() as Record<string, any> : undefined, bytes: type.includes('json') ? undefined : Buffer.from(await res.arrayBuffer()) };
  };
  const upload = (id: string, file: string | Uint8Array, type = 'image/jpeg') =>
    call('POST', `/api/people/${id}/faces`, typeof file === 'string' ? readFileSync(file) : file, { ...AUTH, 'content-type': type });
  const everyone = async () => (await call('GET', '/api/people')).json!.people as Record<string, any>[];

  let ann: Record<string, any>;
  let bob: Record<string, any>;

  it('creates people; refuses empty, blank, 10,000-character and duplicate names and unauthenticated writes, changing nothing', async () => {
    const created = await call('POST', '/api/people', { name: '  Ann  ' });
    assert.equal(created.status, 201);
    ann = created.json!;
    assert.equal(ann.name, 'Ann');
    assert.deepEqual([ann.faceCount, ann.faces], [0, []]);
    bob = (await call('POST', '/api/people', { name: 'Bob' })).json!;
    const cases: [unknown, number, string, RegExp][] = [
      [{ name: '' }, 400, 'ERR_PERSON_NAME', /empty/],
      [{ name: '   ' }, 400, 'ERR_PERSON_NAME', /empty/],
      [{ name: 'x'.repeat(10_000) }, 400, 'ERR_PERSON_NAME', /10000 characters long, at most 100/],
      [{ name: 'two\nlines' }, 400, 'ERR_PERSON_NAME', /control characters/],
      [{ name: 'ann' }, 409, 'ERR_PERSON_EXISTS', /exists already/],
      [{}, 400, 'ERR_BAD_REQUEST', /name/],
      [{ name: 'Ann2', colour: 'red' }, 400, 'ERR_BAD_REQUEST', /unknown field 'colour'/],
      [{ name: { first: 'Ann' } }, 400, 'ERR_BAD_REQUEST', /string/],
    ];
    for (const [body, status, error, message] of cases) {
      const res = await call('POST', '/api/people', body);
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 40));
      assert.equal(res.json!.error, error);
      assert.match(res.json!.message, message);
    }
    const noToken = await call('POST', '/api/people', { name: 'Eve' }, {});
    assert.equal(noToken.status, 401);
    assert.equal(noToken.json!.error, 'ERR_UNAUTHORISED');
    assert.deepEqual((await everyone()).map((p) => p.name), ['Ann', 'Bob']);
  });

  it('enrols a JPEG with one face, and a PNG; serves the aligned 150x150 reference, to the admin token only', async () => {
    const jpeg = await upload(ann.id, images.oneFaceJpeg);
    assert.equal(jpeg.status, 201, JSON.stringify(jpeg.json));
    assert.equal(jpeg.json!.facesFound.length, 1);
    assert.equal(jpeg.json!.face.source, 'upload');
    assert.ok(jpeg.json!.face.score > 0.6);
    const png = await upload(bob.id, images.oneFacePng, 'image/png');
    assert.equal(png.status, 201, JSON.stringify(png.json));
    const got = (await call('GET', `/api/people/${ann.id}`)).json!;
    assert.equal(got.faceCount, 1);
    assert.equal(got.faces[0].id, jpeg.json!.face.id);
    // Names and reference faces are biometric data: nothing of the gallery is read without the token.
    for (const path of ['/api/people', `/api/people/${ann.id}`, got.faces[0].imageUrl]) assert.equal((await call('GET', path, undefined, {})).status, 401, path);
    const image = await call('GET', got.faces[0].imageUrl);
    assert.equal(image.status, 200);
    assert.equal(image.type, 'image/jpeg');
    const meta = await sharp(image.bytes!).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 150, 150]);
    assert.equal((await call('GET', `/api/people/${bob.id}/faces/${got.faces[0].id}.jpg`)).status, 404, 'Ann\'s face is not under Bob');
  });

  it('refuses no face, two faces, corrupt and truncated bytes, a 20 MiB body, a GIF and an empty body with a clear 4xx, changing nothing', async () => {
    const before = await everyone();
    const jpegBytes = readFileSync(images.oneFaceJpeg);
    const big = Buffer.alloc(20 * 1024 * 1024, 7);
    jpegBytes.copy(big);
    const gif = await sharp(images.oneFaceJpeg).gif().toBuffer();
    const cases: [string, string | Uint8Array, string, number, string, RegExp][] = [
      ['no face', images.noFace, 'image/jpeg', 422, 'ERR_FACE_COUNT', /^0 faces found/],
      ['two faces', images.twoFaces, 'image/jpeg', 422, 'ERR_FACE_COUNT', /^2 faces found; the image must show exactly one face/],
      ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251), 'image/jpeg', 400, 'ERR_IMAGE_UNREADABLE', /can not be decoded/],
      ['truncated JPEG', jpegBytes.subarray(0, Math.floor(jpegBytes.length / 3)), 'image/jpeg', 400, 'ERR_IMAGE_UNREADABLE', /can not be decoded/],
      ['20 MiB', big, 'image/jpeg', 413, 'ERR_IMAGE_TOO_LARGE', /larger than 10485760 bytes/],
      ['GIF labelled JPEG', gif, 'image/jpeg', 415, 'ERR_IMAGE_FORMAT', /gif, not JPEG or PNG/],
      ['GIF', gif, 'image/gif', 415, 'ERR_UNSUPPORTED_MEDIA_TYPE', /image\/jpeg or image\/png/],
      ['empty', new Uint8Array(0), 'image/jpeg', 400, 'ERR_IMAGE_EMPTY', /no image/],
    ];
    for (const [what, file, type, status, error, message] of cases) {
      const res = await upload(ann.id, file, type);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json!.error, error, what);
      assert.match(res.json!.message, message, what);
    }
    const noToken = await call('POST', `/api/people/${ann.id}/faces`, readFileSync(images.oneFaceJpeg), { 'content-type': 'image/jpeg' });
    assert.equal(noToken.status, 401);
    const nobody = await upload('00000000-0000-4000-8000-000000000000', images.oneFaceJpeg);
    assert.equal(nobody.status, 404);
    assert.equal(nobody.json!.error, 'ERR_PERSON_NOT_FOUND');
    assert.equal((await call('GET', '/api/people/not-a-uuid')).json!.error, 'ERR_BAD_REQUEST');
    assert.deepEqual(await everyone(), before);
    const samples = await scrapeMetrics(base);
    const value = (name: string, labels: Record<string, string> = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('livematte_people_faces_enrolled_total'), 2);
    assert.equal(value('livematte_people_enrolled'), 2);
    assert.equal(value('livematte_people_faces'), 2);
    assert.equal(value('livematte_people_enrol_rejected_total', { reason: 'no_face' }), 1);
    assert.equal(value('livematte_people_enrol_rejected_total', { reason: 'several_faces' }), 1);
  });

  const streamKey = uniqueKey('people');
  it('enrols the largest face of a live stream\'s current frame; 404 for no stream, 422 for a frame without a face', async () => {
    publishers.push(publish(`rtmp://127.0.0.1:${server.rtmpPort}/live/${streamKey}?background=off`, ['-stream_loop', '-1', '-i', mediaFile('sister.mkv')]));
    const patternKey = uniqueKey('pattern');
    publishers.push(publishTestPattern(`rtmp://127.0.0.1:${server.rtmpPort}/live/${patternKey}?background=off`));
    await waitFor('both streams to be live', () => server.registry.get(streamKey)?.state === 'live' && server.registry.get(patternKey)?.state === 'live', 30_000);
    const res = await call('POST', `/api/people/${ann.id}/faces/from-stream/${streamKey}`);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json!.face.source, `stream:${streamKey}`);
    assert.ok(res.json!.facesFound.length >= 1);
    const noFace = await call('POST', `/api/people/${ann.id}/faces/from-stream/${patternKey}`);
    assert.equal(noFace.status, 422);
    assert.equal(noFace.json!.error, 'ERR_FACE_COUNT');
    assert.match(noFace.json!.message, /^0 faces/);
    const missing = await call('POST', `/api/people/${ann.id}/faces/from-stream/nobody-here`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json!.error, 'ERR_STREAM_NOT_FOUND');
    assert.equal((await call('GET', `/api/people/${ann.id}`)).json!.faceCount, 2);
  });

  it('renames a person with their events; deletes a face, then the person: faces gone, the name cleared from stored events', async () => {
    // A labelled face track on the live stream, as matching will emit it, ended so it is stored whole.
    const t0 = Date.now();
    // Frames 40 ms apart; the empty ones reach past events.trackLostMs (300 ms of PTS).
    const feed = (labelled: boolean, i: number) => {
      const ms = labelled ? i * 40 : i * 200;
      const event: DetectionsEvent = {
        streamKey, streamPath: `/live/${streamKey}`, frameIndex: 0, ptsMs: ms, wallClockMs: t0 + ms, width: 640, height: 480,
        detections: labelled ? [{ kind: 'face', trackId: 9, score: 0.9, box: { x: 260, y: 100, width: 70, height: 70 }, confirmed: true, detected: true, label: 'Ann' }] : [],
      };
      server.registry.emit('detections', event);
    };
    for (let i = 0; i < 3; i++) feed(true, i);
    for (let i = 3; i < 6; i++) feed(false, i);
    const labelled = (name: string) => call('GET', `/api/events?label=${encodeURIComponent(name)}`, undefined, {});
    await waitFor('the ended event labelled Ann in the store', async () => {
      const page = (await labelled('Ann')).json!;
      return page.events.length === 1 && page.events[0].endMs !== null;
    }, 10_000, 50);

    const renamed = await call('PATCH', `/api/people/${ann.id}`, { name: 'Anna' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json!.name, 'Anna');
    assert.equal((await labelled('Ann')).json!.events.length, 0);
    assert.equal((await labelled('Anna')).json!.events.length, 1);
    assert.equal((await call('PATCH', `/api/people/${ann.id}`, { name: 'bob' })).status, 409);
    assert.equal((await call('PATCH', `/api/people/${ann.id}`, { name: '' })).status, 400);

    const person = (await call('GET', `/api/people/${ann.id}`)).json!;
    const [first, second] = person.faces;
    assert.equal((await call('DELETE', `/api/people/${ann.id}/faces/${first.id}`, undefined, {})).status, 401);
    const gone = await call('DELETE', `/api/people/${ann.id}/faces/${first.id}`);
    assert.deepEqual([gone.status, gone.json!.deleted], [200, first.id]);
    assert.equal((await call('DELETE', `/api/people/${ann.id}/faces/${first.id}`)).status, 404);
    assert.equal((await call('GET', first.imageUrl)).status, 404);

    const deleted = await call('DELETE', `/api/people/${ann.id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.json!.deleted.name, 'Anna');
    assert.equal(deleted.json!.eventsCleared, 1);
    assert.equal((await call('GET', `/api/people/${ann.id}`)).status, 404);
    assert.equal((await call('GET', second.imageUrl)).status, 404, 'their last face went with them');
    assert.equal((await labelled('Anna')).json!.events.length, 0);
    assert.deepEqual((await everyone()).map((p) => p.name), ['Bob']);
    assert.equal((await server.people!.embeddings()).every((g) => g.personId === bob.id), true);
    assert.equal((await call('DELETE', `/api/people/${ann.id}`)).status, 404);
  });
});
