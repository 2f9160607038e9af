/**
 * The event history: a filter form (stream, kind, label, started after / before, min score) over
 * `GET /api/events`, newest first, one page of HISTORY_PAGE at a time with "More events" following
 * the page's `nextCursor`. The server is the only judge of a filter: its message (a 400 naming the
 * filter) is shown in the status line. Rows open the event like the live panel's.
 */
import { h, setText } from './dom.js';
import { listEvents } from './events-api.js';
import { EventItemView } from './event-item-view.js';

/** HISTORY_PAGE is the `limit` of each page the history reads. */
export const HISTORY_PAGE = 50;

/** localTimeToIso turns a datetime-local value ("2026-12-07T14:03") into ISO UTC; undefined when empty or invalid. */
export function localTimeToIso(value) {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/**
 * EventsHistory drives `root` (the history panel): a `form` with inputs named stream, kind, label,
 * after, before and minScore, a `[data-history-status]` line, a `[data-history-list]` <ol>, a
 * `[data-history-more]` button and a `<datalist data-history-streams>` of stream keys.
 * `onOpen(event, button)` opens a row's event.
 */
export class EventsHistory {
  constructor(root, { onOpen }) {
    this.root = root;
    this.form = root.querySelector('form');
    this.status = root.querySelector('[data-history-status]');
    this.list = root.querySelector('[data-history-list]');
    this.moreButton = root.querySelector('[data-history-more]');
    this.streams = root.querySelector('[data-history-streams]');
    this.onOpen = onOpen;
    this.items = new Map();
    this.cursor = null;
    this.query = {};
    /** Bumped by every new search, so a late answer of an older one is dropped. */
    this.generation = 0;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.search();
    });
    // After the reset has cleared the fields.
    this.form.addEventListener('reset', () => setTimeout(() => void this.search(), 0));
    this.moreButton.addEventListener('click', () => void this.more());
  }

  /** filters reads the form as the query of `GET /api/events` (empty fields left out). */
  filters() {
    const f = this.form.elements;
    const text = (name) => f.namedItem(name).value.trim() || undefined;
    const minScore = f.namedItem('minScore').value;
    return {
      stream: text('stream'),
      kind: f.namedItem('kind').value || undefined,
      label: text('label'),
      after: localTimeToIso(f.namedItem('after').value),
      before: localTimeToIso(f.namedItem('before').value),
      minScore: minScore === '' ? undefined : Number(minScore),
    };
  }

  /** search reads the first page for the form's filters, replacing the list. */
  async search() {
    this.query = this.filters();
    this.cursor = null;
    const generation = ++this.generation;
    this.setStatus('busy', 'Searching…');
    this.root.setAttribute('aria-busy', 'true');
    try {
      const page = await listEvents({ ...this.query, limit: HISTORY_PAGE });
      if (generation !== this.generation) return;
      this.list.replaceChildren();
      this.items.clear();
      this.append(page);
    } catch (err) {
      if (generation !== this.generation) return;
      this.list.replaceChildren();
      this.items.clear();
      this.moreButton.hidden = true;
      this.setStatus('error', err?.message ?? String(err));
    } finally {
      if (generation === this.generation) this.root.removeAttribute('aria-busy');
    }
  }

  /** more reads the page after the last one shown. */
  async more() {
    if (!this.cursor) return;
    const generation = this.generation;
    this.moreButton.disabled = true;
    this.setStatus('busy', 'Loading more…');
    try {
      const page = await listEvents({ ...this.query, limit: HISTORY_PAGE, cursor: this.cursor });
      if (generation !== this.generation) return;
      const first = this.append(page);
      // The button goes once the last page is in: focus the first new row instead of the page's top.
      if (this.moreButton.hidden && first) first.button.focus();
    } catch (err) {
      if (generation === this.generation) this.setStatus('error', err?.message ?? String(err));
    } finally {
      this.moreButton.disabled = false;
    }
  }

  /** append adds a page's rows (an event already shown is updated instead) and returns the first new row. */
  append(page) {
    let first;
    for (const event of page.events) {
      const shown = this.items.get(event.id);
      if (shown) {
        shown.update(event);
        continue;
      }
      const item = new EventItemView(event, this.onOpen, { lazy: true });
      this.items.set(event.id, item);
      this.list.append(item.element);
      first ??= item;
    }
    this.cursor = page.nextCursor;
    this.moreButton.hidden = !this.cursor;
    this.showCount();
    return first;
  }

  showCount() {
    const n = this.items.size;
    if (n === 0) this.setStatus('empty', 'No events match these filters.');
    else this.setStatus('ok', `${n === 1 ? '1 event' : `${n} events`}${this.cursor ? ', more to load' : ''}.`);
    this.root.dataset.eventCount = String(n);
  }

  /** update shows a newer record of an event when it is in the list. */
  update(event) {
    this.items.get(event.id)?.update(event);
  }

  /** remove takes a deleted event off the list. */
  remove(id) {
    const item = this.items.get(id);
    if (!item) return;
    item.element.remove();
    this.items.delete(id);
    this.showCount();
  }

  /** setStreams offers `keys` (the live stream keys) as suggestions for the stream filter. */
  setStreams(keys) {
    const wanted = [...keys].sort();
    const have = [...this.streams.options].map((o) => o.value);
    if (wanted.join('\n') === have.join('\n')) return;
    this.streams.replaceChildren(...wanted.map((key) => h('option', { value: key })));
  }

  setStatus(state, text) {
    this.status.dataset.state = state;
    setText(this.status, text);
  }
}
