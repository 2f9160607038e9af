/**
 * A plugin's controls built from its description in `GET /api/plugins` (`options`: JSON schema per
 * option, `defaults`), so a new plugin needs no player code: an on/off switch for the selected
 * stream, and one field per option, a select for an enum, a number input for a number or integer,
 * a colour input for an `rrggbb` string, a checkbox for a boolean, a text input for other strings.
 * Every change is applied at once through `apply(key, patch)` (a PATCH of that plugin); the server's
 * schema is the only judge of a value, and its message (e.g. a 400 naming the option) is shown.
 */
import { h, setText } from './dom.js';

/** After a local edit, polled values do not overwrite the form for this long (ms). */
const EDIT_GRACE_MS = 4000;
const HEX_COLOUR = '^[0-9a-fA-F]{6}$';
/** Unit suffixes of option names (house style: units in identifiers) shown as the label's unit. */
const UNITS = { Ms: 'ms', Px: 'px' };

/** optionLabel turns an option name into a label: `minScore` -> "Min score", `holdMs` -> "Hold (ms)". */
export function optionLabel(name) {
  const unit = Object.keys(UNITS).find((suffix) => name.endsWith(suffix) && name.length > suffix.length);
  const base = unit ? name.slice(0, -unit.length) : name;
  const words = base.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  const label = words.charAt(0).toUpperCase() + words.slice(1);
  return unit ? `${label} (${UNITS[unit]})` : label;
}

/** pluginTitle is a plugin's name as a heading: `faces` -> "Faces". */
export function pluginTitle(name) {
  return optionLabel(name);
}

/** fieldKind tells which control an option's schema gets: 'enum' | 'number' | 'boolean' | 'colour' | 'text'. */
export function fieldKind(schema) {
  if (Array.isArray(schema?.enum)) return 'enum';
  if (schema?.type === 'number' || schema?.type === 'integer') return 'number';
  if (schema?.type === 'boolean') return 'boolean';
  if (schema?.type === 'string' && schema.pattern === HEX_COLOUR) return 'colour';
  return 'text';
}

/**
 * Field is one option's control: `read()` gives the value to send, `write(value)` shows a value the
 * server reports.
 */
class Field {
  constructor(plugin, name, schema, initial) {
    this.name = name;
    this.kind = fieldKind(schema);
    const id = `plugin-${plugin}-${name}`;
    const attrs = { id, name, title: schema?.description, dataset: { option: name } };
    switch (this.kind) {
      case 'enum':
        // Values by index, so an enum of numbers or booleans round-trips unchanged.
        this.values = schema.enum;
        this.input = h('select', attrs, schema.enum.map((v, i) => h('option', { value: String(i) }, String(v))));
        break;
      case 'number':
        this.input = h('input', { ...attrs, type: 'number', inputmode: 'decimal', min: schema.minimum, max: schema.maximum,
          step: schema.type === 'integer' ? 1 : 'any' });
        break;
      case 'boolean':
        this.input = h('input', { ...attrs, type: 'checkbox' });
        break;
      case 'colour':
        this.input = h('input', { ...attrs, type: 'color' });
        break;
      default:
        this.input = h('input', { ...attrs, type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: schema?.maxLength });
    }
    const label = h('label', { for: id }, optionLabel(name));
    this.element = this.kind === 'boolean'
      ? h('div', { class: 'field field-check' }, this.input, label)
      : h('div', { class: 'field' }, label, this.input);
    this.write(initial);
  }

  read() {
    const { input } = this;
    switch (this.kind) {
      case 'enum': return this.values[Number(input.value)];
      case 'number': return input.value === '' ? null : Number(input.value);
      case 'boolean': return input.checked;
      case 'colour': return input.value.replace('#', '').toLowerCase();
      default: return input.value;
    }
  }

  write(value) {
    if (value === undefined) return;
    const { input } = this;
    switch (this.kind) {
      case 'enum': {
        const index = this.values.indexOf(value);
        if (index >= 0) input.value = String(index);
        break;
      }
      case 'boolean': input.checked = value === true; break;
      case 'colour': if (typeof value === 'string') input.value = `#${value.toLowerCase()}`; break;
      default: input.value = String(value);
    }
    input.removeAttribute('aria-invalid');
  }
}

/**
 * PluginForm binds one plugin's controls to one stream at a time. `plugin` is an entry of
 * `GET /api/plugins`; `apply(key, patch)` must resolve with the PATCH answer
 * (`{ enabled, options }`) or reject with an Error whose message is shown; `exclude` lists options
 * another form owns (the background form's); the first `primary` options are shown, the rest sit
 * under "More options". Place `toggle` and `form` where they belong.
 */
