// One key in detail: its value and metadata, and the edits the server would
// accept (none on a key its cluster locks: a link to edit it there instead).

import { h, replace, errorBox, showError, joinKey, parentOf } from './dom.js';
import { describe } from './errors.js';
import { validate, describeRules } from './validation.js';
import { shortReason } from './deliveries.js';
import {
  readKey,
  readSubtree,
  inverseOfSet,
  inverseOfMeta,
  restoreOps,
  UNDO_LIMIT,
} from './ops.js';

function isNamespaceRoot(path) {
  return parentOf(path) === null;
}

function lockLink(cluster, path) {
  return h(
    'a',
    { href: `#/cluster/${cluster.id}?path=${encodeURIComponent(path)}`, class: 'edit-in-cluster' },
    `Edit it in cluster ${cluster.name}`,
  );
}

/** Guard a form: run ``action`` on submit, show its refusal inline. */
function onSubmit(form, box, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(box, '');
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => (b.disabled = true));
    try {
      await action(event.submitter);
    } catch (e) {
      showError(box, describe(e));
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
}

/** A refusal decided here, before anything is sent. */
function refused(message, code = 'VALIDATION_FAILED') {
  return Object.assign(new Error(message), { code });
}

/**
 * Show ``path`` in ``container``. ``ctx``: {target, canEdit, perform, onNotice}.
 * Returns the key as read.
 */
