// Drift: a key a cluster sets, changed on a member outside clusterd. A
// person decides: put the cluster's value back there (REAPPLY), or make the
// member's value the cluster's, for every member (ADOPT).

import { gql } from './api.js';
import { h, errorBox, showError } from './dom.js';
import { describe } from './errors.js';

export const DRIFT_FIELDS = 'drift { instanceId clusterId path expected actual detectedAt }';

const RESOLVE = `mutation($i: ID!, $p: String!, $a: DriftAction!) {
  resolveDrift(instanceId: $i, path: $p, action: $a) { operationId results { instance { id name } delivery error } } }`;

function show(value) {
  return value === null || value === undefined ? '(deleted)' : JSON.stringify(value);
}

/**
 * The drift list, or null when there is none. ``names``: instance id -> name
 * (on a cluster's page); ``onResolved(result, action, drift)`` after a decision.
 */
export function renderDrift(drifts, { canEdit, names, clusterName, onResolved }) {
  if (!drifts || !drifts.length) return null;
  const items = drifts.map((d) => {
    const box = errorBox();
    const act = async (action, button) => {
      showError(box, '');
      button.disabled = true;
      try {
        const data = await gql(RESOLVE, { i: d.instanceId, p: d.path, a: action });
        await onResolved(data.resolveDrift, action, d);
      } catch (e) {
        showError(box, describe(e));
        button.disabled = false;
      }
    };
    const where = names ? `${names.get(d.instanceId) || `instance ${d.instanceId}`}: ` : '';
    return h(
      'li',
      { class: 'drift-item', dataset: { path: d.path, instance: d.instanceId } },
      h('span', { class: 'badge' }, 'drift'),
      ` ${where}`,
      h('code', {}, d.path),
      ` is ${show(d.actual)} here, the cluster sets ${show(d.expected)}`,
      canEdit
        ? h(
            'span',
            { class: 'buttons inline' },
            h(
              'button',
              { type: 'button', class: 'quiet small', onclick: (e) => act('REAPPLY', e.currentTarget) },
              "Put the cluster's value back",
            ),
            h(
              'button',
              { type: 'button', class: 'quiet small', onclick: (e) => act('ADOPT', e.currentTarget) },
              `Make it ${clusterName ? `${clusterName}'s` : "the cluster's"} value`,
            ),
          )
        : null,
      box,
    );
  });
  return h(
    'div',
    { class: 'drift' },
    h('h2', {}, `Changed outside clusterd (${drifts.length})`),
    h('ul', { class: 'drift-list' }, items),
  );
}
