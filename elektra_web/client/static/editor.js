// @ts-check
// One key in detail: its value and metadata, and the edits the server would
// accept (none on a key its cluster locks: a link to edit it there instead).
//
// Each part is a small component with one job: notes (lock, cluster writes not
// applied), the value editor (keeps a draft: a change made elsewhere while it is
// edited is shown, never typed over), metadata (key-meta.js), add below,
// move/copy, delete (key-structure.js).
// showKey() draws a key afresh; refreshKey() redraws it after a change made
// elsewhere and keeps what is being typed.

import { h, replace, errorBox, showError, parentOf, flash, guardSubmit } from './dom.js';
import { describe, refused } from './errors.js';
import { validate, describeRules } from './validation.js';
import { shortReason } from './deliveries.js';
import { readKey, inverseOfSet } from './ops.js';
import { mountNote } from './mounts.js';
import { metadataSection } from './key-meta.js';
import { addBelowForm, moveForm, deleteArea, lockLink } from './key-structure.js';

/** @typedef {import('./undo.js').Op} Op */
/** @typedef {import('./undo.js').Target} Target */
/**
 * A key as readKey returns it.
 * @typedef {object} Key
 * @property {string} path
 * @property {boolean} exists
 * @property {string | null} value
 * @property {Record<string, string>} meta
 * @property {string[]} children
 * @property {{id: string, name: string} | null} [lockedBy]
 * @property {import('./mounts.js').Mount | null} [mount] the file it is in (instances)
 */
/**
 * @typedef {object} Edit
 * @property {string} label
 * @property {string} path
 * @property {Op[]} forward
 * @property {Op[] | null} inverse
 * @property {string} [select] the key to show after it
 * @property {boolean} [deleted]
 */
/**
 * What the key detail needs from its page.
 * @typedef {object} KeyContext
 * @property {Target} target
 * @property {boolean} canEdit
 * @property {(edit: Edit) => Promise<void>} perform
 * @property {(path: string) => any[]} [notApplied]
 */
/**
 * @typedef {object} ValueEditor
 * @property {HTMLFormElement} el
 * @property {HTMLInputElement} input
 * @property {() => boolean} hasDraft
 * @property {(key: Key) => void} changedElsewhere
 */

/** @param {string} path */
function isNamespaceRoot(path) {
  return parentOf(path) === null;
}

/** The value as the server holds it: null when the key is not set. @param {Key} key */
function serverValue(key) {
  return key.exists ? key.value ?? '' : null;
}

// -- notes -------------------------------------------------------------------------

