/**
 * The admin token for control routes (`auth.adminToken` on the server): asked for in a small
 * inline form the first time a change answers 401, kept in sessionStorage for the tab's life (never
 * in localStorage: it should not outlive the session), and sent as `Authorization: Bearer <token>`.
 */
import { setText } from './dom.js';

/** STORAGE_KEY is the sessionStorage key of the token. */
export const STORAGE_KEY = 'liveMatte.adminToken';

function readStored() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    // Storage can be disabled (privacy settings); the token then lives in memory only.
    return '';
  }
}

/**
 * AdminToken owns the token and its prompt, `form` being the inline `<form>` with a password input
 * named `token`, a `[data-token-message]` paragraph and a `[data-token-cancel]` button.
 */
export class AdminToken {
  constructor(form) {
    this.form = form;
    this.input = form.elements.namedItem('token');
    this.message = form.querySelector('[data-token-message]');
    this.value = readStored();
    /** The open prompt's resolver (a token, or null when cancelled); every waiting call shares it. */
    this.prompt = null;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = this.input.value.trim();
      if (!token) {
        this.input.setAttribute('aria-invalid', 'true');
        this.input.focus();
        return;
      }
      this.store(token);
      this.close(token);
    });
    form.querySelector('[data-token-cancel]').addEventListener('click', () => this.close(null));
  }

  /** token is the current token ('' when none is known). */
  get token() {
    return this.value;
  }

  store(token) {
    this.value = token;
    try {
      if (token) sessionStorage.setItem(STORAGE_KEY, token);
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // See readStored.
    }
  }

  /**
   * authorised runs `call(token)` and, while it rejects with a 401, asks for the token (the prompt
   * placed right after `anchor`, the form that asked, when given, and saying `reason`) and runs it
   * again; it rejects with the 401 if the prompt is cancelled, and with any other error at once.
   */
  async authorised(call, anchor, reason = 'Changing streams on this server needs its admin token (auth.adminToken).') {
    for (;;) {
      const used = this.value;
      try {
        return await call(used);
      } catch (err) {
        if (err?.status !== 401) throw err;
        // Another call may have got a new token while this one was in flight: try that first.
        if (this.value !== used) continue;
        if (used) this.store('');
        const token = await this.ask(anchor, used
          ? 'The server refused that token. Enter the admin token again.'
          : reason);
        if (token === null) throw err;
      }
    }
  }

  /** ask shows the prompt (once for all waiting calls) after `anchor` and resolves with the token or null. */
  ask(anchor, text) {
    setText(this.message, text);
    if (!this.prompt) {
      if (anchor && anchor.nextElementSibling !== this.form) anchor.after(this.form);
      this.prompt = {};
      this.prompt.promise = new Promise((resolve) => { this.prompt.resolve = resolve; });
      this.input.value = '';
      this.input.removeAttribute('aria-invalid');
      this.form.hidden = false;
      this.input.focus({ preventScroll: true });
      this.form.scrollIntoView({ block: 'nearest' });
    }
    return this.prompt.promise;
  }

  close(token) {
    const prompt = this.prompt;
    this.prompt = null;
    this.form.hidden = true;
    this.input.value = '';
    prompt?.resolve(token);
  }
}