export async function showKey(container, ctx, path) {
  container.dataset.path = path;
  replace(container, h('p', { class: 'loading' }, 'Loading ', path, '…'));
  let key;
  try {
    key = await readKey(ctx.target, path);
  } catch (e) {
    if (container.dataset.path === path) {
      replace(container, h('h2', { class: 'key-path' }, path), h('p', { class: 'form-error' }, describe(e)));
    }
    return null;
  }
  if (container.dataset.path !== path) return null; // another key was chosen meanwhile
  const locked = ctx.target.kind === 'instance' ? key.lockedBy : null;
  const editable = ctx.canEdit && !locked;
  const parts = [h('h2', { class: 'key-path' }, path)];

  if (locked) {
    parts.push(
      h(
        'p',
        { class: 'locked-note' },
        'Locked: set by cluster ',
        h('strong', {}, locked.name),
        '; members cannot change it. ',
        lockLink(locked, path),
      ),
    );
  }
  // The cluster's value for it that this instance refused, or that waits.
  for (const p of ctx.notApplied ? ctx.notApplied(path) : []) {
    const failed = p.status === 'FAILED';
    const ops = { DELETE: 'deletion', META: `metadata change (${p.meta})`, MOVE: 'move', COPY: 'copy' };
    const what = p.op === 'SET' ? `The cluster's value ${JSON.stringify(p.value ?? '')}` : `The cluster's ${ops[p.op] || p.op}`;
    parts.push(
      h(
        'p',
        { class: `not-applied-note ${failed ? 'failed' : 'pending'}`, role: 'status' },
        h('strong', {}, failed ? '⚠ Not applied here. ' : 'Not delivered yet. '),
        failed ? `${what} was refused` : `${what} waits`,
        p.lastError ? `: ${shortReason(p.lastError, p.path)}` : '',
        failed ? '. This instance keeps its own value until the key changes again or the write is retried.' : '.',
      ),
    );
  }

  // -- the value ---------------------------------------------------------------
  const rules = describeRules(key.meta);
  if (editable && !isNamespaceRoot(path)) {
    const box = errorBox();
    const input = h('input', {
      id: 'value-input',
      name: 'value',
      type: 'text',
      autocomplete: 'off',
      spellcheck: 'false',
      value: key.value ?? '',
      'aria-describedby': rules ? 'value-rules' : null,
    });
    input.addEventListener('input', () => {
      const why = validate(input.value, key.meta);
      input.setAttribute('aria-invalid', why ? 'true' : 'false');
      showError(box, why ? `Not saved: ${why}` : '');
    });
    const form = h(
      'form',
      { class: 'value-form' },
      h('label', { for: 'value-input' }, key.exists ? 'Value' : 'Value (not set: only keys below)'),
      h('div', { class: 'inline-fields' }, input, h('button', { type: 'submit' }, 'Save')),
      rules ? h('p', { class: 'hint', id: 'value-rules' }, `Allowed: ${rules}`) : null,
      box,
    );
    onSubmit(form, box, async () => {
      const why = validate(input.value, key.meta);
      if (why) throw refused(`Not saved: ${why}`);
      const before = await readKey(ctx.target, path);
      if (before.lockedBy && ctx.target.kind === 'instance') {
        throw refused(`${path} is set by cluster ${before.lockedBy.name}`, 'KEY_LOCKED');
      }
      await ctx.perform({
        label: `set ${path} = ${input.value}`,
        path,
        forward: [{ op: 'set', path, value: input.value }],
        inverse: inverseOfSet(before),
      });
    });
    parts.push(form);
  } else if (!isNamespaceRoot(path)) {
    parts.push(
      h('p', { class: 'label' }, 'Value'),
      key.exists && key.value !== null
        ? h('pre', { class: 'value' }, key.value === '' ? '(empty)' : key.value)
        : h('p', { class: 'muted' }, key.exists ? '(no value)' : 'Not a key itself: only keys below it.'),
    );
  }

  // -- metadata ----------------------------------------------------------------
  const metaNames = Object.keys(key.meta).sort();
  const metaBox = errorBox();
  const rows = metaNames.map((name) =>
    h(
      'tr',
      { dataset: { meta: name } },
      h('th', { scope: 'row' }, name),
      h('td', {}, key.meta[name]),
      editable
        ? h(
            'td',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'quiet small',
                'aria-label': `Remove metadata ${name}`,
                onclick: async () => {
                  showError(metaBox, '');
                  try {
                    const before = await readKey(ctx.target, path);
                    await ctx.perform({
                      label: `remove ${name} of ${path}`,
                      path,
                      forward: [{ op: 'deleteMeta', path, key: name }],
                      inverse: inverseOfMeta(before, name),
                    });
                  } catch (e) {
                    showError(metaBox, describe(e));
                  }
                },
              },
              'Remove',
            ),
          )
        : null,
    ),
  );
  if (key.exists || metaNames.length) {
    parts.push(
      h('h3', {}, 'Metadata'),
      metaNames.length
        ? h('table', { class: 'meta' }, h('tbody', {}, rows))
        : h('p', { class: 'muted' }, 'No metadata.'),
    );
  }
  if (editable && key.exists) {
    const nameInput = h('input', { id: 'meta-name', name: 'meta-name', placeholder: 'check/type', autocomplete: 'off' });
    const valueInput = h('input', { id: 'meta-value', name: 'meta-value', placeholder: 'long', autocomplete: 'off' });
    const form = h(
      'form',
      { class: 'meta-form' },
      h('div', { class: 'field' }, h('label', { for: 'meta-name' }, 'Metadata name'), nameInput),
      h('div', { class: 'field' }, h('label', { for: 'meta-value' }, 'Value'), valueInput),
      h('button', { type: 'submit' }, 'Set metadata'),
      metaBox,
    );
    onSubmit(form, metaBox, async () => {
      const name = nameInput.value.trim();
      if (!name) throw refused('A metadata entry needs a name', 'BAD_INPUT');
      const before = await readKey(ctx.target, path);
      await ctx.perform({
        label: `set ${name} of ${path}`,
        path,
        forward: [{ op: 'setMeta', path, key: name, value: valueInput.value }],
        inverse: inverseOfMeta(before, name),
      });
    });
    parts.push(form);
  } else if (editable) {
    parts.push(metaBox);
  }

  // -- structure: add below, move/copy, delete ---------------------------------
  if (ctx.canEdit) {
    const addBox = errorBox();
    const addName = h('input', { id: 'add-name', name: 'add-name', placeholder: 'name', autocomplete: 'off' });
    const addValue = h('input', { id: 'add-value', name: 'add-value', autocomplete: 'off' });
    const addForm = h(
      'form',
      { class: 'add-form' },
      h('h3', {}, 'Add a key below'),
      h('div', { class: 'field' }, h('label', { for: 'add-name' }, 'Name'), addName),
      h('div', { class: 'field' }, h('label', { for: 'add-value' }, 'Value'), addValue),
      h('button', { type: 'submit' }, 'Add key'),
      addBox,
    );
    onSubmit(addForm, addBox, async () => {
      const name = addName.value.trim().replace(/^\/+/, '');
      if (!name) throw refused('The new key needs a name', 'INVALID_KEY_NAME');
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
    });
    parts.push(addForm);
  }

  if (editable && !isNamespaceRoot(path)) {
    const moveBox = errorBox();
    const dest = h('input', { id: 'move-to', name: 'move-to', value: path, autocomplete: 'off', spellcheck: 'false' });
    const moveForm = h(
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
      moveBox,
    );
    onSubmit(moveForm, moveBox, async (submitter) => {
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
    });
    parts.push(moveForm);
  }

  if (editable && !isNamespaceRoot(path) && (key.exists || key.children.length)) {
    const delBox = errorBox();
    const confirmArea = h('div', { class: 'confirm', hidden: true });
    const start = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          showError(delBox, '');
          let keys;
          try {
            keys = await readSubtree(ctx.target, path);
          } catch (e) {
            showError(delBox, describe(e));
            return;
          }
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
          const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-delete' }, 'Delete');
          const no = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
          no.addEventListener('click', () => {
            confirmArea.hidden = true;
            start.focus();
          });
          yes.addEventListener('click', async () => {
            yes.disabled = true;
            try {
              await ctx.perform({
                label: `delete ${path}${below ? ` and ${below} keys below` : ''}`,
                path,
                forward: [{ op: 'delete', path }],
                inverse: undoable ? restoreOps(keys) : null,
                deleted: true,
              });
            } catch (e) {
              yes.disabled = false;
              showError(delBox, describe(e));
            }
          });
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
      },
      key.children.length ? 'Delete subtree…' : 'Delete key…',
    );
    parts.push(h('div', { class: 'delete-area' }, h('h3', {}, 'Delete'), start, confirmArea, delBox));
  }

  if (!ctx.canEdit) parts.push(h('p', { class: 'muted' }, 'You can read this configuration but not change it.'));
  replace(container, parts);
  return key;
}
