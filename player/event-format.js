/**
 * How an event's fields read on the page (pure functions, no DOM): kind, label, start time,
 * duration, score, end reason, and a one-line summary for screen readers.
 */

const KINDS = { face: 'Face', person: 'Person' };
const END_REASONS = { track_lost: 'left the view', stream_ended: 'stream ended', server_restart: 'server restarted', node_lost: 'node lost' };

/** kindLabel is an event kind as a word: `face` -> "Face" (an unknown kind as it is). */
export function kindLabel(kind) {
  return KINDS[kind] ?? String(kind);
}

/** labelText is an event's label, "unknown" while no recognition set one (null). */
export function labelText(label) {
  return label === null || label === undefined || label === '' ? 'unknown' : label;
}

/** isLive is true while an event lasts (no end time yet). */
export function isLive(event) {
  return event.endMs === null || event.endMs === undefined;
}

/** durationMs is how long an event lasted, or has lasted so far (to its last sighting), in ms. */
export function durationMs(event) {
  return Math.max(0, (isLive(event) ? event.lastSeenMs : event.endMs) - event.startMs);
}

/** formatDuration writes ms as "4.2 s", "3 min 05 s" or "2 h 07 min". */
export function formatDuration(ms) {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}

/** formatScore writes a 0..1 score as a percentage: 0.934 -> "93%". */
export function formatScore(score) {
  return typeof score === 'number' && Number.isFinite(score) ? `${Math.round(score * 100)}%` : '—';
}

const pad = (n) => String(n).padStart(2, '0');

/**
 * formatClock writes epoch ms in local time: "14:03:27" on the day of `nowMs`, else
 * "2026-12-06 14:03" (a date first, so an old event never reads as today's).
 */
export function formatClock(ms, nowMs = Date.now()) {
  const d = new Date(ms);
  const now = new Date(nowMs);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return `${time}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** formatDateTime writes epoch ms as a full local date and time: "2026-12-07 14:03:27". */
export function formatDateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** endReasonText says why an event ended in words ("left the view"), '' while it lasts. */
export function endReasonText(reason) {
  return reason ? END_REASONS[reason] ?? reason : '';
}

/** eventSummary is one sentence for an event: "Face, unknown, on demo at 14:03:27, 4.2 s, top score 93%". */
export function eventSummary(event, nowMs = Date.now()) {
  const length = isLive(event) ? `live for ${formatDuration(durationMs(event))}` : formatDuration(durationMs(event));
  return `${kindLabel(event.kind)}, ${labelText(event.label)}, on ${event.streamKey} at ${formatClock(event.startMs, nowMs)}, ${length}, top score ${formatScore(event.topScore)}`;
}
