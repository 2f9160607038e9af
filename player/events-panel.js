/**
 * The live events panel: the newest events of the selected stream (or of every stream), kept up
 * to date by the server-sent events of `GET /api/events/live` (`start`, `update` at most once a
 * second per event, `end`). Each (re)connection first reads the newest page of `GET /api/events`,
 * so events that ended while the feed was down show as ended. EventSource reconnects by itself
 * after a dropped connection; when the server refuses the feed (the connection is closed for
 * good, e.g. events turned off) the panel tries again with a growing delay. Rows are updated in
 * place, at most every RENDER_MS, and only the newest LIVE_EVENTS_MAX (25) stay in the DOM.
 */
import { setText } from './dom.js';
import { getEvent, listEvents, liveEventsUrl } from './events-api.js';
import { EventItemView } from './event-item-view.js';
import { isLive } from './event-format.js';

/** LIVE_EVENTS_MAX is how many events the panel keeps in the DOM by default (the newest by start; the panel's `data-max-events` overrides it). */
export const LIVE_EVENTS_MAX = 25;
/** RENDER_MS: feed messages are applied to the DOM in batches at most this often (ms). */
const RENDER_MS = 250;
/** Delays (ms) before reconnecting a feed the server closed; the last one repeats. */
const RETRY_MS = [2000, 5000, 10000, 30000];
/**
 * After an `end`, the event is read again after these delays (ms): its last snapshot is encoded
 * as it ends and written with the next batch, after the feed's last message about it.
 */
const END_REFRESH_MS = [1500, 5000];

const FEED_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  down: 'Feed unavailable, retrying…',
};

/** newer is true when event record `a` is at least as recent as `b` (an end is final). */
function newer(a, b) {
  if (!isLive(b) && isLive(a)) return false;
  if (!isLive(a) && isLive(b)) return true;
  return a.lastSeenMs >= b.lastSeenMs;
}

/**
 * LiveEventsPanel fills `root` (the panel: `[data-events-list]` <ol>, `[data-events-empty]`,
 * `[data-feed-state]`, and a `[data-events-scope]` select with `stream`/`all`). `onOpen(event,
 * button)` opens a row's event; `onChange(event)` hears every newer record the panel gets.
 */
export class LiveEventsPanel {
  constructor(root, { onOpen, onChange = () => {} }) {
    this.root = root;
    this.list = root.querySelector('[data-events-list]');
    this.empty = root.querySelector('[data-events-empty]');
    this.state = root.querySelector('[data-feed-state]');
    this.scope = root.querySelector('[data-events-scope]');
    this.onOpen = onOpen;
    this.onChange = onChange;
    this.max = Number(root.dataset.maxEvents) > 0 ? Math.floor(Number(root.dataset.maxEvents)) : LIVE_EVENTS_MAX;
    /** Rows by event id. */
    this.items = new Map();
    /** Records waiting for the next render, by id. */
    this.pending = new Map();
    this.renderTimer = null;
    this.streamKey = null;
    this.source = null;
    this.url = null;
    this.retries = 0;
    this.retryTimer = null;
    this.scope.addEventListener('change', () => this.connect());
    this.setFeedState('connecting');
  }

  /** setStream tells the panel which stream is selected (null: none); it follows it when scoped to it. */
  setStream(key) {
    if (key === this.streamKey) return;
    this.streamKey = key;
    if (this.scope.value === 'stream') this.connect();
  }

  /** wantedUrl is the feed the scope and selection ask for. */
  wantedUrl() {
    return liveEventsUrl(this.scope.value === 'stream' ? this.streamKey : null);
  }

