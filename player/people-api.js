/**
 * The people API as the people page uses it (server/people/people-routes.ts). Every call needs the
 * admin token when the server has one (`token`, '' when none is known): names and reference faces
 * are biometric data. A person is `{ id, name, createdMs, faceCount, faces: [{ id, source, score,
 * createdMs, imageUrl }] }`; rejections are ApiError (status, code, the server's message).
 */
import { ApiError, fetchJson } from './stream-api.js';

const auth = (token) => (token ? { authorization: `Bearer ${token}` } : {});
const json = (token, method, body) => ({ method, headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** listPeople resolves with every enrolled person, oldest first. */
export async function listPeople(token) {
  const body = await fetchJson('/api/people', { headers: auth(token) });
  return Array.isArray(body?.people) ? body.people : [];
}

/** createPerson adds a person; rejects with 400 ERR_PERSON_NAME or 409 ERR_PERSON_EXISTS. */
export function createPerson(token, name) {
  return fetchJson('/api/people', json(token, 'POST', { name }));
}

/** deletePerson deletes a person, their faces, and their name from stored events. */
export function deletePerson(token, id) {
  return fetchJson(`/api/people/${encodeURIComponent(id)}`, { method: 'DELETE', headers: auth(token) });
}

/** uploadFace enrols a JPEG or PNG `file` (a Blob); rejects with 422 ERR_FACE_COUNT (how many faces were found), 413, 415. */
export function uploadFace(token, id, file) {
  return fetchJson(`/api/people/${encodeURIComponent(id)}/faces`, { method: 'POST', headers: { ...auth(token), 'content-type': file.type || 'image/jpeg' }, body: file });
}

/** faceFromStream enrols the largest face of live stream `key`'s current frame; rejects with 404 (no such stream) or 422 (no face). */
export function faceFromStream(token, id, key) {
  return fetchJson(`/api/people/${encodeURIComponent(id)}/faces/from-stream/${encodeURIComponent(key)}`, { method: 'POST', headers: auth(token) });
}

/** deleteFace removes one reference face. */
export function deleteFace(token, id, faceId) {
  return fetchJson(`/api/people/${encodeURIComponent(id)}/faces/${encodeURIComponent(faceId)}`, { method: 'DELETE', headers: auth(token) });
}

/** faceImage resolves with an object URL of a reference face's JPEG (the caller revokes it); it needs the token, so no plain <img src>. */
export async function faceImage(token, url) {
  const response = await fetch(url, { headers: auth(token), cache: 'no-store' });
  if (!response.ok) throw new ApiError(`HTTP ${response.status} from ${url}`, 'ERR_HTTP', response.status);
  return URL.createObjectURL(await response.blob());
}
