// @ts-check
// The compare page, #/compare?left=instance:ID&right=cluster:ID&path=user:/app:
// the keys that differ between two instances or clusters below a path
// (clusterd's compare query), each side's value and the metadata that differs.

import { gql } from './api.js';
import { h, replace, showError } from './dom.js';
import { describe } from './errors.js';

const TARGETS = '{ instances { id name status } clusters { id name } }';
const COMPARE = `query($l: Target!, $r: Target!, $p: String!) {
  compare(left: $l, right: $r, pathPrefix: $p) {
    name valueDiffers metaDiffers
    left { value meta { key value } }
    right { value meta { key value } }
  }
}`;

/**
 * "instance:3" or "cluster:2" as a Target input; null if it is neither.
 * @param {string | null} ref
 * @returns {{instanceId: string} | {clusterId: string} | null}
 */
export function toTarget(ref) {
  const m = /^(instance|cluster):(.+)$/.exec(ref || '');
  if (!m) return null;
  return m[1] === 'instance' ? { instanceId: m[2] } : { clusterId: m[2] };
}

/**
 * @param {HTMLElement} main
 * @param {any} _app
 * @param {URLSearchParams} params
 */
export function mountCompare(main, _app, params) {
  let destroyed = false;
  const left = /** @type {HTMLSelectElement} */ (h('select', { id: 'compare-left', name: 'left', required: true }));
  const right = /** @type {HTMLSelectElement} */ (h('select', { id: 'compare-right', name: 'right', required: true }));
  const path = /** @type {HTMLInputElement} */ (
    h('input', { id: 'compare-path', name: 'path', value: params.get('path') || 'user:/', required: true, spellcheck: 'false', autocomplete: 'off' })
  );
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const result = h('section', { class: 'compare-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Compare');
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'compare-form' },
      h('label', { for: 'compare-left' }, 'Left'),
      left,
      h('label', { for: 'compare-right' }, 'Right'),
      right,
      h('label', { for: 'compare-path' }, 'Below'),
      path,
      button,
    )
  );
  main.replaceChildren(
    h(
      'div',
      { class: 'compare' },
      h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, '← Instances & clusters')),
      h(
        'section',
        { class: 'panel' },
        h('h1', {}, 'Compare'),
        h(
          'p',
          { class: 'muted' },
          'The keys that differ between two instances or clusters below a path: values, metadata, or a key only one side has. ' +
            'An instance is read live; a cluster shows the keys it sets itself.',
        ),
        form,
        error,
      ),
      result,
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ left: left.value, right: right.value, path: path.value.trim() });
    const hash = `#/compare?${query}`;
    if (location.hash !== hash) window.history.replaceState(null, '', hash);
    run();
  });

  /** @param {HTMLSelectElement} select @param {any} data @param {string | null} chosen */
  function fill(select, data, chosen) {
    const option = (/** @type {string} */ value, /** @type {string} */ label) =>
      h('option', { value, selected: value === chosen }, label);
    replace(
      select,
      h('optgroup', { label: 'Instances' }, data.instances.map((/** @type {any} */ i) => option(`instance:${i.id}`, i.name))),
      h('optgroup', { label: 'Clusters' }, data.clusters.map((/** @type {any} */ c) => option(`cluster:${c.id}`, c.name))),
    );
  }

  /** @type {Map<string, string>} "instance:3" -> its name */
  const names = new Map();

  async function run() {
    showError(error, '');
    const l = toTarget(left.value);
    const r = toTarget(right.value);
    if (!l || !r) {
      showError(error, 'Choose the two sides to compare.');
      return;
    }
    const prefix = path.value.trim();
    replace(result, h('p', { class: 'loading' }, 'Comparing…'));
    button.setAttribute('disabled', '');
    try {
      const data = await gql(COMPARE, { l, r, p: prefix });
      if (destroyed) return;
      render(data.compare, names.get(left.value) || 'left', names.get(right.value) || 'right', prefix);
    } catch (e) {
      if (destroyed) return;
      replace(result);
      showError(error, describe(e));
    } finally {
      button.removeAttribute('disabled');
    }
  }

  /**
   * @param {any[]} found
   * @param {string} leftName
   * @param {string} rightName
   * @param {string} prefix
   */
  function render(found, leftName, rightName, prefix) {
    if (!found.length) {
      replace(result, h('p', { class: 'panel compare-same' }, `No differences below ${prefix}: the two hold the same keys.`));
      return;
    }
    replace(
      result,
      h('h2', {}, `${found.length} ${found.length === 1 ? 'key differs' : 'keys differ'} below `, h('code', {}, prefix)),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'grid compare-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, leftName), h('th', { scope: 'col' }, rightName))),
          h(
            'tbody',
            {},
            found.map((d) =>
              h(
                'tr',
                { dataset: { name: d.name } },
                h('th', { scope: 'row', class: 'key-name' }, d.name === '' ? h('span', { class: 'muted' }, '(the path itself)') : d.name),
                side(d.left, d),
                side(d.right, d),
              ),
            ),
          ),
        ),
      ),
    );
  }

  /** One side's cell: its value and the metadata that differs, or "missing". @param {any} key @param {any} d */
  function side(key, d) {
    if (!key) return h('td', { class: 'missing' }, h('span', { class: 'badge missing' }, 'missing'));
    const meta = new Map(key.meta.map((/** @type {any} */ m) => [m.key, m.value]));
    return h(
      'td',
      { class: d.valueDiffers ? 'differs' : null },
      h('span', { class: 'val' }, key.value === null ? h('span', { class: 'muted' }, '(no value)') : key.value),
      d.metaDiffers.length
        ? h(
            'ul',
            { class: 'meta-differs' },
            d.metaDiffers.map((/** @type {string} */ name) =>
              h('li', {}, h('code', {}, name), ' ', meta.has(name) ? `= ${meta.get(name)}` : h('span', { class: 'muted' }, '(not set)')),
            ),
          )
        : null,
    );
  }

  gql(TARGETS)
    .then((data) => {
      if (destroyed) return;
      for (const i of data.instances) names.set(`instance:${i.id}`, i.name);
      for (const c of data.clusters) names.set(`cluster:${c.id}`, c.name);
      fill(left, data, params.get('left'));
      fill(right, data, params.get('right'));
      if (params.get('left') && params.get('right')) run();
    })
    .catch((e) => showError(error, describe(e)));

  return {
    destroy() {
      destroyed = true;
    },
  };
}
