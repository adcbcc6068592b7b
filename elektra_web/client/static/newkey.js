// @ts-check
// "New key": a key anywhere in the target, refused here when it exists or a
// cluster sets it.

import { h, errorBox, guardSubmit } from './dom.js';
import { readKey } from './ops.js';
import { refused } from './errors.js';

/** @typedef {import('./editor.js').KeyContext} KeyContext */

/**
 * @param {KeyContext} ctx
 * @returns {HTMLFormElement}
 */
export function newKeyForm(ctx) {
  const path = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-key-path', name: 'path', autocomplete: 'off', spellcheck: 'false', placeholder: 'user:/app/port' })
  );
  const value = /** @type {HTMLInputElement} */ (h('input', { id: 'new-key-value', name: 'value', autocomplete: 'off' }));
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'new-key' },
      h('h3', {}, 'New key'),
      h('div', { class: 'field' }, h('label', { for: 'new-key-path' }, 'Key'), path),
      h('div', { class: 'field' }, h('label', { for: 'new-key-value' }, 'Value'), value),
      h('button', { type: 'submit' }, 'Add key'),
      box,
    )
  );
  guardSubmit(
    form,
    async () => {
      const name = path.value.trim();
      if (!name) throw refused('Name the key, like user:/app/port', 'INVALID_KEY_NAME');
      const before = await readKey(ctx.target, name);
      if (before.lockedBy) throw refused(`${before.path} is set by cluster ${before.lockedBy.name}`, 'KEY_LOCKED');
      if (before.exists) throw refused(`${before.path} exists already`, 'BAD_INPUT');
      await ctx.perform({
        label: `add ${before.path}`,
        path: before.path,
        forward: [{ op: 'set', path: before.path, value: value.value }],
        inverse: [{ op: 'delete', path: before.path }],
        select: before.path,
      });
    },
    { box, reset: true },
  );
  return form;
}
