// Small DOM helpers: build elements without innerHTML (no injection, CSP-safe).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/** Briefly highlight an element that changed elsewhere. */
export function flash(el) {
  if (!el) return;
  el.classList.remove('flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 2500);
}

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

export function statusDot(status) {
  const s = (status || 'UNKNOWN').toLowerCase();
  return h('span', { class: `dot ${s}`, title: s, role: 'img', 'aria-label': s });
}

/** A form's inline error area. */
export function errorBox() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

export function showError(box, message) {
  if (!box) return;
  box.textContent = message || '';
  box.hidden = !message;
}

/** The last part of a key name ("user:/app/port" -> "port"). */
export function baseName(path) {
  if (/^[a-z]*:\/$/.test(path) || path === '/') return path;
  const parts = path.split(/(?<!\\)\//);
  return parts[parts.length - 1].replace(/\\(.)/g, '$1');
}

/** The parent of a key name, or null for a namespace root. */
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

export function isBelowOrSame(path, root) {
  if (path === root) return true;
  const prefix = root.endsWith('/') ? root : root + '/';
  return path.startsWith(prefix);
}

export function joinKey(parent, name) {
  return parent.endsWith('/') ? parent + name : `${parent}/${name}`;
}
