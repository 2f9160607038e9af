/**
 * One event in a modal <dialog>: its snapshot (with the box at the top score drawn over it when the
 * snapshot is the whole frame), its details, a link to the full-size JPEG, and deleting it once it
 * has ended (asking first; with the admin token, reusing the page's prompt). The server's message
 * is shown when a deletion fails (401 without the token, 409 while the event lasts). The dialog
 * follows the live feed while it is open (`update`). Escape or the close button closes it and
 * focus goes back to the row that opened it.
 */
import { setText } from './dom.js';
import { deleteEvent, snapshotUrl } from './events-api.js';
import { durationMs, endReasonText, formatDateTime, formatDuration, formatScore, isLive, kindLabel, labelText } from './event-format.js';

/**
 * EventDialog drives `dialog` (see index.html: `[data-field=<name>]` elements, `[data-snapshot]`
 * img, `[data-box]`, `[data-snapshot-missing]`, `[data-snapshot-link]`, `[data-delete]`,
 * `[data-delete-confirm]` with `[data-delete-yes]`/`[data-delete-no]`, `[data-dialog-status]`).
 * `adminToken` is the page's AdminToken; `onDeleted(id)` fires after a deletion; `fallbackFocus`
 * takes focus when the row that opened the dialog is gone.
 */
export class EventDialog {
  constructor(dialog, { adminToken, onDeleted, fallbackFocus }) {
    this.dialog = dialog;
    this.adminToken = adminToken;
    this.onDeleted = onDeleted;
    this.fallbackFocus = fallbackFocus;
    this.event = null;
    this.opener = null;
    const q = (selector) => dialog.querySelector(selector);
    this.title = q('[data-dialog-title]');
    this.img = q('[data-snapshot]');
    this.box = q('[data-box]');
    this.missing = q('[data-snapshot-missing]');
    this.link = q('[data-snapshot-link]');
    this.deleteButton = q('[data-delete]');
    this.confirm = q('[data-delete-confirm]');
    this.yes = q('[data-delete-yes]');
    this.no = q('[data-delete-no]');
    this.status = q('[data-dialog-status]');
    this.hint = q('[data-delete-hint]');
    this.foot = q('[data-dialog-foot]');
    this.fields = Object.fromEntries([...dialog.querySelectorAll('[data-field]')].map((el) => [el.dataset.field, el]));

    this.img.addEventListener('load', () => this.showBox());
    this.img.addEventListener('error', () => {
      this.dialog.dataset.snapshot = 'error';
      setText(this.missing, 'The snapshot could not be loaded.');
    });
    q('[data-dialog-close]').addEventListener('click', () => dialog.close());
    // A click on the backdrop (the dialog element itself, outside its content) closes it too.
    dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener('close', () => this.closed());
    this.deleteButton.addEventListener('click', () => {
      this.confirm.hidden = false;
      this.deleteButton.hidden = true;
      this.yes.focus();
    });
    this.no.addEventListener('click', () => this.hideConfirm(true));
    this.yes.addEventListener('click', () => void this.remove());
  }

