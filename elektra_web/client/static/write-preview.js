// @ts-check
// Before a write to a cluster from its page: the write is sent with dryRun
// first, and a dialog shows what it would do — "This changes N members; M
// would refuse: …" with why, and each member's keys before → after. The
// person writes ("Write to N members"; "Write anyway" forces it past the
// members that would refuse) or cancels: then nothing is written, and the form
// keeps what was typed. A write to an instance needs no preview.

import { h } from './dom.js';
import { runOp } from './ops.js';
import { mergePlans, memberSummary, wouldRefuse } from './preview.js';
import { changeItem } from './import-plan.js';

/** @typedef {import('./undo.js').Target} Target */
/** @typedef {import('./undo.js').Op} Op */
/** @typedef {import('./preview.js').MemberPlan} MemberPlan */

/** The refusal of a preview the person cancelled: the write guard shows nothing. */
export function cancelled() {
  return Object.assign(new Error('Not written: cancelled'), { code: 'CANCELLED' });
}

/** Each member's keys as the write leaves them. @param {MemberPlan[]} members */
function memberChanges(members) {
  const changing = members.filter((m) => m.changes.length);
  if (!changing.length) return null;
  return h(
    'details',
    { class: 'member-changes' },
    h('summary', {}, 'What changes on each member'),
    changing.map((m) =>
      h(
        'section',
        { class: 'member-change', dataset: { instance: m.instance.id } },
        h('h3', {}, m.instance.name),
        h('ul', { class: 'plan' }, m.changes.map(changeItem)),
      ),
    ),
  );
}

/**
 * Ask clusterd what ``ops`` would do on the cluster's members and let the
 * person decide. Resolves with ``{force}`` to write; rejects with the dry
 * run's refusal, or ``cancelled()``.
 * @param {Target} target a cluster
 * @param {Op[]} ops
 * @param {string} label what the write is, e.g. "set user:/app/port = 80"
 * @returns {Promise<{force: boolean}>}
 */
export async function confirmClusterWrite(target, ops, label) {
  /** @type {MemberPlan[][]} */
  const plans = [];
  for (const op of ops) plans.push((await runOp(target, op, { dryRun: true })).plan);
  return confirmPlan(mergePlans(plans), label);
}

/**
 * The dialog of a dry run's plan per member: resolves with ``{force}`` to
 * write, rejects with ``cancelled()``. No members: nothing to ask.
 * @param {MemberPlan[]} members
 * @param {string} label
 * @returns {Promise<{force: boolean}>}
 */
export function confirmPlan(members, label) {
  if (!members.length) return Promise.resolve({ force: false });
  const refusing = wouldRefuse(members);
  const deletes = members.some((m) => m.changes.some((c) => !c.after));
  const taking = members.filter((m) => m.outcome === 'APPLY' || m.outcome === 'WAIT').length;
  const yes = h(
    'button',
    { type: 'button', class: refusing.length || deletes ? 'danger' : '', id: 'confirm-write' },
    refusing.length ? 'Write anyway' : `Write to ${taking} ${taking === 1 ? 'member' : 'members'}`,
  );
  const no = h('button', { type: 'button', class: 'quiet', id: 'cancel-write' }, 'Cancel');
  const dialog = /** @type {HTMLDialogElement} */ (
    h(
      'dialog',
      { class: 'write-preview', 'aria-labelledby': 'write-preview-title' },
      h('h2', { id: 'write-preview-title' }, 'Preview: ', label),
      h('p', { class: 'muted' }, 'Nothing is written until you confirm.'),
      memberSummary(members),
      memberChanges(members),
      h('div', { class: 'buttons' }, yes, no),
    )
  );
  document.body.append(dialog);
  return new Promise((resolve, reject) => {
    let decided = false;
    /** @param {boolean} write */
    const decide = (write) => {
      if (decided) return;
      decided = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      if (write) resolve({ force: refusing.length > 0 });
      else reject(cancelled());
    };
    yes.addEventListener('click', () => decide(true));
    no.addEventListener('click', () => decide(false));
    dialog.addEventListener('close', () => decide(false)); // Escape
    dialog.showModal();
    (refusing.length ? no : yes).focus();
  });
}
