/**
 * The background form: mode, colour, blur radius and image name of the selected stream, applied
 * live through `POST /api/streams/<key>/background` as soon as a control changes.
 */
import { setText } from './dom.js';

/** Colour drags fire many `input` events; apply at most every this many ms while dragging. */
const INPUT_DEBOUNCE_MS = 250;
/** After a local edit, polled values do not overwrite the form for this long (ms). */
const EDIT_GRACE_MS = 4000;
const IMAGE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** imageName is the background image's name as the API reports it (never a server path). */
function imageName(options) {
  return typeof options?.image === 'string' ? options.image : '';
}

/**
 * BackgroundForm binds the form to one stream at a time; `apply(key, request)` must resolve with
 * the applied options or reject with an Error whose message is shown.
 */
export class BackgroundForm {
  constructor(form, apply) {
    this.form = form;
    this.apply = apply;
    this.key = null;
    this.lastEditAt = -Infinity;
    this.pending = 0;
    this.timer = undefined;
    this.color = form.elements.namedItem('color');
    this.colorHex = form.querySelector('#bg-color-hex');
    this.blur = form.elements.namedItem('blurRadiusPx');
    this.blurValue = form.querySelector('#bg-blur-value');
    this.image = form.elements.namedItem('image');
    this.status = form.querySelector('#bg-status');
    form.addEventListener('input', (event) => this.onEdit(event, false));
    form.addEventListener('change', (event) => this.onEdit(event, true));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  /** show displays `background` for `key`; a different key always resets, the same one only when idle. */
  show(key, background) {
    const switched = key !== this.key;
    this.key = key;
    if (switched) {
      clearTimeout(this.timer);
      setText(this.status, '');
    }
    const busy = this.pending > 0 || performance.now() - this.lastEditAt < EDIT_GRACE_MS || document.activeElement === this.image;
    if (!background || (!switched && busy)) return;
    const mode = this.form.querySelector(`input[name="mode"][value="${background.mode}"]`);
    if (mode) mode.checked = true;
    if (typeof background.color === 'string') this.color.value = `#${background.color.toLowerCase()}`;
    if (typeof background.blurRadiusPx === 'number') this.blur.value = String(background.blurRadiusPx);
    this.image.value = imageName(background) || (switched ? '' : this.image.value);
    this.sync();
  }

  /**
   * setAvailable enables the form while the background plugin runs on the stream and disables it
   * when it is off (the background route only changes a running plugin; the panel's switch adds it).
   */
  setAvailable(available) {
    for (const el of this.form.elements) el.disabled = !available;
    this.form.dataset.available = String(available);
  }

  /** request reads the form as the API's `{ mode, color, blurRadiusPx, image }`. */
  request() {
    const mode = this.form.elements.namedItem('mode').value || 'color';
    const body = { mode, color: this.color.value.replace('#', '').toLowerCase(), blurRadiusPx: Number(this.blur.value) };
    const image = this.image.value.trim();
    if (image) body.image = image;
    return body;
  }

  sync() {
    const mode = this.form.elements.namedItem('mode').value;
    for (const field of this.form.querySelectorAll('[data-for-mode]')) field.hidden = field.dataset.forMode !== mode;
    setText(this.colorHex, this.color.value.toLowerCase());
    setText(this.blurValue, `${this.blur.value} px`);
  }

  onEdit(event, committed) {
    this.lastEditAt = performance.now();
    this.sync();
    if (event.target === this.image) {
      // A half-typed image name is not worth a request; Enter or leaving the field applies it.
      if (committed) this.submit();
      return;
    }
    clearTimeout(this.timer);
    if (committed) this.submit();
    else this.timer = setTimeout(() => this.submit(), INPUT_DEBOUNCE_MS);
  }

  async submit() {
    clearTimeout(this.timer);
    const key = this.key;
    if (!key) return;
    const body = this.request();
    if (body.mode === 'image' && !IMAGE_NAME.test(body.image ?? '')) {
      this.image.setAttribute('aria-invalid', 'true');
      this.setStatus('error', 'Enter an image name: 1–64 letters, digits, _ or -.');
      return;
    }
    this.image.removeAttribute('aria-invalid');
    this.pending += 1;
    this.setStatus('busy', 'Applying…');
    try {
      const applied = await this.apply(key, body);
      if (key !== this.key) return;
      this.setStatus('ok', `Applied: ${describe(applied ?? body)}`);
    } catch (err) {
      if (key !== this.key) return;
      this.setStatus('error', err?.message ?? String(err));
    } finally {
      this.pending -= 1;
      this.lastEditAt = performance.now();
    }
  }

  setStatus(state, text) {
    this.status.dataset.state = state;
    setText(this.status, text);
  }
}

function describe(options) {
  switch (options.mode) {
    case 'color': return `colour #${options.color}`;
    case 'blur': return `blur ${options.blurRadiusPx} px`;
    case 'image': return `image ${imageName(options)}`.trim();
    default: return 'no background change';
  }
}