/** The lock and the cluster writes this instance has not applied. @param {KeyContext} ctx @param {Key} key */
function keyNotes(ctx, key) {
  const notes = [];
  const locked = ctx.target.kind === 'instance' ? key.lockedBy : null;
  if (locked) {
    notes.push(
      h(
        'p',
        { class: 'locked-note' },
        'Locked: set by cluster ',
        h('strong', {}, locked.name),
        '; members cannot change it. ',
        lockLink(locked, key.path),
      ),
    );
  }
  for (const p of ctx.notApplied ? ctx.notApplied(key.path) : []) {
    const failed = p.status === 'FAILED';
    /** @type {Record<string, string>} */
    const ops = { DELETE: 'deletion', META: `metadata change (${p.meta})`, MOVE: 'move', COPY: 'copy' };
    const what = p.op === 'SET' ? `The cluster's value ${JSON.stringify(p.value ?? '')}` : `The cluster's ${ops[p.op] || p.op}`;
    notes.push(
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
  return notes;
}

// -- the value ---------------------------------------------------------------------

/**
 * The value form. What is typed is a draft until it is saved: a change made
 * elsewhere meanwhile is announced ("changed elsewhere to X") with the choice
 * to take it or keep editing, and Save refuses to write over a change it has
 * not shown (it compares the server's value with the one the edit started from).
 * @param {KeyContext} ctx
 * @param {Key} key
 * @returns {ValueEditor}
 */
function valueEditor(ctx, key) {
  const path = key.path;
  let meta = key.meta;
  /** The server's value the edit started from (or the user has seen since). */
  let base = serverValue(key);
  /** The server's value announced and not yet taken or dismissed. */
  let announced = /** @type {string | null | undefined} */ (undefined);
  const rules = describeRules(meta);
  const box = errorBox();
  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'value-input',
      name: 'value',
      type: 'text',
      autocomplete: 'off',
      spellcheck: 'false',
      value: key.value ?? '',
      'aria-describedby': rules ? 'value-rules' : null,
    })
  );
  const check = () => {
    const why = validate(input.value, meta);
    input.setAttribute('aria-invalid', why ? 'true' : 'false');
    showError(box, why ? `Not saved: ${why}` : '');
    return why;
  };
  input.addEventListener('input', check);
  const notice = h('div', { class: 'changed-elsewhere', role: 'alert', hidden: true });
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'value-form' },
      h('label', { for: 'value-input' }, key.exists ? 'Value' : 'Value (not set: only keys below)'),
      h('div', { class: 'inline-fields' }, input, h('button', { type: 'submit' }, 'Save')),
      rules ? h('p', { class: 'hint', id: 'value-rules' }, `Allowed: ${rules}`) : null,
      notice,
      box,
    )
  );

  const hasDraft = () => input.value !== (base ?? '');

  /** Show the server's value ``value`` (null: deleted); ``refusedSave``: Save was refused for it. */
  function announce(value, refusedSave = false) {
    announced = value;
    const take = h('button', { type: 'button', class: 'small', id: 'take-theirs' }, 'Take it');
    const keep = h('button', { type: 'button', class: 'small quiet', id: 'keep-mine' }, 'Keep editing');
    take.addEventListener('click', () => {
      input.value = value ?? '';
      settle(value);
      check();
      input.focus();
    });
    keep.addEventListener('click', () => {
      settle(value);
      input.focus();
    });
    replace(
      notice,
      h(
        'p',
        {},
        refusedSave ? h('strong', {}, 'Not saved: ') : null,
        value === null ? 'Deleted elsewhere' : ['Changed elsewhere to ', h('code', { class: 'theirs' }, value === '' ? '(empty)' : value)],
        refusedSave ? ' since you started editing. ' : ' while you were editing. ',
        'Your text is kept.',
      ),
      h('div', { class: 'buttons' }, take, keep),
    );
    notice.hidden = false;
    flash(notice);
  }

  /** The user has seen ``value``: it is the new base; Save writes over it. @param {string | null} value */
  function settle(value) {
    base = value;
    announced = undefined;
    notice.hidden = true;
    replace(notice);
  }

  guardSubmit(
    form,
    async () => {
      if (check()) throw refused(`Not saved: ${validate(input.value, meta)}`);
      const before = await readKey(ctx.target, path);
      if (before.lockedBy && ctx.target.kind === 'instance') {
        throw refused(`${path} is set by cluster ${before.lockedBy.name}`, 'KEY_LOCKED');
      }
      const now = serverValue(before);
      if (now !== base) {
        // Changed since the edit started and not taken or dismissed: ask.
        if (now === input.value) settle(now);
        else announce(now, true);
        return;
      }
      await ctx.perform({
        label: `set ${path} = ${input.value}`,
        path,
        forward: [{ op: 'set', path, value: input.value }],
        inverse: inverseOfSet(before),
      });
    },
    { box },
  );

  return {
    el: form,
    input,
    hasDraft,
    changedElsewhere(fresh) {
      meta = fresh.meta;
      const value = serverValue(fresh);
      if (value === base) {
        if (announced !== undefined) settle(value); // changed back: nothing to choose any more
        return;
      }
      if ((value ?? '') === input.value) settle(value); // the same as typed: nothing to choose
      else if (hasDraft()) {
        if (value !== announced) announce(value);
      } else {
        input.value = value ?? '';
        settle(value);
        flash(input);
      }
    },
  };
}

/** A value that cannot be edited here. @param {Key} key */
function valueView(key) {
  return [
    h('p', { class: 'label' }, 'Value'),
    key.exists && key.value !== null
      ? h('pre', { class: 'value' }, key.value === '' ? '(empty)' : key.value)
      : h('p', { class: 'muted' }, key.exists ? '(no value)' : 'Not a key itself: only keys below it.'),
  ];
}

// -- the whole detail ----------------------------------------------------------------

