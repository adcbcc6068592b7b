// @ts-check
// The skeleton of an instance's or a cluster's page: its parts (title, facts,
// side notes, progress, the key detail) and where each component goes —
// crumbs, head with Undo/Redo, the tree pane beside the detail, the tools
// (history, export and import) and, on a cluster's page, its matrix.

import { h, replace } from './dom.js';
import { matrixPanel } from './matrix.js';

/** @typedef {import('./undo.js').Target} Target */

/**
 * The elements the page's components draw into.
 * @typedef {object} TargetParts
 * @property {HTMLElement} title
 * @property {HTMLElement} facts
 * @property {HTMLElement} headError
 * @property {HTMLElement} side
 * @property {HTMLElement} progress
 * @property {HTMLElement} detail
 * @property {HTMLElement} treeError
 */

/**
 * The components laid out.
 * @typedef {object} TargetComponents
 * @property {HTMLElement} find
 * @property {HTMLElement} tree
 * @property {HTMLElement | null} newForm
 * @property {HTMLElement | null} undoRedo
 * @property {HTMLElement[]} tools
 */

/** @param {'instance' | 'cluster'} kind @returns {TargetParts} */
export function targetParts(kind) {
  return {
    title: h('h1', { class: 'target-title' }, kind === 'cluster' ? 'Cluster' : 'Instance'),
    facts: h('p', { class: 'facts' }),
    headError: h('p', { class: 'form-error', role: 'alert', hidden: true }),
    side: h('section', { class: 'side-info' }),
    progress: h('section', { class: 'progress', 'aria-live': 'polite', hidden: true }),
    detail: h('section', { class: 'detail', id: 'detail', 'aria-live': 'polite', tabindex: '-1' }),
    treeError: h('p', { class: 'form-error', role: 'alert', hidden: true }),
  };
}

/**
 * Put the page in ``main``.
 * @param {HTMLElement} main
 * @param {Target} target
 * @param {TargetParts} parts
 * @param {TargetComponents} c
 */
export function layoutTarget(main, { kind, id }, parts, c) {
  const treePane = h(
    'section',
    { class: 'tree-pane', 'aria-label': 'Configuration' },
    c.find,
    h('h2', { class: 'visually-hidden' }, 'Keys'),
    parts.treeError,
    c.tree,
    c.newForm,
  );
  main.replaceChildren(
    h(
      'div',
      { class: 'target', dataset: { kind, id } },
      h(
        'nav',
        { class: 'crumbs' },
        h('a', { href: '#/' }, '← Instances & clusters'),
        h('a', { class: 'compare-link', href: `#/compare?left=${kind}:${encodeURIComponent(id)}` }, 'Compare…'),
      ),
      h('header', { class: 'target-head' }, h('div', {}, parts.title, parts.facts, parts.headError), c.undoRedo),
      parts.side,
      parts.progress,
      h('div', { class: 'browser' }, treePane, parts.detail),
      h('div', { class: 'tools' }, c.tools),
      kind === 'cluster' ? matrixPanel(id).el : null,
    ),
  );
  replace(parts.detail, h('p', { class: 'muted' }, 'Choose a key to see its value and metadata.'));
}
