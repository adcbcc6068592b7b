// @ts-check
// The history of a key and its subtree on an instance's or a cluster's page
// (clusterd's history query): newest first, grouped by write, each change as
// a diff (previous → value), who made it, when and how; "Older" pages back.
// It follows the key chosen in the tree and is read again after a change.
// From a write (or a change on the machine), "Roll back to before this" opens
// its dry-run plan (rollback.js).

import { gql } from './api.js';
import { h, replace, errorBox, showError, ago, flash } from './dom.js';
import { describe } from './errors.js';
import { valueDiff } from './diff.js';
import { rollbackBox, targetVar, justBefore } from './rollback.js';

/** @typedef {import('./undo.js').Target} Target */

const PAGE = 50;
const HISTORY = `query($t: Target!, $p: String, $first: Int!, $before: ID) {
  history(target: $t, pathPrefix: $p, first: $first, before: $before) {
    hasMore entries { id at actor origin operationId op path value previous meta } } }`;

/**
 * @typedef {object} Entry
 * @property {string} id
 * @property {string} at
 * @property {string} actor
 * @property {string} origin
 * @property {string | null} operationId
 * @property {string} op
 * @property {string} path
 * @property {string | null} value
 * @property {string | null} previous
 * @property {string | null} meta
 */

/**
 * Neighbouring entries of one write are one group (as HistoryPage.operations).
 * @param {Entry[]} entries
 * @returns {Entry[][]}
 */
export function groupByOperation(entries) {
  /** @type {Entry[][]} */
  const groups = [];
  for (const e of entries) {
    const last = groups[groups.length - 1];
    if (last && e.operationId !== null && last[0].operationId === e.operationId) last.push(e);
    else groups.push([e]);
  }
  return groups;
}

/** The namespace root of a key: "user:/app" -> "user:/". @param {string} path */
function namespaceOf(path) {
  const m = /^([a-z]*:)\//.exec(path);
  return m ? `${m[1]}/` : '/';
}

/** A write's id as shown: a UUID's first part. @param {string} id */
export function shortId(id) {
  return /^[0-9a-f]{8}-/.test(id) ? id.slice(0, 8) : id;
}

/** One change. @param {Entry} e */
function entryItem(e) {
  const label = e.op === 'SET' ? (e.previous === null ? 'created' : 'set') : e.op === 'DELETE' ? 'deleted' : 'metadata';
  let change;
  if (e.op === 'DELETE') change = e.previous === null ? null : valueDiff(e.previous, null);
  else if (e.op === 'META') {
    change = [
      h('code', { class: 'meta-name' }, e.meta),
      ' ',
      e.value === null ? [valueDiff(e.previous, null), h('span', { class: 'muted' }, ' removed')] : valueDiff(e.previous, e.value),
    ];
  } else change = valueDiff(e.previous, e.value);
  return h(
    'li',
    { class: `hist-entry ${e.op.toLowerCase()}`, dataset: { id: e.id, path: e.path, op: e.op } },
    h('span', { class: `badge op ${e.op.toLowerCase()}` }, label),
    ' ',
    h('code', { class: 'path' }, e.path),
    ' ',
    h('span', { class: 'change' }, change),
  );
}

/**
 * @typedef {object} HistoryOptions
 * @property {Target} target
 * @property {boolean} canEdit
 * @property {string | null} [path] the key whose history is shown first (null: every key)
 * @property {(result: any, label: string) => Promise<void> | void} onRolledBack
 */

/**
 * The History panel.
 * @param {HistoryOptions} o
 * @returns {{el: HTMLElement, follow: (path: string | null) => void, refreshSoon: () => void, stop: () => void}}
 */