  /** connect (re)opens the feed when it is not the wanted one (or `force`), clearing rows of another scope. */
  connect(force = false) {
    const url = this.wantedUrl();
    if (!force && url === this.url && this.source) return;
    if (url !== this.url) this.clear();
    this.close();
    this.url = url;
    this.setFeedState('connecting');
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('open', () => {
      if (this.source !== source) return;
      this.retries = 0;
      this.setFeedState('live');
      void this.seed(url);
    });
    source.addEventListener('error', () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.setFeedState('reconnecting');
        return;
      }
      // Closed for good (a non-200 answer): EventSource gives up, so the panel retries itself.
      this.close();
      this.setFeedState('down');
      const delay = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)];
      this.retries += 1;
      this.retryTimer = setTimeout(() => this.connect(true), delay);
    });
    for (const type of ['start', 'update', 'end']) {
      source.addEventListener(type, (message) => {
        if (this.source !== source) return;
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        this.receive(event);
        if (type === 'end') this.refreshEnded(event.id);
      });
    }
  }

  close() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.source?.close();
    this.source = null;
  }

  /** seed merges the newest page of the store (what happened while the feed was not open). */
  async seed(url) {
    const stream = this.scope.value === 'stream' ? this.streamKey : null;
    try {
      const page = await listEvents({ stream: stream ?? undefined, limit: this.max });
      if (url !== this.url) return;
      for (const event of page.events) this.receive(event);
    } catch {
      // The feed still works; the store answers again later (503 while it opens).
    }
  }

  /** refreshEnded reads an ended event again for its final snapshot (see END_REFRESH_MS). */
  refreshEnded(id) {
    for (const delay of END_REFRESH_MS) {
      setTimeout(async () => {
        if (!this.items.has(id) && !this.pending.has(id)) return;
        try {
          this.receive(await getEvent(id));
        } catch {
          // Deleted meanwhile, or the server is away: the row keeps what it has.
        }
      }, delay);
    }
  }

  /** receive queues a record for the next render when it is newer than what the panel shows. */
  receive(event) {
    if (!event?.id) return;
    const known = this.pending.get(event.id) ?? this.items.get(event.id)?.event;
    if (known && !newer(event, known)) return;
    // A snapshot the feed's record does not carry yet is kept.
    const merged = known && !event.snapshot && known.snapshot ? { ...event, snapshot: known.snapshot } : event;
    this.pending.set(event.id, merged);
    this.onChange(merged);
    if (!this.renderTimer) this.renderTimer = setTimeout(() => this.render(), RENDER_MS);
  }

  render() {
    this.renderTimer = null;
    for (const event of this.pending.values()) {
      const item = this.items.get(event.id);
      if (item) {
        item.update(event);
        continue;
      }
      const created = new EventItemView(event, this.onOpen);
      this.items.set(event.id, created);
      // Newest first: ids sort by start time.
      const next = [...this.list.children].find((li) => li.dataset.eventId < event.id) ?? null;
      this.list.insertBefore(created.element, next);
    }
    this.pending.clear();
    this.trim();
    this.empty.hidden = this.items.size > 0;
    this.root.dataset.eventCount = String(this.items.size);
  }

  /** trim drops the oldest rows beyond `max`, ended ones first (a lasting event stays in view). */
  trim() {
    let excess = this.items.size - this.max;
    if (excess <= 0) return;
    const oldestFirst = [...this.list.children].reverse();
    const order = [...oldestFirst.filter((li) => li.dataset.state !== 'live'), ...oldestFirst.filter((li) => li.dataset.state === 'live')];
    for (const li of order) {
      if (excess <= 0) break;
      this.drop(li.dataset.eventId);
      excess -= 1;
    }
  }

  drop(id) {
    this.items.get(id)?.element.remove();
    this.items.delete(id);
    this.pending.delete(id);
  }

  /** remove takes a deleted event off the panel. */
  remove(id) {
    this.drop(id);
    this.empty.hidden = this.items.size > 0;
    this.root.dataset.eventCount = String(this.items.size);
  }

  clear() {
    for (const id of [...this.items.keys()]) this.drop(id);
    this.pending.clear();
    this.empty.hidden = false;
    this.root.dataset.eventCount = '0';
  }

  setFeedState(state) {
    this.state.dataset.state = state;
    this.root.dataset.feedState = state;
    setText(this.state, FEED_TEXT[state]);
  }
}
