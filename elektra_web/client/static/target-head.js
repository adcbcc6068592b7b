// @ts-check
// The head of an instance's or a cluster's page: its name and facts, and the
// side notes (offline, writes not applied, drift, pending; a cluster's members).

import { h, replace, ago, statusDot } from './dom.js';
import { DRIFT_FIELDS, renderDrift } from './drift.js';
import { WRITE_FIELDS, renderFailed, renderPending, renderClusterFailed } from './deliveries.js';

export const INSTANCE_HEAD = `query($id: ID!) { instance(id: $id) { id name host status lastSeen elektraVersion
  cluster { id name } pending { ${WRITE_FIELDS} } failed { ${WRITE_FIELDS} } ${DRIFT_FIELDS} } }`;
export const CLUSTER_HEAD = `query($id: ID!) { cluster(id: $id) { id name description parent { id name }
  children { id name } instances(recursive: true) { id name status cluster { id name } pending { operationId } failed { operationId } }
  failed { ${WRITE_FIELDS} } ${DRIFT_FIELDS} } }`;

/**
 * @typedef {object} HeadParts
 * @property {HTMLElement} title
 * @property {HTMLElement} facts
 * @property {HTMLElement} side
 */
/**
 * @typedef {object} HeadActions
 * @property {boolean} canEdit
 * @property {boolean} [canEditNow] an instance: it is online and may be changed
 * @property {() => any} onRetried
 * @property {(result: any, action: string, drift: any) => any} onResolved
 * @property {() => any} onStale
 */

/** @param {HeadParts} parts @param {any} head @param {HeadActions} actions */
export function renderInstanceHead({ title, facts, side }, head, actions) {
  replace(title, statusDot(head.status), ' ', head.name);
  title.dataset.status = head.status;
  replace(
    facts,
    h('span', { class: 'status-text' }, head.status.toLowerCase()),
    ` · ${head.host} · seen ${ago(head.lastSeen)}`,
    head.elektraVersion ? ` · Elektra ${head.elektraVersion}` : '',
    ' · ',
    head.cluster ? ['in cluster ', h('a', { href: `#/cluster/${head.cluster.id}` }, head.cluster.name)] : 'in no cluster',
  );
  replace(
    side,
    head.status === 'OFFLINE'
      ? h(
          'p',
          { class: 'offline-note', role: 'status' },
          `${head.name} is offline: the keys shown are as last read; it can be changed again once it is back. `,
          head.cluster ? 'Cluster writes wait for it and are delivered when it returns.' : '',
        )
      : null,
    renderFailed(head, { canEdit: actions.canEdit, onRetried: actions.onRetried }),
    renderDrift(head.drift, {
      canEdit: Boolean(actions.canEditNow),
      clusterName: head.cluster ? head.cluster.name : null,
      onResolved: actions.onResolved,
      onStale: actions.onStale,
    }),
    renderPending(head),
  );
  side.hidden = !side.firstChild;
}

/** @param {HeadParts} parts @param {any} head @param {HeadActions} actions */
export function renderClusterHead({ title, facts, side }, head, actions) {
  replace(title, 'Cluster ', head.name);
  const members = head.instances;
  const names = new Map(members.map((/** @type {any} */ m) => [m.id, m.name]));
  replace(
    facts,
    head.description ? `${head.description} · ` : '',
    head.parent ? ['inside ', h('a', { href: `#/cluster/${head.parent.id}` }, head.parent.name), ' · '] : '',
    `${members.length} member${members.length === 1 ? '' : 's'}`,
  );
  replace(
    side,
    members.length
      ? h('ul', { class: 'members inline' }, members.map((/** @type {any} */ m) => memberItem(m, head.id)))
      : h('p', { class: 'muted' }, 'No members yet: its keys reach instances once they join (on the overview).'),
    renderClusterFailed(head.failed, { names, canEdit: actions.canEdit, onRetried: actions.onRetried }),
    renderDrift(head.drift, {
      canEdit: actions.canEdit,
      names,
      clusterName: head.name,
      onResolved: actions.onResolved,
      onStale: actions.onStale,
    }),
  );
  side.hidden = false;
}

/** One member of a cluster. @param {any} m @param {string} clusterId */
function memberItem(m, clusterId) {
  return h(
    'li',
    { class: 'member', dataset: { id: m.id, status: m.status } },
    statusDot(m.status),
    h('a', { href: `#/instance/${m.id}` }, m.name),
    m.cluster && m.cluster.id !== clusterId ? h('span', { class: 'muted' }, ` (via ${m.cluster.name})`) : null,
    m.pending.length ? h('span', { class: 'badge pending-count' }, `${m.pending.length} pending`) : null,
    m.failed.length ? h('span', { class: 'badge failed-count' }, `⚠ ${m.failed.length} not applied`) : null,
  );
}
