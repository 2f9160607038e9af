/**
 * The list of live streams: one button per stream key, updated in place every poll so focus and
 * scroll survive the refresh.
 */
import { h, setText } from './dom.js';

/** StreamListView renders StreamInfo[] into a <ul>; `onSelect(key)` fires when one is chosen. */
export class StreamListView {
  constructor(list, count, empty, onSelect) {
    this.list = list;
    this.count = count;
    this.empty = empty;
    this.onSelect = onSelect;
    this.items = new Map();
  }

  /** render shows `streams`, marking `selectedKey` as current. */
  render(streams, selectedKey) {
    const keys = new Set(streams.map((s) => s.key));
    for (const [key, item] of this.items) {
      if (!keys.has(key)) {
        item.li.remove();
        this.items.delete(key);
      }
    }
    streams.forEach((stream, index) => {
      const item = this.items.get(stream.key) ?? this.create(stream.key);
      this.update(item, stream, stream.key === selectedKey);
      if (this.list.children[index] !== item.li) this.list.insertBefore(item.li, this.list.children[index] ?? null);
    });
    setText(this.count, streams.length);
    this.empty.hidden = streams.length > 0;
  }

  create(key) {
    const name = h('span', { class: 'stream-name' }, key);
    const state = h('span', { class: 'state-badge' });
    const meta = h('span', { class: 'stream-meta' });
    const button = h('button', { type: 'button', class: 'stream-item', dataset: { streamKey: key }, onclick: () => this.onSelect(key) },
      h('span', { class: 'stream-line' }, name, state), meta);
    const li = h('li', {}, button);
    const item = { li, button, state, meta };
    this.items.set(key, item);
    return item;
  }

  update(item, stream, selected) {
    if (selected) item.button.setAttribute('aria-current', 'true');
    else item.button.removeAttribute('aria-current');
    item.state.dataset.state = stream.state;
    setText(item.state, stream.state === 'live' ? 'Live' : 'Starting');
    const parts = [];
    if (stream.width && stream.height) parts.push(`${stream.width}×${stream.height}`);
    if (stream.fps) parts.push(`${Math.round(stream.fps)} fps`);
    const mode = stream.background?.mode;
    if (mode) parts.push(mode === 'color' ? `#${stream.background.color}` : mode);
    // Other plugins in the chain by name (and mode, when they have one): "faces blur".
    for (const [name, options] of Object.entries(stream.plugins ?? {})) {
      if (name !== 'background') parts.push(typeof options?.mode === 'string' ? `${name} ${options.mode}` : name);
    }
    setText(item.meta, parts.join(' · ') || 'waiting for the first frame');
  }
}
