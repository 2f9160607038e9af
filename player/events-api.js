/**
 * The events API as the player uses it (server/events/event-routes.ts): a filtered page of
 * events, one event, deleting one (a control route: admin token when the server has one), the
 * live feed's URL and an event's snapshot URL.
 *
 * An event is `{ id, streamKey, kind: 'face'|'person', label: string|null, trackId, startMs,
 * endMs: number|null, endReason: 'track_lost'|'stream_ended'|'server_restart'|'node_lost'|null, firstPtsMs,
 * lastPtsMs, lastSeenMs, frameCount, topScore: 0..1, topPtsMs, box: {x,y,width,height} px,
 * boxRelative: 0..1, frameWidth, frameHeight, snapshot: { url, bytes } | null }`; times are Unix
 * epoch ms (UTC).
 */
import { fetchJson } from './stream-api.js';

/**
 * eventsQuery turns filters `{ stream, kind, label, after, before, minScore, limit, cursor }` into
 * the query of `GET /api/events`; empty values are left out (`after`/`before`: epoch ms or ISO).
 */
export function eventsQuery(filters = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (value === undefined || value === null || value === '') continue;
    query.set(name, String(value));
  }
  return query;
}

/**
 * listEvents resolves with one page `{ events, nextCursor }` of `GET /api/events` (newest first;
 * `nextCursor` null on the last page); rejects with ApiError (400 `ERR_BAD_REQUEST` naming the
 * filter, 503 `ERR_EVENT_STORE_UNAVAILABLE`).
 */
export async function listEvents(filters = {}) {
  const query = eventsQuery(filters).toString();
  const body = await fetchJson(`/api/events${query ? `?${query}` : ''}`);
  return { events: Array.isArray(body?.events) ? body.events : [], nextCursor: body?.nextCursor ?? null };
}

/** getEvent resolves with one event; rejects with ApiError (404 `ERR_EVENT_NOT_FOUND`). */
export function getEvent(id) {
  return fetchJson(`/api/events/${encodeURIComponent(id)}`);
}

/**
 * deleteEvent deletes an ended event and its snapshot and resolves with the deleted event;
 * rejects with ApiError (401 without the admin token, 404 unknown, 409 `ERR_EVENT_OPEN` while it lasts).
 */
export async function deleteEvent(id, token = '') {
  // No content-type: Fastify refuses an empty body declared as JSON.
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const body = await fetchJson(`/api/events/${encodeURIComponent(id)}`, { method: 'DELETE', headers });
  return body.deleted;
}

/** liveEventsUrl is the live feed's URL, for one stream key or (null) every stream. */
export function liveEventsUrl(streamKey) {
  return streamKey ? `/api/events/live?${eventsQuery({ stream: streamKey })}` : '/api/events/live';
}

/**
 * snapshotUrl is the URL of an event's snapshot, versioned by its size so a replaced snapshot (an
 * event's better moment) is fetched again; null while the event has none.
 */
export function snapshotUrl(event) {
  return event?.snapshot ? `${event.snapshot.url}?v=${event.snapshot.bytes}` : null;
}
