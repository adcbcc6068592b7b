// @ts-check
// "Roll back to before this": the dry run's plan first (each key: what it is
// now → what it goes back to; deletes marked), then, confirmed, the rollback
// itself, one new write, and its result (per member on a cluster).

import { gql } from './api.js';
import { h, replace, errorBox, showError, guardButton } from './dom.js';
import { describe } from './errors.js';
import { valueDiff } from './diff.js';
import { deliveryItem, summarize } from './progress.js';
import { MEMBER_PLAN, memberSummary, wouldRefuse } from './preview.js';

/** @typedef {import('./undo.js').Target} Target */

const RESULT = 'operationId results { instance { id name } delivery error }';

const ROLLBACK = `mutation($t: Target!, $p: String!, $op: ID, $at: DateTime, $dry: Boolean!, $force: Boolean!) {
  rollback(target: $t, pathPrefix: $p, toOperation: $op, at: $at, dryRun: $dry, force: $force) {
    plan { op path value meta current } result { ${RESULT} } members { ${MEMBER_PLAN} } } }`;

/** @param {Target} target */
export function targetVar(target) {
  return target.kind === 'cluster' ? { clusterId: target.id } : { instanceId: target.id };
}

/**
 * Just before an ISO time with microseconds ("…T10:00:00.123456+00:00"):
 * one microsecond earlier, so that a rollback ``at`` it leaves out the
 * change made then.
 * @param {string} iso
 */
export function justBefore(iso) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(iso);
  if (!m) return new Date(Date.parse(iso) - 1).toISOString();
  const seconds = Date.parse(`${m[1]}${m[3] || 'Z'}`);
  const micros = seconds * 1000 + Number((m[2] || '').padEnd(6, '0').slice(0, 6)) - 1;
  const whole = Math.floor(micros / 1e6) * 1000;
  const fraction = String(micros - whole * 1000).padStart(6, '0');
  return new Date(whole).toISOString().replace(/\.\d{3}Z$/, `.${fraction}+00:00`);
}

/** One change of the plan. @param {any} c */
function planItem(c) {
  const deleted = c.op === 'DELETE';
  return h(
    'li',
    { class: `plan-change ${c.op.toLowerCase()}`, dataset: { path: c.path, op: c.op } },
    h('span', { class: `badge op ${c.op.toLowerCase()}` }, deleted ? 'delete' : c.op === 'META' ? 'metadata' : 'value'),
    ' ',
    h('code', { class: 'path' }, c.path),
    c.meta ? [' ', h('code', { class: 'meta-name' }, c.meta)] : null,
    ' ',
    deleted ? [valueDiff(c.current, null), h('span', { class: 'muted' }, ' (deleted, with its subtree)')] : valueDiff(c.current, c.value),
  );
}

/**
 * @typedef {object} RollbackOptions
 * @property {Target} target
 * @property {string} pathPrefix
 * @property {{toOperation?: string, at?: string}} to
 * @property {string} label what it is called in the progress list
 * @property {(result: any, label: string) => Promise<void> | void} onWritten
 * @property {() => void} onClose
 */

/**
 * The rollback box: it asks for the plan at once.
 * @param {RollbackOptions} o
 * @returns {HTMLElement}
 */
export function rollbackBox(o) {
  const box = errorBox();
  const body = h('div', { class: 'rollback-body' }, h('p', { class: 'loading' }, 'Working out what goes back…'));
  const el = h('div', { class: 'rollback', role: 'region', 'aria-label': 'Rollback preview' }, body, box);
  const vars = {
    t: targetVar(o.target),
    p: o.pathPrefix,
    op: o.to.toOperation || null,
    at: o.to.at || null,
  };
  const close = h('button', { type: 'button', class: 'quiet small' }, 'Close');
  close.addEventListener('click', () => o.onClose());

  gql(ROLLBACK, { ...vars, dry: true, force: false })
    .then((data) => showPlan(data.rollback))
    .catch((e) => {
      replace(body, h('p', {}, close));
      showError(box, describe(e));
    });

  /** @param {any} answer */
  function showPlan(answer) {
    const plan = answer.plan;
    if (!plan.length) {
      replace(body, h('p', { class: 'plan-empty' }, `Already as it was: nothing below ${o.pathPrefix} to roll back. `, close));
      return;
    }
    // A cluster's members (an instance: itself, said only when it would refuse).
    const members = o.target.kind === 'cluster' || wouldRefuse(answer.members).length ? answer.members : [];
    const refusing = wouldRefuse(members);
    const yes = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'button', class: 'danger', id: 'confirm-rollback' }, refusing.length ? 'Roll back anyway' : 'Roll back')
    );
    const no = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
    no.addEventListener('click', () => o.onClose());
    const buttons = h('div', { class: 'buttons' }, yes, no);
    guardButton(
      yes,
      async () => {
        const force = refusing.length > 0;
        const data = await gql(ROLLBACK, { ...vars, dry: false, force });
        const result = data.rollback.result;
        if (!result) {
          replace(body, h('p', { class: 'plan-empty' }, 'Already as it was: nothing changed. ', close));
          return;
        }
        showResult(result, plan.length);
        await o.onWritten(result, o.label);
      },
      { box, root: buttons },
    );
    replace(
      body,
      h('p', { class: 'plan-head' }, `Roll back ${plan.length} ${plan.length === 1 ? 'change' : 'changes'} below `, h('code', {}, o.pathPrefix), ':'),
      h('ul', { class: 'plan' }, plan.map(planItem)),
      members.length ? memberSummary(members) : null,
      buttons,
    );
    yes.focus();
  }

  /** @param {any} result @param {number} count */
  function showResult(result, count) {
    const rows = result.results;
    const cluster = o.target.kind === 'cluster';
    replace(
      body,
      h(
        'p',
        { class: 'rollback-done', role: 'status' },
        h('strong', {}, 'Rolled back: '),
        `${count} ${count === 1 ? 'change' : 'changes'}`,
        cluster ? `; ${summarize(rows)}.` : rows.length ? ` ${rows[0].delivery === 'APPLIED' ? 'applied' : rows[0].delivery.toLowerCase()}.` : '.',
        ' ',
        close,
      ),
      cluster && rows.length ? h('ul', { class: 'deliveries' }, rows.map(deliveryItem)) : null,
    );
  }
  return el;
}