  /** open shows `event`; `opener` (the row's button) gets focus back on close. */
  open(event, opener) {
    this.opener = opener ?? null;
    this.event = null;
    this.setStatus('', '');
    this.hideConfirm(false);
    this.show(event);
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** update shows a newer record of the open event (ignored for any other). */
  update(event) {
    if (this.dialog.open && this.event?.id === event.id) this.show(event);
  }

  show(event) {
    const previous = this.event;
    this.event = event;
    const live = isLive(event);
    this.dialog.dataset.eventId = event.id;
    this.dialog.dataset.state = live ? 'live' : 'ended';
    setText(this.title, `${kindLabel(event.kind)} event on ${event.streamKey}`);
    const f = {
      stream: event.streamKey,
      kind: kindLabel(event.kind),
      label: labelText(event.label),
      started: formatDateTime(event.startMs),
      ended: live ? `Live (last seen ${formatDateTime(event.lastSeenMs)})` : `${formatDateTime(event.endMs)}, ${endReasonText(event.endReason)}`,
      duration: formatDuration(durationMs(event)),
      frames: String(event.frameCount),
      score: formatScore(event.topScore),
      box: event.box ? `${Math.round(event.box.width)}×${Math.round(event.box.height)} px at ${Math.round(event.box.x)}, ${Math.round(event.box.y)} (frame ${event.frameWidth}×${event.frameHeight})` : '—',
      track: String(event.trackId),
      id: event.id,
    };
    for (const [name, el] of Object.entries(this.fields)) setText(el, f[name] ?? '—');

    const url = snapshotUrl(event);
    this.link.hidden = !url;
    if (url) this.link.href = url;
    if (!url) {
      this.img.removeAttribute('src');
      this.dialog.dataset.snapshot = 'none';
      setText(this.missing, live ? 'No snapshot yet: it is written once the event has a settled best moment.' : 'This event has no snapshot.');
    } else if (this.img.getAttribute('src') !== url) {
      if (previous?.id !== event.id) {
        this.dialog.dataset.snapshot = 'loading';
        this.box.hidden = true;
        // The frame's size reserves the picture's space before it loads.
        this.img.width = event.frameWidth;
        this.img.height = event.frameHeight;
      }
      this.img.alt = `Snapshot of the ${kindLabel(event.kind).toLowerCase()} event on ${event.streamKey}, ${f.started}`;
      this.img.src = url;
    } else {
      this.showBox();
    }

    this.deleteButton.disabled = live;
    this.yes.disabled = live;
    this.hint.hidden = !live;
    if (live) this.hideConfirm(false);
  }

  /** showBox draws the top-score box over a loaded snapshot of the whole frame (a crop has other coordinates). */
  showBox() {
    const e = this.event;
    if (!e || !this.img.complete || this.img.naturalWidth === 0) return;
    this.dialog.dataset.snapshot = 'loaded';
    const whole = this.img.naturalWidth === e.frameWidth && this.img.naturalHeight === e.frameHeight;
    this.box.hidden = !whole || !e.boxRelative;
    if (this.box.hidden) return;
    const r = e.boxRelative;
    Object.assign(this.box.style, { left: `${r.x * 100}%`, top: `${r.y * 100}%`, width: `${r.width * 100}%`, height: `${r.height * 100}%` });
  }

  hideConfirm(focusDelete) {
    this.confirm.hidden = true;
    this.deleteButton.hidden = false;
    if (focusDelete) this.deleteButton.focus();
  }

  /** remove deletes the open event (asking for the admin token when the server wants it). */
  async remove() {
    const event = this.event;
    if (!event) return;
    this.yes.disabled = true;
    this.setStatus('busy', 'Deleting…');
    try {
      await this.adminToken.authorised((token) => deleteEvent(event.id, token), this.foot,
        'Deleting events on this server needs its admin token (auth.adminToken).');
      this.onDeleted(event.id);
      if (this.event?.id === event.id) this.dialog.close();
    } catch (err) {
      if (this.event?.id !== event.id) return;
      this.setStatus('error', err?.message ?? String(err));
      this.hideConfirm(true);
    } finally {
      this.yes.disabled = isLive(this.event ?? event);
    }
  }

  closed() {
    // A token prompt asked from inside the dialog ends with it (as cancelled).
    if (this.adminToken.prompt && this.dialog.contains(this.adminToken.form)) this.adminToken.close(null);
    this.img.removeAttribute('src');
    this.event = null;
    const target = this.opener?.isConnected ? this.opener : this.fallbackFocus;
    this.opener = null;
    target?.focus({ preventScroll: true });
  }

  setStatus(state, text) {
    this.status.dataset.state = state;
    setText(this.status, text);
  }
}
