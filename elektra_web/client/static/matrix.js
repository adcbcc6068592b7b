// @ts-check
// A cluster's fleet matrix (Cluster.matrix): each member's value of each key
// below a path side by side, next to the cluster's own; a member that differs
// is marked, a member that cannot be read is shown as such. Read on demand:
// it asks every member.

import { gql } from './api.js';
import { h, replace, showError, statusDot } from './dom.js';
import { describe } from './errors.js';

const MATRIX = `query($c: ID!, $p: String!) { cluster(id: $c) { matrix(pathPrefix: $p) {
  pathPrefix
  members { error instance { id name status cluster { id name } } }
  rows { name path differs differsFromCluster own { value } cells { differs key { value } } }
} } }`;

/**
 * The matrix panel of cluster ``clusterId``.
 * @param {string} clusterId
 * @param {string} [initialPath]
 * @returns {{el: HTMLElement}}
 */
export function matrixPanel(clusterId, initialPath = 'user:/') {
  const path = /** @type {HTMLInputElement} */ (
    h('input', { id: 'matrix-path', name: 'path', value: initialPath, required: true, spellcheck: 'false', autocomplete: 'off' })
  );
  const onlyDiffering = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'matrix-only-differing' }));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const result = h('div', { class: 'matrix-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'quiet' }, 'Show matrix');
  const form = h(
    'form',
    { class: 'matrix-form' },
    h('label', { for: 'matrix-path' }, 'Below'),
    path,
    button,
    h('label', { class: 'check' }, onlyDiffering, ' only keys that differ'),
  );
  /** @type {any} */
  let shown = null;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(error, '');
    replace(result, h('p', { class: 'loading' }, 'Reading every member…'));
    button.setAttribute('disabled', '');
    try {
      const data = await gql(MATRIX, { c: clusterId, p: path.value.trim() });
      shown = data.cluster && data.cluster.matrix;
      render();
    } catch (e) {
      replace(result);
      showError(error, describe(e));
    } finally {
      button.removeAttribute('disabled');
    }
  });
  onlyDiffering.addEventListener('change', () => shown && render());

  function render() {
    const m = shown;
    if (!m) return;
    const rows = onlyDiffering.checked ? m.rows.filter((/** @type {any} */ r) => r.differs || r.differsFromCluster) : m.rows;
    const differing = m.rows.filter((/** @type {any} */ r) => r.differs || r.differsFromCluster).length;
    const summary = h(
      'p',
      { class: 'matrix-summary' },
      `${m.rows.length} ${m.rows.length === 1 ? 'key' : 'keys'} below `,
      h('code', {}, m.pathPrefix),
      ` on ${m.members.length} ${m.members.length === 1 ? 'member' : 'members'}; `,
      differing ? h('strong', {}, `${differing} ${differing === 1 ? 'differs' : 'differ'}`) : 'all agree',
      '.',
    );
    if (!m.rows.length) {
      replace(result, summary);
      return;
    }
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, 'Key'),
      h('th', { scope: 'col', class: 'own' }, 'Cluster'),
      m.members.map((/** @type {any} */ member) =>
        h(
          'th',
          { scope: 'col', class: member.error ? 'member unread' : 'member', dataset: { id: member.instance.id } },
          statusDot(member.instance.status),
          ' ',
          h('a', { href: `#/instance/${encodeURIComponent(member.instance.id)}` }, member.instance.name),
          member.instance.cluster && member.instance.cluster.id !== clusterId
            ? h('span', { class: 'muted nested' }, ` (${member.instance.cluster.name})`)
            : null,
          member.error ? h('span', { class: 'member-error', title: member.error }, 'not read: ', member.error) : null,
        ),
      ),
    );
    const body = rows.map((/** @type {any} */ r) =>
      h(
        'tr',
        { class: r.differs || r.differsFromCluster ? 'row-differs' : null, dataset: { path: r.path } },
        h(
          'th',
          { scope: 'row', class: 'key-name' },
          r.differs || r.differsFromCluster ? h('span', { class: 'differs-mark', title: 'The members differ', 'aria-label': 'differs' }, '≠ ') : null,
          r.name === '' ? h('span', { class: 'muted' }, '(the path itself)') : r.name,
        ),
        h('td', { class: 'own' }, r.own ? value(r.own.value) : h('span', { class: 'muted' }, 'not set')),
        r.cells.map((/** @type {any} */ c) => cell(c)),
      ),
    );
    replace(
      result,
      summary,
      h('div', { class: 'table-scroll' }, h('table', { class: 'grid matrix-table' }, h('thead', {}, head), h('tbody', {}, body))),
    );
  }

  /** @param {any} c */
  function cell(c) {
    if (!c) return h('td', { class: 'unknown' }, h('span', { class: 'muted' }, 'unknown'));
    const content = c.key ? value(c.key.value) : h('span', { class: 'badge missing' }, 'missing');
    return h('td', { class: c.differs ? 'differs' : null }, content);
  }

  /** @param {string | null} v */
  function value(v) {
    if (v === null) return h('span', { class: 'muted' }, '(no value)');
    return h('span', { class: 'val', title: v }, v);
  }

  const el = h(
    'section',
    { class: 'panel matrix', 'aria-labelledby': 'matrix-title' },
    h('h2', { id: 'matrix-title' }, 'Fleet matrix'),
    h('p', { class: 'muted' }, 'Each member’s value of each key below a path, side by side with the cluster’s own; the differences are marked.'),
    form,
    error,
    result,
  );
  return { el };
}
