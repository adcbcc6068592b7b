// @ts-check
// A value before and after, as a readable diff: one line shows the old value
// struck through and the new one, the part that changed marked; several lines
// show the lines removed and added (a line diff). Used by the history, the
// rollback plan and the import plan.

import { h } from './dom.js';

const MAX_LINES = 400; // a bigger value is shown whole, old then new

/** A value as shown: "(empty)" for "", "(none)" for null. @param {string | null | undefined} v */
export function shownValue(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '(none)');
  if (v === '') return h('span', { class: 'muted' }, '(empty)');
  return v;
}

/**
 * The common start and end of two strings (the middle is what changed).
 * @param {string} a @param {string} b
 */
function commonEnds(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  return { start, end };
}

/**
 * One side, its changed middle marked.
 * @param {string} tag 'del' or 'ins'
 * @param {string} text @param {number} start @param {number} end
 */
function side(tag, text, start, end) {
  const middle = text.slice(start, text.length - end);
  // Marking makes sense only when something stays the same around it.
  if (!start && !end) return h(tag, {}, shownValue(text));
  return h(tag, {}, text.slice(0, start), middle ? h('mark', {}, middle) : null, text.slice(text.length - end));
}

/**
 * The lines of ``a`` and ``b`` with what was kept, removed and added (LCS).
 * @param {string[]} a @param {string[]} b
 * @returns {{kind: ' ' | '-' | '+', line: string}[]}
 */
export function lineDiff(a, b) {
  const n = a.length;
  const m = b.length;
  /** @type {number[][]} */
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  /** @type {{kind: ' ' | '-' | '+', line: string}[]} */
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: ' ', line: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ kind: '-', line: a[i++] });
    else out.push({ kind: '+', line: b[j++] });
  }
  while (i < n) out.push({ kind: '-', line: a[i++] });
  while (j < m) out.push({ kind: '+', line: b[j++] });
  return out;
}

/**
 * ``before`` → ``after`` (null: there was none / there is none).
 * @param {string | null | undefined} before
 * @param {string | null | undefined} after
 * @returns {HTMLElement}
 */
export function valueDiff(before, after) {
  const a = before ?? null;
  const b = after ?? null;
  if (a !== null && b !== null && (a.includes('\n') || b.includes('\n'))) {
    const left = a.split('\n');
    const right = b.split('\n');
    if (left.length <= MAX_LINES && right.length <= MAX_LINES) {
      return h(
        'pre',
        { class: 'diff lines' },
        lineDiff(left, right).map(({ kind, line }) =>
          h(kind === '-' ? 'del' : kind === '+' ? 'ins' : 'span', { class: 'line' }, `${kind} ${line}`),
        ),
      );
    }
  }
  if (a === null) return h('span', { class: 'diff' }, h('ins', {}, shownValue(b)));
  if (b === null) return h('span', { class: 'diff' }, h('del', {}, shownValue(a)));
  if (a === b) return h('span', { class: 'diff same' }, shownValue(a));
  const { start, end } = commonEnds(a, b);
  return h('span', { class: 'diff' }, side('del', a, start, end), h('span', { class: 'arrow', 'aria-label': 'to' }, ' → '), side('ins', b, start, end));
}
