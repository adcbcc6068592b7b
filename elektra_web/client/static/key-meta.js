// @ts-check
// The metadata of one key in its detail (editor.js): the table, with Remove
// buttons, and the form that sets an entry; each change is one undoable write.

import { h, errorBox, guardSubmit, guardButton } from './dom.js';
import { readKey, inverseOfMeta } from './ops.js';
import { refused } from './errors.js';

/** @typedef {import('./editor.js').Key} Key */
/** @typedef {import('./editor.js').KeyContext} KeyContext */

/** The metadata table (with Remove buttons) and the form that sets one. @param {KeyContext} ctx @param {Key} key @param {boolean} editable */
export function metadataSection(ctx, key, editable) {
  const path = key.path;
  const names = Object.keys(key.meta).sort();
  const box = errorBox();
  const parts = [];
  const rows = names.map((name) => {
    const remove = editable
      ? /** @type {HTMLButtonElement} */ (
          h('button', { type: 'button', class: 'quiet small', 'aria-label': `Remove metadata ${name}` }, 'Remove')
        )
      : null;
    if (remove) {
      guardButton(
        remove,
        async () => {
          const before = await readKey(ctx.target, path);
          await ctx.perform({
            label: `remove ${name} of ${path}`,
            path,
            forward: [{ op: 'deleteMeta', path, key: name }],
            inverse: inverseOfMeta(before, name),
          });
        },
        { box },
      );
    }
    return h(
      'tr',
      { dataset: { meta: name } },
      h('th', { scope: 'row' }, name),
      h('td', {}, key.meta[name]),
      remove ? h('td', {}, remove) : null,
    );
  });
  if (key.exists || names.length) {
    parts.push(
      h('h3', {}, 'Metadata'),
      names.length ? h('table', { class: 'meta' }, h('tbody', {}, rows)) : h('p', { class: 'muted' }, 'No metadata.'),
    );
  }
  if (editable && key.exists) {
    const nameInput = h('input', { id: 'meta-name', name: 'meta-name', placeholder: 'check/type', autocomplete: 'off' });
    const valueInput = h('input', { id: 'meta-value', name: 'meta-value', placeholder: 'long', autocomplete: 'off' });
    const form = /** @type {HTMLFormElement} */ (
      h(
        'form',
        { class: 'meta-form' },
        h('div', { class: 'field' }, h('label', { for: 'meta-name' }, 'Metadata name'), nameInput),
        h('div', { class: 'field' }, h('label', { for: 'meta-value' }, 'Value'), valueInput),
        h('button', { type: 'submit' }, 'Set metadata'),
        box,
      )
    );
    guardSubmit(
      form,
      async () => {
        const name = nameInput.value.trim();
        if (!name) throw refused('A metadata entry needs a name', 'BAD_INPUT');
        const before = await readKey(ctx.target, path);
        await ctx.perform({
          label: `set ${name} of ${path}`,
          path,
          forward: [{ op: 'setMeta', path, key: name, value: valueInput.value }],
          inverse: inverseOfMeta(before, name),
        });
      },
      { box },
    );
    parts.push(form);
  } else if (editable) {
    parts.push(box);
  }
  return parts;
}
