// @ts-check
// Small DOM helpers: build elements without innerHTML (no injection, CSP-safe),
// and the one guard every write goes through (busy state, no double submit).

import { describe } from './errors.js';

/**
 * An element: ``attrs`` (on* functions become listeners, class, dataset, value)
 * and children (nodes, strings, arrays; null/false are skipped).
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement & Record<string, any>}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') /** @type {HTMLInputElement} */ (el).value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {any[]} children */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** @param {Element} el */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/** Briefly highlight an element that changed elsewhere. */
/** @param {Element | null | undefined} el */
export function flash(el) {
  if (!el) return;
  el.classList.remove('flash');
  void (/** @type {HTMLElement} */ (el).offsetWidth); // restart the animation
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 2500);
}

/** @param {string | null | undefined} iso */
export function ago(iso) {
  if (!iso) return 'never';
  const then = new Date(iso).getTime();
  const s = Math.max(0, Math.round((Date.now() - then) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/** @param {string | null | undefined} status */
export function statusDot(status) {
  const s = (status || 'UNKNOWN').toLowerCase();
  return h('span', { class: `dot ${s}`, title: s, role: 'img', 'aria-label': s });
}

/** A form's inline error area. */
export function errorBox() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

/** @param {HTMLElement | null | undefined} box @param {string} message */
export function showError(box, message) {
  if (!box) return;
  box.textContent = message || '';
  box.hidden = !message;
}

/** The last part of a key name ("user:/app/port" -> "port"). */
/** @param {string} path @returns {string} */
export function baseName(path) {
  if (/^[a-z]*:\/$/.test(path) || path === '/') return path;
  const parts = path.split(/(?<!\\)\//);
  return parts[parts.length - 1].replace(/\\(.)/g, '$1');
}

/** The parent of a key name, or null for a namespace root. */
/** @param {string} path @returns {string | null} */
export function parentOf(path) {
  if (/^[a-z]*:\/$/.test(path) || path === '/') return null;
  let cut = -1;
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '\\') i++;
    else if (path[i] === '/') cut = i;
  }
  const parent = path.slice(0, cut);
  if (/^[a-z]*:$/.test(parent)) return parent + '/';
  return parent || '/';
}

/** @param {string} path @param {string} root */
export function isBelowOrSame(path, root) {
  if (path === root) return true;
  const prefix = root.endsWith('/') ? root : root + '/';
  return path.startsWith(prefix);
}

/** @param {string} parent @param {string} name */
export function joinKey(parent, name) {
  return parent.endsWith('/') ? parent + name : `${parent}/${name}`;
}

// -- writes: one guard --------------------------------------------------------------

/**
 * Mark ``root``'s controls busy while a write runs: buttons disabled, fields
 * read-only, ``aria-busy`` set and the clicked button shown working.
 * Returns the function that ends it.
 * @param {HTMLElement} root
 * @param {HTMLElement | null} [active] the button that started it
 * @returns {() => void}
 */
export function busy(root, active = null) {
  const buttons = /** @type {HTMLButtonElement[]} */ ([...root.querySelectorAll('button')]);
  if (root instanceof HTMLButtonElement) buttons.push(root);
  const fields = /** @type {HTMLInputElement[]} */ ([...root.querySelectorAll('input, textarea')]);
  const selects = /** @type {HTMLSelectElement[]} */ ([...root.querySelectorAll('select')]);
  const was = {
    buttons: buttons.map((b) => b.disabled),
    fields: fields.map((f) => f.readOnly),
    selects: selects.map((s) => s.disabled),
  };
  buttons.forEach((b) => (b.disabled = true));
  fields.forEach((f) => (f.readOnly = true));
  selects.forEach((s) => (s.disabled = true));
  root.setAttribute('aria-busy', 'true');
  root.classList.add('busy');
  if (active) active.classList.add('working');
  return () => {
    buttons.forEach((b, i) => (b.disabled = was.buttons[i]));
    fields.forEach((f, i) => (f.readOnly = was.fields[i]));
    selects.forEach((s, i) => (s.disabled = was.selects[i]));
    root.removeAttribute('aria-busy');
    root.classList.remove('busy');
    if (active) active.classList.remove('working');
  };
}

/**
 * @typedef {object} GuardOptions
 * @property {HTMLElement | null} [box] where a refusal is shown (default: the form's .form-error)
 * @property {boolean} [reset] clear the form after a write that succeeded
 * @property {(error: any) => void} [onError] after a refusal is shown
 */

/**
 * The one submit guard of every write form: on submit, ``action(submitter)``
 * runs once (another submit meanwhile does nothing) with the controls busy;
 * a refusal is shown inline; the form is cleared only on success (``reset``).
 * @param {HTMLFormElement} form
 * @param {(submitter: HTMLButtonElement | null) => Promise<any>} action
 * @param {GuardOptions} [options]
 */
export function guardSubmit(form, action, options = {}) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = /** @type {HTMLButtonElement | null} */ (/** @type {SubmitEvent} */ (event).submitter);
    runGuarded(form, submitter, () => action(submitter), {
      box: options.box === undefined ? form.querySelector(':scope > .form-error, :scope .form-error') : options.box,
      ...options,
      done: () => {
        if (options.reset) form.reset();
      },
    });
  });
}

/**
 * The same guard for a write started by one button (not a form).
 * @param {HTMLButtonElement} button
 * @param {() => Promise<any>} action
 * @param {GuardOptions & {root?: HTMLElement}} [options]
 */
export function guardButton(button, action, options = {}) {
  button.addEventListener('click', () => runGuarded(options.root || button, button, action, options));
}

/** @type {WeakSet<HTMLElement>} */
const running = new WeakSet();

/**
 * @param {HTMLElement} root
 * @param {HTMLElement | null} active
 * @param {() => Promise<any>} action
 * @param {GuardOptions & {done?: () => void}} options
 */
async function runGuarded(root, active, action, options) {
  if (running.has(root)) return; // a second click while it runs does nothing
  running.add(root);
  const box = options.box || null;
  showError(box, '');
  const end = busy(root, active);
  let ok = false;
  try {
    await action();
    ok = true;
  } catch (e) {
    // A preview the person cancelled: nothing to say, and nothing was written.
    if (!e || e.code !== 'CANCELLED') {
      showError(box, describe(e));
      if (options.onError) options.onError(e);
    }
  } finally {
    end();
    running.delete(root);
  }
  if (ok && options.done) options.done();
}

/**
 * A button that asks "Really …?" on the first click and acts on the second:
 * its text and its accessible name say so. Returns true when it was armed.
 * @param {HTMLButtonElement} button
 * @param {string} question e.g. "Really remove web-01?"
 */
export function armed(button, question) {
  if (button.dataset.armed === 'yes') return true;
  button.dataset.armed = 'yes';
  button.textContent = question;
  button.setAttribute('aria-label', question);
  return false;
}

/** A phone-sized screen (the layout stacks there; see style.css). */
export function isNarrow() {
  return window.matchMedia('(max-width: 800px)').matches;
}
