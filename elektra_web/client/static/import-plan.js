// @ts-check
// An import's plan, one key a line (PlannedKeyChange): created, changed
// (its value and the metadata entries that change, before → after) or
// deleted; and the counts ("2 created, 1 changed, 1 deleted").

import { h } from './dom.js';
import { valueDiff } from './diff.js';

/**
 * @typedef {object} KeyContent
 * @property {string | null} value
 * @property {{key: string, value: string}[]} meta
 */
/**
 * @typedef {object} KeyChange
 * @property {string} path
 * @property {KeyContent | null} before
 * @property {KeyContent | null} after
 */

/** @param {KeyChange} c @returns {'created' | 'deleted' | 'changed'} */
export function kindOf(c) {
  if (!c.before) return 'created';
  if (!c.after) return 'deleted';
  return 'changed';
}

/** "2 created, 1 changed, 1 deleted". @param {KeyChange[]} changes */
export function changeCounts(changes) {
  const n = { created: 0, changed: 0, deleted: 0 };
  for (const c of changes) n[kindOf(c)]++;
  const parts = Object.entries(n)
    .filter(([, count]) => count)
    .map(([kind, count]) => `${count} ${count === 1 ? 'key' : 'keys'} ${kind}`);
  return parts.join(', ') || 'nothing changes';
}

/** The metadata entries that differ: name, before, after. @param {KeyChange} c */
function metaChanges(c) {
  const before = new Map((c.before ? c.before.meta : []).map((m) => [m.key, m.value]));
  const after = new Map((c.after ? c.after.meta : []).map((m) => [m.key, m.value]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  return names
    .filter((name) => before.get(name) !== after.get(name))
    .map((name) => ({ name, before: before.get(name) ?? null, after: after.get(name) ?? null }));
}

/** One key of the plan. @param {KeyChange} c */
export function changeItem(c) {
  const kind = kindOf(c);
  const before = c.before ? c.before.value : null;
  const after = c.after ? c.after.value : null;
  const meta = kind === 'deleted' ? [] : metaChanges(c);
  const valueChanged = kind !== 'changed' || before !== after;
  return h(
    'li',
    { class: `plan-change ${kind}`, dataset: { path: c.path, kind } },
    h('span', { class: `badge op ${kind}` }, kind === 'created' ? 'new' : kind === 'deleted' ? 'delete' : 'change'),
    ' ',
    h('code', { class: 'path' }, c.path),
    ' ',
    valueChanged ? valueDiff(before, kind === 'deleted' ? null : after) : null,
    kind === 'deleted' ? h('span', { class: 'muted' }, ' (deleted, with its subtree)') : null,
    meta.length
      ? h(
          'ul',
          { class: 'meta-changes' },
          meta.map((m) => h('li', {}, h('code', { class: 'meta-name' }, m.name), ' ', valueDiff(m.before, m.after), m.after === null ? h('span', { class: 'muted' }, ' removed') : null)),
        )
      : null,
  );
}
