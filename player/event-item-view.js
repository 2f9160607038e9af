/**
 * One event as a list row, shared by the live panel and the history: a thumbnail of its snapshot
 * (a placeholder of the same size while it has none, so rows never change height), its kind,
 * label, stream, start time, duration or "Live", and top score. The row is one button that opens
 * the event; it is updated in place (the thumbnail only reloads when the snapshot changed).
 */
import { h, setText } from './dom.js';
import { snapshotUrl } from './events-api.js';
import { durationMs, eventSummary, formatClock, formatDuration, formatScore, isLive, kindLabel, labelText } from './event-format.js';

/** EventItemView is one row; `onOpen(event, button)` fires when it is chosen (click, Enter, Space). */
export class EventItemView {
  constructor(event, onOpen, { lazy = false } = {}) {
    this.event = event;
    this.img = h('img', { alt: '', width: 80, height: 60, decoding: 'async', loading: lazy ? 'lazy' : undefined });
    this.thumb = h('span', { class: 'thumb', dataset: { thumbState: 'none' } }, this.img,
      h('span', { class: 'thumb-placeholder', 'aria-hidden': 'true' }));
    this.kind = h('span', { class: 'event-kind' });
    this.label = h('span', { class: 'event-label' });
    this.badge = h('span', { class: 'event-badge' });
    this.stream = h('span', { class: 'event-stream' });
    this.time = h('time', { class: 'event-time' });
    this.duration = h('span', { class: 'event-duration' });
    this.score = h('span', { class: 'event-score', title: 'Top score' });
    this.button = h('button', { type: 'button', class: 'event-button', onclick: () => onOpen(this.event, this.button) },
      this.thumb,
      h('span', { class: 'event-text' },
        h('span', { class: 'event-line' }, this.kind, this.label, this.badge),
        h('span', { class: 'event-meta' }, this.time, this.duration, this.score),
        this.stream));
    this.element = h('li', { class: 'event-item', dataset: { eventId: event.id } }, this.button);
    this.img.addEventListener('load', () => { this.thumb.dataset.thumbState = 'loaded'; });
    this.img.addEventListener('error', () => { this.thumb.dataset.thumbState = 'error'; });
    this.update(event);
  }

  /** update shows `event` (the same id, newer fields). */
  update(event) {
    this.event = event;
    const live = isLive(event);
    const li = this.element;
    li.dataset.kind = event.kind;
    li.dataset.state = live ? 'live' : 'ended';
    setText(this.kind, kindLabel(event.kind));
    setText(this.label, labelText(event.label));
    this.label.dataset.known = String(event.label !== null && event.label !== undefined);
    setText(this.badge, live ? 'Live' : 'Ended');
    setText(this.stream, event.streamKey);
    this.time.dateTime = new Date(event.startMs).toISOString();
    setText(this.time, formatClock(event.startMs));
    setText(this.duration, formatDuration(durationMs(event)));
    setText(this.score, formatScore(event.topScore));
    this.button.setAttribute('aria-label', eventSummary(event));
    const url = snapshotUrl(event);
    if (url && this.img.getAttribute('src') !== url) {
      // The last picture stays up while the better one loads.
      if (this.thumb.dataset.thumbState !== 'loaded') this.thumb.dataset.thumbState = 'loading';
      this.img.src = url;
    }
  }
}
