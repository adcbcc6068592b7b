// @ts-check
// The Access page's audit log: newest first, a page at a time, filtered by
// actor and action; arguments with names where clusterd gives them.

import { gql } from './api.js';
import { h, replace, errorBox, showError } from './dom.js';
import { describe } from './errors.js';
import { time, when, withoutNulls, withNames, stackTable, labelCells } from './access-format.js';

const PAGE = 50;
const COLUMNS = ['Time', 'Actor', 'Action', 'Outcome', 'Arguments'];
const AUDIT = `query($first: Int!, $before: ID, $actor: String, $action: String) {
  auditLog(first: $first, before: $before, actor: $actor, action: $action) { id at actor action arguments outcome } }`;
// The mutations clusterd records, offered as the action filter's suggestions.
const ACTIONS = [
  'addInstance', 'updateInstance', 'removeInstance', 'createCluster', 'updateCluster',
  'deleteCluster', 'assignInstance', 'unassignInstance', 'setKey', 'deleteKey', 'moveKey',
  'copyKey', 'setMeta', 'deleteMeta', 'resolveDrift', 'createToken', 'revokeToken',
  'rotateToken',
];

/** @typedef {{id: string, at: string, actor: string, action: string, arguments: any, outcome: string}} AuditEntry */

/** One entry's row. @param {AuditEntry} e */
function entryRow(e) {
  const ok = e.outcome === 'OK';
  let args = '';
  let full = '';
  try {
    args = JSON.stringify(withNames(withoutNulls(e.arguments)));
    full = JSON.stringify(e.arguments, null, 1);
  } catch {
    args = String(e.arguments);
  }
  if (args === '{}' || args === 'null') args = '';
  const tr = h(
    'tr',
    { class: 'entry', dataset: { id: e.id, action: e.action, outcome: e.outcome } },
    h('td', { class: 'nowrap' }, time(e.at, when(e.at, true))),
    h('td', { class: 'actor' }, e.actor),
    h('td', { class: 'action' }, h('code', {}, e.action)),
    h('td', {}, h('span', { class: ok ? 'badge outcome ok' : 'badge outcome refused' }, ok ? 'OK' : e.outcome)),
    h('td', { class: 'arguments' }, args ? h('code', { title: full }, args) : h('span', { class: 'muted' }, '—')),
  );
  labelCells(tr, COLUMNS);
  return tr;
}

export function auditPanel() {
  let destroyed = false;
  /** @type {AuditEntry[]} */
  let entries = [];
  /** @type {HTMLElement | null} */
  let body = null;
  let seq = 0;

  const list = h('div', { id: 'audit-list' }, h('p', { class: 'loading' }, 'Loading…'));
  const error = errorBox();
  const actorNames = h('datalist', { id: 'audit-actors' });
  const actorInput = /** @type {HTMLInputElement} */ (
    h('input', { id: 'audit-actor', name: 'actor', autocomplete: 'off', list: 'audit-actors', placeholder: 'anyone' })
  );
  const actionInput = /** @type {HTMLInputElement} */ (
    h('input', { id: 'audit-action', name: 'action', autocomplete: 'off', spellcheck: 'false', list: 'audit-actions', placeholder: 'any, e.g. setKey' })
  );
  const filterForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'audit-filter', 'aria-label': 'Filter the audit log' },
      h('div', { class: 'field' }, h('label', { for: 'audit-actor' }, 'Actor (exact)'), actorInput, actorNames),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'audit-action' }, 'Action (exact)'),
        actionInput,
        h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
      ),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'submit' }, 'Filter'),
        h('button', { type: 'button', class: 'quiet', onclick: () => (filterForm.reset(), load()) }, 'Clear'),
      ),
    )
  );
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  const olderButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'quiet', id: 'audit-older', hidden: true, onclick: () => load(true) }, 'Older')
  );
  const end = h('p', { class: 'hint', id: 'audit-end', hidden: true }, 'No older entries.');

  function render() {
    if (!entries.length) {
      body = null;
      replace(list, h('p', { class: 'empty' }, actorInput.value || actionInput.value ? 'No entries match.' : 'Nothing recorded yet.'));
      return;
    }
    body = h('tbody', {}, entries.map(entryRow));
    replace(list, stackTable('Audit log', 'audit', COLUMNS, body));
  }

  /** The newest page (``older``: the page before the last entry shown, appended). */
  async function load(older = false) {
    const mine = ++seq;
    showError(error, '');
    olderButton.disabled = true;
    const before = older && entries.length ? entries[entries.length - 1].id : null;
    try {
      const data = await gql(AUDIT, {
        first: PAGE,
        before,
        actor: actorInput.value.trim() || null,
        action: actionInput.value.trim() || null,
      });
      if (destroyed || mine !== seq) return;
      /** @type {AuditEntry[]} */
      const page = data.auditLog;
      if (older && body) {
        entries = entries.concat(page);
        for (const e of page) body.append(entryRow(e));
      } else {
        entries = page;
        render();
      }
      olderButton.hidden = page.length < PAGE;
      end.hidden = !(older && page.length < PAGE);
      if (older && page.length && body) body.querySelector(`tr[data-id="${CSS.escape(page[0].id)}"]`)?.scrollIntoView({ block: 'nearest' });
      if (older && !page.length) olderButton.focus();
    } catch (e) {
      if (/** @type {any} */ (e).code === 'UNAUTHENTICATED' || destroyed) return;
      showError(error, `Could not load the audit log. ${describe(e)}`);
    } finally {
      olderButton.disabled = false;
    }
  }

  return {
    el: h(
      'section',
      { class: 'panel', 'aria-labelledby': 'audit-title' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', { id: 'audit-title' }, 'Audit log'),
        h('button', { type: 'button', class: 'quiet small', onclick: () => load() }, 'Refresh'),
      ),
      h('p', { class: 'hint' }, 'Every change asked of clusterd, newest first; secrets are left out.'),
      filterForm,
      error,
      list,
      h('div', { class: 'buttons audit-more' }, olderButton, end),
    ),
    load,
    /** Actors are recorded as "NAME (token ID)": suggest those of the tokens. @param {{id: string, name: string}[]} tokens */
    setActors(tokens) {
      replace(actorNames, tokens.map((t) => h('option', { value: `${t.name} (token ${t.id})` })));
    },
    destroy() {
      destroyed = true;
    },
  };
}