export function historyPanel(o) {
  const path = /** @type {HTMLInputElement} */ (
    h('input', { id: 'history-path', name: 'path', value: o.path || '', placeholder: 'every key', spellcheck: 'false', autocomplete: 'off' })
  );
  const box = errorBox();
  const list = h('div', { class: 'hist-list' });
  const older = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'quiet', hidden: true }, 'Older'));
  const form = /** @type {HTMLFormElement} */ (
    h('form', { class: 'history-form' }, h('label', { for: 'history-path' }, 'Of'), path, h('button', { type: 'submit', class: 'quiet' }, 'Show'))
  );
  /** @type {Entry[]} */
  let entries = [];
  let hasMore = false;
  /** The prefix shown (null: every key). @type {string | null} */
  let prefix = o.path || null;
  let reads = 0;
  let stopped = false;
  /** The operation (or entry) whose rollback is open, and its box. @type {{key: string, el: HTMLElement} | null} */
  let open = null;

  /**
   * Read the newest entries (older: the page after the last one shown;
   * merge: the newer ones go on top of those shown).
   * @param {{older?: boolean, merge?: boolean}} [how]
   */
  async function read(how = {}) {
    const mine = ++reads;
    const before = how.older && entries.length ? entries[entries.length - 1].id : null;
    older.disabled = true;
    try {
      const data = await gql(HISTORY, { t: targetVar(o.target), p: prefix, first: PAGE, before });
      if (mine !== reads || stopped) return;
      const page = data.history;
      const fresh = !how.older && entries.length && page.entries.length && page.entries[0].id !== entries[0].id;
      // Ids grow with each entry: the ones above the newest shown are new.
      const newest = entries.length ? Number(entries[0].id) : NaN;
      const newer = Number.isNaN(newest) ? null : page.entries.filter((/** @type {Entry} */ e) => Number(e.id) > newest);
      if (how.older) entries = [...entries, ...page.entries];
      else if (how.merge && newer && newer.length < page.entries.length) {
        entries = [...newer, ...entries]; // the older pages shown stay
      } else {
        entries = page.entries;
        hasMore = page.hasMore;
      }
      if (how.older) hasMore = page.hasMore;
      showError(box, '');
      render();
      if (fresh) flash(list.querySelector('.hist-op'));
    } catch (e) {
      if (mine === reads) showError(box, describe(e));
    } finally {
      if (mine === reads) older.disabled = false;
    }
  }

  function render() {
    const groups = groupByOperation(entries);
    const what = prefix ? h('code', {}, prefix) : 'any key';
    if (!groups.length) {
      replace(list, h('p', { class: 'empty hist-empty' }, 'No changes of ', what, ' recorded yet.'));
      older.hidden = true;
      return;
    }
    replace(list, groups.map(groupCard));
    older.hidden = !hasMore;
  }

  /** A write's changes, under who made it and when. @param {Entry[]} group */
  function groupCard(group) {
    const first = group[0];
    const key = first.operationId ? `op:${first.operationId}` : `entry:${first.id}`;
    const byMachine = first.origin === 'instance';
    const card = h(
      'section',
      { class: `hist-op${byMachine ? ' on-machine' : ''}`, dataset: { operation: first.operationId || '', key } },
      h(
        'header',
        { class: 'hist-head' },
        h(
          'span',
          { class: 'hist-who' },
          h('time', { datetime: first.at, title: new Date(first.at).toLocaleString() }, ago(first.at)),
          // "on the machine" is its actor already: said once.
          byMachine && first.actor === 'on the machine' ? null : h('span', { class: 'actor' }, first.actor),
          h('span', { class: 'badge origin' }, byMachine ? 'on the machine' : 'through clusterd'),
          first.operationId ? h('span', { class: 'muted op-id', title: first.operationId }, `write ${shortId(first.operationId)}`) : null,
          group.length > 1 ? h('span', { class: 'muted' }, `${group.length} changes`) : null,
        ),
        o.canEdit ? rollbackButton(group, key) : null,
      ),
      h('ul', { class: 'hist-entries' }, group.map(entryItem)),
    );
    if (open && open.key === key) card.append(open.el);
    return card;
  }

  /** @param {Entry[]} group @param {string} key */
  function rollbackButton(group, key) {
    const first = group[0];
    const button = h('button', { type: 'button', class: 'quiet small roll-back' }, 'Roll back to before this');
    // Each click asks afresh (a plan shown earlier may be stale by now).
    button.addEventListener('click', () => {
      // A write: just its keys (below the prefix shown) go back to before it;
      // a change on the machine: that key goes back to before that moment.
      const pathPrefix = first.operationId ? prefix || namespaceOf(first.path) : first.path;
      const to = first.operationId ? { toOperation: first.operationId } : { at: justBefore(first.at) };
      const label = first.operationId ? `roll back ${pathPrefix} to before write ${shortId(first.operationId)}` : `roll back ${pathPrefix} to before ${new Date(first.at).toLocaleString()}`;
      const el = rollbackBox({
        target: o.target,
        pathPrefix,
        to,
        label,
        onWritten: async (result, text) => {
          await o.onRolledBack(result, text);
          refreshSoon();
        },
        onClose: close,
      });
      open = { key, el };
      render();
    });
    return button;
  }

  function close() {
    open = null;
    render();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    prefix = path.value.trim() || null;
    open = null;
    entries = [];
    read();
  });
  older.addEventListener('click', () => read({ older: true }));

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** Read again soon (a change was made): the new entries go on top. */
  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(() => read({ merge: true }), 400);
  }

  const el = h(
    'section',
    { class: 'panel history-view', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'History'),
    h('p', { class: 'muted' }, 'Every change of a key and the keys below it, newest first: who, when, and what it was before.'),
    form,
    box,
    list,
    h('div', { class: 'buttons hist-more' }, older),
  );
  read();
  return {
    el,
    follow(key) {
      const next = key || null;
      if (next === prefix) return;
      prefix = next;
      path.value = next || '';
      open = null;
      entries = [];
      read();
    },
    refreshSoon,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