export class PluginForm {
  constructor(plugin, apply, { exclude = [], primary = 2 } = {}) {
    this.name = plugin.name;
    this.apply = apply;
    this.key = null;
    this.enabled = false;
    this.lastEditAt = -Infinity;
    this.pending = 0;
    const names = Object.keys(plugin.options ?? {}).filter((n) => !exclude.includes(n));
    this.fields = names.map((n) => new Field(plugin.name, n, plugin.options[n], plugin.defaults?.[n]));

    this.switch = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', dataset: { pluginSwitch: plugin.name },
      'aria-label': `${pluginTitle(plugin.name)} on this stream` });
    this.toggle = h('label', { class: 'switch' }, this.switch, h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
      h('span', { class: 'switch-text' }, 'Off'));
    this.switchText = this.toggle.querySelector('.switch-text');
    this.status = h('p', { class: 'form-status', role: 'status', dataset: { pluginStatus: plugin.name } });
    const shown = this.fields.slice(0, primary).map((f) => f.element);
    const more = this.fields.slice(primary).map((f) => f.element);
    this.form = h('form', { class: 'plugin-form', novalidate: true, dataset: { plugin: plugin.name } },
      shown.length > 0 && h('div', { class: 'plugin-fields' }, shown),
      more.length > 0 && h('details', { class: 'more-options' }, h('summary', {}, 'More options'), h('div', { class: 'plugin-fields' }, more)),
      this.status);

    this.switch.addEventListener('change', () => {
      setText(this.switchText, this.switch.checked ? 'On' : 'Off');
      void this.submit({ enabled: this.switch.checked });
    });
    for (const field of this.fields) {
      field.input.addEventListener('change', () => this.onEdit(field));
    }
    this.form.addEventListener('submit', (event) => event.preventDefault());
    this.renderSwitch();
  }

  /** show displays `options` (undefined: the plugin is off) for `key`; a different key always resets, the same one only when idle. */
  show(key, options) {
    const switched = key !== this.key;
    this.key = key;
    if (switched) this.setStatus('', '');
    const focused = this.form.contains(document.activeElement) && document.activeElement.tagName !== 'SUMMARY';
    const busy = this.pending > 0 || performance.now() - this.lastEditAt < EDIT_GRACE_MS || focused;
    if (!switched && busy) return;
    this.enabled = options !== undefined && options !== null;
    this.renderSwitch();
    if (this.enabled) for (const field of this.fields) field.write(options[field.name]);
  }

  renderSwitch() {
    this.switch.checked = this.enabled;
    setText(this.switchText, this.enabled ? 'On' : 'Off');
    this.form.dataset.enabled = String(this.enabled);
  }

  /** values reads every field as the plugin's options. */
  values() {
    return Object.fromEntries(this.fields.map((f) => [f.name, f.read()]));
  }

  onEdit(field) {
    this.lastEditAt = performance.now();
    field.input.removeAttribute('aria-invalid');
    if (!this.enabled) {
      this.setStatus('', `${pluginTitle(this.name)} is off on this stream: the change applies when it is turned on.`);
      return;
    }
    void this.submit({ [field.name]: field.read() }, field);
  }

  /** submit sends `patch` (turning the plugin on also sends every field, so what is shown is what runs). */
  async submit(patch, field) {
    const key = this.key;
    if (!key) return;
    const body = patch.enabled === true ? { ...this.values(), enabled: true } : patch;
    this.pending += 1;
    this.setStatus('busy', 'Applying…');
    try {
      const answer = await this.apply(key, body);
      if (key !== this.key) return;
      this.enabled = answer?.enabled === true;
      this.renderSwitch();
      if (this.enabled && answer.options) for (const f of this.fields) f.write(answer.options[f.name]);
      this.setStatus('ok', this.enabled ? `Applied: ${describe(answer.options, patch)}` : `${pluginTitle(this.name)} turned off`);
    } catch (err) {
      if (key !== this.key) return;
      // The switch goes back to what the stream runs; the bad value stays, marked, until the next poll.
      this.renderSwitch();
      field?.input.setAttribute('aria-invalid', 'true');
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

/** describe sums up an applied change: the options the patch named, else the mode, else "on". */
function describe(options, patch) {
  const named = Object.keys(patch).filter((k) => k !== 'enabled' && options && k in options);
  if (named.length > 0) return named.map((k) => `${optionLabel(k).toLowerCase()} ${options[k]}`).join(', ');
  return options?.mode !== undefined ? `on, ${options.mode}` : 'on';
}
