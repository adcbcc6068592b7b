// @ts-check
// The structure of one key in its detail (editor.js): add a key below it (as
// far as its file can hold one), move or copy it, delete it (a subtree after a
// confirmation that counts its keys); and the link to a locked key's cluster.

import { h, replace, errorBox, joinKey, guardSubmit, guardButton } from './dom.js';
import { readKey, readSubtree, restoreOps, UNDO_LIMIT } from './ops.js';
import { belowRule } from './mounts.js';
import { refused } from './errors.js';

/** @typedef {import('./editor.js').Key} Key */
/** @typedef {import('./editor.js').KeyContext} KeyContext */

/** Where a key its cluster sets is edited. @param {{id: string, name: string}} cluster @param {string} path */
export function lockLink(cluster, path) {
  return h(
    'a',
    { href: `#/cluster/${cluster.id}?path=${encodeURIComponent(path)}`, class: 'edit-in-cluster' },
    `Edit it in cluster ${cluster.name}`,
  );
}

/**
 * "Add a key below", as far as the key's file can hold it (mounts.js).
 * @param {KeyContext} ctx @param {Key} key
 */
export function addBelowForm(ctx, key) {
  const path = key.path;
  const rule = belowRule(key);
  if (!rule.allowed) return h('p', { class: 'hint no-children' }, rule.why);
  const box = errorBox();
  const addName = h('input', { id: 'add-name', name: 'add-name', placeholder: 'name', autocomplete: 'off' });
  const addValue = h('input', { id: 'add-value', name: 'add-value', autocomplete: 'off' });
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'add-form' },
      h('h3', {}, 'Add a key below'),
      rule.hint ? h('p', { class: 'hint' }, rule.hint) : null,
      h('div', { class: 'field' }, h('label', { for: 'add-name' }, 'Name'), addName),
      h('div', { class: 'field' }, h('label', { for: 'add-value' }, 'Value'), addValue),
      h('button', { type: 'submit' }, 'Add key'),
      box,
    )
  );
  guardSubmit(
    form,
    async () => {
      const name = addName.value.trim().replace(/^\/+/, '');
      if (!name) throw refused('The new key needs a name', 'INVALID_KEY_NAME');
      const unfit = rule.check(name);
      if (unfit) throw refused(unfit, 'BAD_INPUT');
      const newPath = joinKey(path, name);
      const before = await readKey(ctx.target, newPath);
      if (before.lockedBy && ctx.target.kind === 'instance') {
        throw refused(`${before.path} is set by cluster ${before.lockedBy.name}; add it there`, 'KEY_LOCKED');
      }
      if (before.exists) throw refused(`${before.path} exists already; select it to change it`, 'BAD_INPUT');
      await ctx.perform({
        label: `add ${before.path}`,
        path: before.path,
        forward: [{ op: 'set', path: before.path, value: addValue.value }],
        inverse: [{ op: 'delete', path: before.path }],
        select: before.path,
      });
    },
    { box, reset: true },
  );
  return form;
}

/** "Move or copy". @param {KeyContext} ctx @param {string} path */
export function moveForm(ctx, path) {
  const box = errorBox();
  const dest = h('input', { id: 'move-to', name: 'move-to', value: path, autocomplete: 'off', spellcheck: 'false' });
  dest.defaultValue = path;
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'move-form' },
      h('h3', {}, 'Move or copy'),
      h('div', { class: 'field' }, h('label', { for: 'move-to' }, 'To'), dest),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'submit', value: 'move' }, 'Move'),
        h('button', { type: 'submit', value: 'copy' }, 'Copy'),
      ),
      box,
    )
  );
  guardSubmit(
    form,
    async (submitter) => {
      const op = submitter && submitter.value === 'copy' ? 'copy' : 'move';
      const to = dest.value.trim();
      if (!to || to === path) throw refused('Name a different key to move or copy to', 'BAD_INPUT');
      const target = await readKey(ctx.target, to);
      if (target.exists || target.children.length) {
        throw refused(`${target.path} exists already; delete it first or choose another name`, 'BAD_INPUT');
      }
      if (ctx.target.kind === 'instance' && target.lockedBy) {
        throw refused(`${target.path} is set by cluster ${target.lockedBy.name}`, 'KEY_LOCKED');
      }
      if (op === 'move' && ctx.target.kind === 'instance') {
        const lockedBelow = (await readSubtree(ctx.target, path)).find((k) => k.lockedBy);
        if (lockedBelow) {
          throw refused(
            `${lockedBelow.path} below is set by cluster ${lockedBelow.lockedBy.name}; it cannot be moved here`,
            'KEY_LOCKED',
          );
        }
      }
      await ctx.perform({
        label: `${op} ${path} to ${target.path}`,
        path: target.path,
        forward: [{ op, from: path, to: target.path }],
        inverse: op === 'move' ? [{ op: 'move', from: target.path, to: path }] : [{ op: 'delete', path: target.path }],
        select: target.path,
      });
    },
    { box },
  );
  return form;
}

/** "Delete key…" and its confirmation. @param {KeyContext} ctx @param {Key} key */
export function deleteArea(ctx, key) {
  const path = key.path;
  const box = errorBox();
  const confirmArea = h('div', { class: 'confirm', hidden: true });
  const start = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'danger' }, key.children.length ? 'Delete subtree…' : 'Delete key…')
  );
  guardButton(
    start,
    async () => {
      const keys = await readSubtree(ctx.target, path);
      const lockedKey = ctx.target.kind === 'instance' ? keys.find((k) => k.lockedBy) : null;
      confirmArea.hidden = false;
      if (lockedKey) {
        replace(
          confirmArea,
          h(
            'p',
            { class: 'form-error', role: 'alert' },
            `Cannot delete here: ${lockedKey.path} is set by cluster ${lockedKey.lockedBy.name}. `,
            lockLink(lockedKey.lockedBy, lockedKey.path),
          ),
        );
        return;
      }
      const below = keys.filter((k) => k.path !== path).length;
      const undoable = keys.length <= UNDO_LIMIT;
      const yes = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'danger', id: 'confirm-delete' }, 'Delete'));
      const no = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
      no.addEventListener('click', () => {
        confirmArea.hidden = true;
        start.focus();
      });
      guardButton(
        yes,
        () =>
          ctx.perform({
            label: `delete ${path}${below ? ` and ${below} keys below` : ''}`,
            path,
            forward: [{ op: 'delete', path }],
            inverse: undoable ? restoreOps(keys) : null,
            deleted: true,
          }),
        { box, root: confirmArea },
      );
      replace(
        confirmArea,
        h(
          'p',
          {},
          `Delete ${path}`,
          below ? ` and the ${below.toLocaleString('en')} key${below === 1 ? '' : 's'} below it` : '',
          '?',
          undoable ? '' : ' This cannot be undone from this page.',
        ),
        h('div', { class: 'buttons' }, yes, no),
      );
      yes.focus();
    },
    { box },
  );
  return h('div', { class: 'delete-area' }, h('h3', {}, 'Delete'), start, confirmArea, box);
}
