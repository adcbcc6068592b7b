// @ts-check
// "Find keys": by name (an instance asks its elektrad), or by name and value
// (every key read once); the results link to the keys.

import { gql } from './api.js';
import { h, replace, errorBox, guardSubmit } from './dom.js';
import { findEverywhere } from './ops.js';

/** @typedef {import('./undo.js').Target} Target */

const FIND = 'query($id: ID!, $q: String!) { instance(id: $id) { find(query: $q) } }';
const SHOWN = 100;

/**
 * The find form of a target; ``reveal(path)`` opens the tree at a result.
 * @param {Target} target
 * @param {(path: string) => any} reveal
 * @returns {HTMLFormElement}
 */
export function findForm(target, reveal) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { id: 'find-query', type: 'search', name: 'q', autocomplete: 'off', placeholder: 'part of a key name' })
  );
  const inValues = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'find-values', name: 'values' }));
  const results = h('div', { class: 'find-results', 'aria-live': 'polite' });
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'find-form', role: 'search' },
      h('label', { for: 'find-query' }, 'Find keys'),
      h('div', { class: 'inline-fields' }, input, h('button', { type: 'submit' }, 'Find')),
      target.kind === 'instance'
        ? h('label', { class: 'check', for: 'find-values' }, inValues, ' in values too')
        : h('p', { class: 'hint' }, 'Searches names and values.'),
      box,
      results,
    )
  );
  guardSubmit(
    form,
    async () => {
      const query = input.value.trim();
      if (!query) return replace(results);
      const names = await find(target, query, inValues.checked);
      replace(
        results,
        h(
          'p',
          { class: 'muted' },
          names.length
            ? `${names.length} key${names.length === 1 ? '' : 's'}${names.length > SHOWN ? ` (first ${SHOWN})` : ''}`
            : `No key name contains “${query}”.`,
        ),
        h(
          'ul',
          { class: 'found' },
          names.slice(0, SHOWN).map((p) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => reveal(p) }, p))),
        ),
      );
    },
    { box },
  );
  return form;
}

/**
 * @param {Target} target
 * @param {string} query
 * @param {boolean} inValues
 * @returns {Promise<string[]>}
 */
async function find(target, query, inValues) {
  if (target.kind === 'cluster') return findEverywhere(target, query);
  /** @type {string[]} */
  const names = (await gql(FIND, { id: target.id, q: query })).instance.find;
  if (!inValues) return names;
  return [...new Set([...names, ...(await findEverywhere(target, query))])].sort();
}
