// @ts-check
// Drift: a key a cluster sets, changed on a member outside clusterd. A
// person decides: put the cluster's value back there (REAPPLY), or make the
// member's value the cluster's, for every member (ADOPT). A key the member
// DELETED is not adopted: deleting it from the cluster (ADOPT_DELETION)
// reaches every member, so it is asked for explicitly and confirmed.

import { gql } from './api.js';
import { h, errorBox, showError, busy } from './dom.js';
import { describe } from './errors.js';
import { MEMBER_PLAN } from './preview.js';
import { confirmPlan } from './write-preview.js';

export const DRIFT_FIELDS = 'drift { instanceId clusterId path expected actual detectedAt }';

const RESOLVE = `mutation($i: ID!, $p: String!, $a: DriftAction!, $force: Boolean!) {
  resolveDrift(instanceId: $i, path: $p, action: $a, force: $force) { operationId results { instance { id name } delivery error } } }`;
/** Adopting a member's value is a write to every member: previewed first (write-preview.js). */
const PREVIEW = `mutation($i: ID!, $p: String!, $a: DriftAction!) {
  resolveDrift(instanceId: $i, path: $p, action: $a, dryRun: true) { plan { ${MEMBER_PLAN} } } }`;

/** How long a refusal stays shown (the rows are drawn again on every refresh). */
const NOTE_MS = 60_000;

/** Refusals, kept across re-renders: "instanceId path" -> {text, at, label}. */
const notes = new Map();
/** Rows whose "delete from the cluster" confirmation is open. */
const armed = new Set();

const rowKey = (d) => `${d.instanceId} ${d.path}`;

function show(value) {
  return value === null || value === undefined ? '(deleted)' : JSON.stringify(value);
}

function liveNotes() {
  const now = Date.now();
  for (const [key, note] of notes) if (now - note.at > NOTE_MS) notes.delete(key);
  return notes;
}

/**
 * The drift list, or null when there is none. ``names``: instance id -> name
 * (on a cluster's page); ``onResolved(result, action, drift)`` after a
 * decision; ``onStale()`` when clusterd refused it because the drift is not
 * as shown any more (read the list again).
 * @param {any[] | null} drifts
 * @param {{canEdit: boolean, names?: Map<string, string> | null, clusterName: string | null, onResolved: (result: any, action: string, drift: any) => any, onStale: () => any}} options
 */
export function renderDrift(drifts, { canEdit, names, clusterName, onResolved, onStale }) {
  drifts = drifts || [];
  const shown = new Set(drifts.map(rowKey));
  const orphans = [...liveNotes().entries()].filter(([key]) => !shown.has(key));
  for (const key of armed) if (!shown.has(key)) armed.delete(key);
  if (!drifts.length && !orphans.length) return null;
  const cluster = clusterName ? `cluster ${clusterName}` : 'the cluster';
  let rerender = () => {};

  const items = drifts.map((d) => {
    const key = rowKey(d);
    const where = names ? `${names.get(d.instanceId) || `instance ${d.instanceId}`}: ` : '';
    const box = errorBox();
    const note = notes.get(key);
    if (note) showError(box, note.text);
    const act = async (action, button) => {
      notes.delete(key);
      showError(box, '');
      // Busy (every button of the row) until clusterd answers: no second decision.
      const row = button.closest('li') || button;
      if (row.getAttribute('aria-busy') === 'true') return;
      const end = busy(row, button);
      try {
        let force = false;
        if (action === 'ADOPT') {
          const dry = await gql(PREVIEW, { i: d.instanceId, p: d.path, a: action });
          ({ force } = await confirmPlan(dry.resolveDrift.plan, `make ${d.path} = ${show(d.actual)} on every member`));
        }
        const data = await gql(RESOLVE, { i: d.instanceId, p: d.path, a: action, force });
        end();
        armed.delete(key);
        await onResolved(data.resolveDrift, action, d);
      } catch (e) {
        if (e.code === 'CANCELLED') {
          end(); // the preview was cancelled: nothing written, nothing to say
          return;
        }
        const text = describe(e);
        notes.set(key, { text, at: Date.now(), label: `${where}${d.path}` });
        showError(box, text);
        end();
        // Not as shown any more (changed again, in flight, agrees again):
        // read the list again; the message stays next to the row.
        if ((e.code === 'BAD_INPUT' || e.code === 'NOT_FOUND') && onStale) await onStale();
      }
    };
    const deleted = d.actual === null || d.actual === undefined;
    let buttons = null;
    let confirm = null;
    if (canEdit) {
      const back = h(
        'button',
        { type: 'button', class: 'quiet small', onclick: (e) => act('REAPPLY', e.currentTarget) },
        "Put the cluster's value back",
      );
      const adopt = deleted
        ? h(
            'button',
            {
              type: 'button',
              class: 'quiet small danger-text',
              'aria-expanded': String(armed.has(key)),
              onclick: () => {
                if (armed.has(key)) armed.delete(key);
                else armed.add(key);
                rerender();
              },
            },
            'Delete it from the cluster (all members)…',
          )
        : h(
            'button',
            { type: 'button', class: 'quiet small', onclick: (e) => act('ADOPT', e.currentTarget) },
            `Make it ${clusterName ? `${clusterName}'s` : "the cluster's"} value`,
          );
      buttons = h('span', { class: 'buttons inline' }, back, adopt);
      if (deleted && armed.has(key)) {
        confirm = h(
          'div',
          { class: 'confirm', role: 'group', 'aria-label': `Delete ${d.path} from ${cluster}` },
          h(
            'p',
            {},
            `Delete ${d.path} from ${cluster}? The deletion reaches every member of ${cluster}, `,
            'not only this one: each of them loses the key.',
          ),
          h(
            'span',
            { class: 'buttons' },
            h(
              'button',
              { type: 'button', class: 'danger small confirm-delete', onclick: (e) => act('ADOPT_DELETION', e.currentTarget) },
              'Delete it from every member',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'quiet small',
                onclick: () => {
                  armed.delete(key);
                  rerender();
                },
              },
              'Cancel',
            ),
          ),
        );
      }
    }
    return h(
      'li',
      { class: `drift-item${deleted ? ' deleted' : ''}`, dataset: { path: d.path, instance: d.instanceId } },
      h('span', { class: 'badge' }, 'drift'),
      ` ${where}`,
      h('code', {}, d.path),
      deleted
        ? ` was deleted here, the cluster sets ${show(d.expected)}`
        : ` is ${show(d.actual)} here, the cluster sets ${show(d.expected)}`,
      buttons,
      confirm,
      box,
    );
  });
  for (const [, note] of orphans) {
    items.push(
      h('li', { class: 'drift-item settled' }, h('span', { class: 'badge' }, 'drift'), ` ${note.label}: `, h('span', { class: 'form-error inline' }, note.text)),
    );
  }
  const section = h(
    'div',
    { class: 'drift' },
    h('h2', {}, `Changed outside clusterd (${drifts.length})`),
    h('ul', { class: 'drift-list' }, items),
  );
  rerender = () => section.replaceWith(renderDrift(drifts, { canEdit, names, clusterName, onResolved, onStale }) || '');
  return section;
}
