/**
 * The two DOM helpers the player's views share: `h()` builds an element, `setText()` updates text
 * only when it changed (so screen readers and selection are not disturbed every poll).
 */

/**
 * h creates an element: `h('li', { class: 'x', dataset: { key } }, 'text', child)`.
 * Attribute values of `false`/`null`/`undefined` are skipped; `true` sets an empty attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** setText sets `node.textContent` when it differs. */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}
