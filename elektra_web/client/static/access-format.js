// @ts-check
// Formatting shared by the Access page's parts: times, durations, a table that
// becomes stacked rows on a phone, audit arguments with names.

import { h } from './dom.js';

export const DAY = 86400;
const UNITS = { s: 1, m: 60, h: 3600, d: DAY, w: 7 * DAY };

/** Seconds in "90m", "1h", "2d", "45" (seconds); null if it is not a duration. @param {string} text */
export function seconds(text) {
  const match = /^\s*(\d{1,9})\s*([smhdw]?)\s*$/i.exec(text);
  return match ? Number(match[1]) * UNITS[/** @type {keyof UNITS} */ ((match[2] || 's').toLowerCase())] : null;
}

/** "2026-11-27 02:15" (with ``withSeconds``: "02:15:07") in local time. @param {string | null} iso */
export function when(iso, withSeconds = false) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${withSeconds ? ':' + pad(d.getSeconds()) : ''}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** @param {string | null} iso @param {string} [text] */
export function time(iso, text) {
  return iso ? h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, text || when(iso)) : null;
}

/**
 * A table: wide screens scroll it sideways inside its own box (never the
 * page); on a phone each row is a stacked card whose cells say their column
 * (data-label, see style.css), so the row's buttons are always in view.
 * @param {string} label
 * @param {string} className
 * @param {string[]} columns
 * @param {HTMLElement} body the tbody, its cells in the columns' order
 */
export function stackTable(label, className, columns, body) {
  for (const row of body.querySelectorAll('tr')) labelCells(row, columns);
  return h(
    'div',
    { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label },
    h(
      'table',
      { class: `grid stack ${className}` },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      body,
    ),
  );
}

/** Each cell of ``row`` names its column (shown before it on a phone). @param {Element} row @param {string[]} columns */
export function labelCells(row, columns) {
  [...row.children].forEach((cell, i) => {
    if (columns[i]) cell.setAttribute('data-label', columns[i]);
  });
}

/** Arguments without the nulls (options left at their defaults), for a compact line. @param {any} value @returns {any} */
export function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    /** @type {Record<string, any>} */
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = withoutNulls(v);
    return out;
  }
  return value;
}

/**
 * Audit arguments with names where clusterd gives them: ``instance_id: "2"``
 * beside ``instance_name: "web-01"`` (or ``instanceName``, or a ``names``
 * map by argument) reads ``instance: "web-01 (2)"``. Without names, as given.
 * @param {any} value
 * @returns {any}
 */
export function withNames(value) {
  if (Array.isArray(value)) return value.map(withNames);
  if (!value || typeof value !== 'object') return value;
  const names = value.names && typeof value.names === 'object' && !Array.isArray(value.names) ? value.names : {};
  const used = new Set(value.names === names ? ['names'] : []);
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (used.has(k)) continue;
    const m = /^(.+?)(_id|Id)$/.exec(k);
    if (m && (typeof v === 'string' || typeof v === 'number')) {
      const base = m[1];
      const sibling = [`${base}_name`, `${base}Name`].find((n) => typeof value[n] === 'string');
      const name = sibling ? value[sibling] : names[k] ?? names[base];
      if (typeof name === 'string' && name) {
        out[base] = `${name} (${v})`;
        if (sibling) used.add(sibling);
        continue;
      }
    }
    out[k] = withNames(v);
  }
  for (const k of used) delete out[k];
  return out;
}
