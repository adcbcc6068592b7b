// @ts-check
// Cluster writes not applied on an instance: waiting (pending, retried by
// clusterd) or refused (failed: not applied until the key changes again or
// an editor retries them). Both come from the API (Instance.pending,
// Instance.failed, Cluster.failed), so they survive a reload.

import { gql } from './api.js';
import { h, ago, errorBox, showError, busy } from './dom.js';
import { describe } from './errors.js';

export const WRITE_FIELDS = 'operationId instanceId op path value meta status attempts lastError since';

const RETRY = 'mutation($i: ID!) { retryDeliveries(instanceId: $i) { id } }';

/** What the write does, as words: set user:/app/port = "abc". */
export function describeWrite(p) {
  const path = h('code', {}, p.path);
  switch (p.op) {
    case 'SET':
      return ['set ', path, ' = ', h('code', { class: 'value' }, JSON.stringify(p.value ?? ''))];
    case 'DELETE':
      return ['delete ', path];
    case 'META':
      return p.value === null || p.value === undefined
        ? ['remove metadata ', h('code', {}, p.meta || '?'), ' of ', path]
        : ['metadata ', h('code', {}, p.meta || '?'), ' = ', h('code', { class: 'value' }, JSON.stringify(p.value)), ' on ', path];
    default:
      return [p.op.toLowerCase(), ' ', path];
  }
}

/**
 * The reason without what the list says already: "web-01 refused:
 * user:/app/port: "abc" is not a long" -> ""abc" is not a long".
 */
export function shortReason(error, path) {
  let text = (error || '').trim();
  text = text.replace(/^[^:]{1,120}? refused: /, '');
  if (path && text.startsWith(`${path}: `)) text = text.slice(path.length + 2);
  return text;
}

/** Marks for the key tree: path -> {kind: 'failed'|'pending', reason}. */
export function treeMarks(failed, pending) {
  const marks = new Map();
  for (const p of pending || []) marks.set(p.path, { kind: 'pending', reason: shortReason(p.lastError, p.path) });
  for (const p of failed || []) marks.set(p.path, { kind: 'failed', reason: shortReason(p.lastError, p.path) });
  return marks;
}

/** Messages next to Retry buttons, kept across re-renders: instance id -> text. */
const retryNotes = new Map();

/**
 * A "Retry" button for an instance's refused writes (editors only), and the
 * area its refusal shows in. ``onDone`` reads the page again.
 */
export function retryButton(instanceId, label, onDone) {
  const box = errorBox();
  const note = retryNotes.get(instanceId);
  if (note) showError(box, note);
  const button = h(
    'button',
    {
      type: 'button',
      class: 'quiet small retry',
      dataset: { instance: instanceId },
      onclick: async () => {
        if (button.getAttribute('aria-busy') === 'true') return;
        retryNotes.delete(instanceId);
        showError(box, '');
        const end = busy(button, button);
        try {
          await gql(RETRY, { i: instanceId });
        } catch (e) {
          retryNotes.set(instanceId, describe(e));
          showError(box, describe(e));
          end();
          return;
        }
        end();
        await onDone();
      },
    },
    label,
  );
  return { button, box };
}

/**
 * One write not applied (an <li>). ``instance``: {id, name} to name and link it (a cluster's page).
 * @param {any} p
 * @param {{instance?: {id: string, name: string}}} [options]
 */
export function writeItem(p, { instance } = {}) {
  const failed = p.status === 'FAILED';
  return h(
    'li',
    {
      class: failed ? 'failed-write' : 'pending-write',
      dataset: { path: p.path, instance: p.instanceId, operation: p.operationId },
    },
    h('span', { class: 'badge' }, failed ? 'not applied' : 'pending'),
    ' ',
    instance ? [h('a', { href: `#/instance/${instance.id}`, class: 'member-link' }, instance.name), ': '] : null,
    describeWrite(p),
    h(
      'span',
      { class: 'muted' },
      failed
        ? ` · written ${ago(p.since)}`
        : ` · since ${ago(p.since)} · ${p.attempts} attempt${p.attempts === 1 ? '' : 's'}`,
    ),
    p.lastError ? h('span', { class: 'reason', title: p.lastError }, ` · ${shortReason(p.lastError, p.path)}`) : null,
  );
}

/** The "Not applied" section of an instance's page, or null when there is none. */
export function renderFailed(instance, { canEdit, onRetried }) {
  const failed = instance.failed || [];
  if (!failed.length) return null;
  const retry = canEdit
    ? retryButton(instance.id, failed.length === 1 ? 'Retry' : `Retry all ${failed.length}`, onRetried)
    : null;
  return h(
    'section',
    { class: 'not-applied', 'aria-labelledby': 'not-applied-title' },
    h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'not-applied-title' }, `Not applied here (${failed.length})`),
      retry ? retry.button : null,
    ),
    h(
      'p',
      { class: 'hint' },
      `${instance.name} refused ${failed.length === 1 ? 'this cluster write' : 'these cluster writes'}: `,
      'it keeps its own value until the key changes again in the cluster',
      canEdit ? ', or you fix the cause on the instance and retry.' : ' or an editor retries.',
    ),
    retry ? retry.box : null,
    h('ul', { class: 'failed-list' }, failed.map((p) => writeItem(p))),
  );
}

/** The pending list of an instance's page, or null when there is none. */
export function renderPending(instance) {
  const pending = instance.pending || [];
  if (!pending.length) return null;
  return h(
    'section',
    { class: 'waiting' },
    h('h2', {}, `Waiting to be delivered here (${pending.length})`),
    h('ul', { class: 'pending-list' }, pending.map((p) => writeItem(p))),
  );
}

/**
 * A cluster's writes its members refused (Cluster.failed), grouped by member
 * with a Retry per member for editors; null when there is none.
 */
export function renderClusterFailed(failed, { names, canEdit, onRetried }) {
  if (!failed || !failed.length) return null;
  const byInstance = new Map();
  for (const p of failed) {
    if (!byInstance.has(p.instanceId)) byInstance.set(p.instanceId, []);
    byInstance.get(p.instanceId).push(p);
  }
  const groups = [...byInstance.entries()].map(([instanceId, writes]) => {
    const name = names.get(instanceId) || `instance ${instanceId}`;
    const retry = canEdit ? retryButton(instanceId, `Retry on ${name}`, onRetried) : null;
    return h(
      'li',
      { class: 'failed-member', dataset: { instance: instanceId } },
      h('ul', { class: 'failed-list' }, writes.map((p) => writeItem(p, { instance: { id: instanceId, name } }))),
      retry ? h('div', { class: 'retry-line' }, retry.button, retry.box) : null,
    );
  });
  return h(
    'section',
    { class: 'not-applied', 'aria-labelledby': 'not-applied-title' },
    h('h2', { id: 'not-applied-title' }, `Not applied on members (${failed.length})`),
    h(
      'p',
      { class: 'hint' },
      'These members refused these writes and keep their own values until the key changes again or the write is retried.',
    ),
    h('ul', { class: 'failed-members' }, groups),
  );
}