/** @type {WeakMap<HTMLElement, {path: string, value: ValueEditor | null}>} */
const shown = new WeakMap();

/**
 * The parts of the detail of ``key``; ``value``: the value editor to keep.
 * @param {KeyContext} ctx
 * @param {Key} key
 * @param {ValueEditor | null} kept
 */
function build(ctx, key, kept) {
  const path = key.path;
  const locked = ctx.target.kind === 'instance' ? key.lockedBy : null;
  const editable = ctx.canEdit && !locked;
  const root = isNamespaceRoot(path);
  /** @type {ValueEditor | null} */
  let value = null;
  const parts = [h('h2', { class: 'key-path' }, path), ...mountNote(key), ...keyNotes(ctx, key)];
  if (editable && !root) {
    value = kept || valueEditor(ctx, key);
    if (kept) kept.changedElsewhere(key);
    parts.push(value.el);
  } else if (!root) parts.push(...valueView(key));
  parts.push(...metadataSection(ctx, key, editable));
  if (ctx.canEdit) parts.push(addBelowForm(ctx, key));
  if (editable && !root) parts.push(moveForm(ctx, path));
  if (editable && !root && (key.exists || key.children.length)) parts.push(deleteArea(ctx, key));
  if (!ctx.canEdit) parts.push(h('p', { class: 'muted' }, 'You can read this configuration but not change it.'));
  return { parts, value };
}

/** Whether a value is being edited in ``container`` (typed and not saved). @param {HTMLElement} container */
export function hasDraft(container) {
  const now = shown.get(container);
  return Boolean(now && now.value && now.value.hasDraft());
}

/**
 * Show ``path`` in ``container`` afresh. Returns the key as read.
 * @param {HTMLElement} container
 * @param {KeyContext} ctx
 * @param {string} path
 * @returns {Promise<Key | null>}
 */
export async function showKey(container, ctx, path) {
  container.dataset.path = path;
  shown.delete(container);
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
  const { parts, value } = build(ctx, key, null);
  replace(container, parts);
  shown.set(container, { path, value });
  return key;
}

/**
 * Show ``path`` again after a change made elsewhere (or an edit of this page):
 * what is being typed stays — the value's draft (with a note when the server's
 * value changed under it), the other fields' text — and so does the focus.
 * @param {HTMLElement} container
 * @param {KeyContext} ctx
 * @param {string} path
 * @returns {Promise<Key | null>}
 */
export async function refreshKey(container, ctx, path) {
  const before = shown.get(container);
  if (!before || before.path !== path || container.dataset.path !== path) return showKey(container, ctx, path);
  let key;
  try {
    key = await readKey(ctx.target, path);
  } catch {
    return null; // gone or unreachable: the tree and the header say so; keep what is typed
  }
  const now = shown.get(container);
  if (container.dataset.path !== path || now !== before) return null; // redrawn meanwhile
  const kept = before.value && before.value.hasDraft() ? before.value : null;
  const focused = /** @type {HTMLInputElement | null} */ (
    document.activeElement && container.contains(document.activeElement) ? document.activeElement : null
  );
  const caret = focused && 'selectionStart' in focused ? [focused.selectionStart, focused.selectionEnd] : null;
  /** @type {Map<string, string>} The other fields' text, typed and not submitted. */
  const typed = new Map();
  for (const field of /** @type {NodeListOf<HTMLInputElement>} */ (container.querySelectorAll('input[id]'))) {
    if (field.id !== 'value-input' && field.value !== field.defaultValue) typed.set(field.id, field.value);
  }
  const { parts, value } = build(ctx, key, kept);
  replace(container, parts);
  shown.set(container, { path, value });
  for (const [id, text] of typed) {
    const field = /** @type {HTMLInputElement | null} */ (container.querySelector(`#${CSS.escape(id)}`));
    if (field) field.value = text;
  }
  if (focused && focused.id) {
    const again = /** @type {HTMLInputElement | null} */ (container.querySelector(`#${CSS.escape(focused.id)}`));
    if (again) {
      again.focus();
      if (caret && again.setSelectionRange && caret[0] !== null) {
        try {
          again.setSelectionRange(caret[0], caret[1]);
        } catch {
          /* not a text field */
        }
      }
    }
  }
  return key;
}
