// Per-member progress of cluster writes (operationProgress): applied,
// pending (stays visible until it lands) or failed with the reason.

import { h, replace, flash } from './dom.js';

const PROGRESS = `subscription($op: ID!) { operationProgress(operationId: $op) {
  instance { id name } delivery error } }`;

/** Writes made from this page, per cluster id: [{label, operationId, rows: Map}] */
const byCluster = new Map();
const listeners = new Set();

function changed(clusterId) {
  for (const fn of listeners) fn(clusterId);
}

export function onProgress(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Track a cluster write: its first results, then the deliveries as they land. */
export function track(live, clusterId, label, writeResult) {
  const entry = {
    label,
    operationId: writeResult.operationId,
    rows: new Map(),
    done: false,
    at: new Date(),
  };
  for (const r of writeResult.results) entry.rows.set(r.instance.id, { ...r });
  if (!byCluster.has(clusterId)) byCluster.set(clusterId, []);
  const list = byCluster.get(clusterId);
  list.unshift(entry);
  if (list.length > 20) list.pop();
  const settle = () => {
    entry.done = ![...entry.rows.values()].some((r) => r.delivery === 'PENDING');
  };
  settle();
  if (!entry.done) {
    entry.stop = live.subscribe(PROGRESS, { op: entry.operationId }, {
      next: (data) => {
        const r = data.operationProgress;
        const old = entry.rows.get(r.instance.id);
        entry.rows.set(r.instance.id, { ...r, changed: !old || old.delivery !== r.delivery });
        settle();
        changed(clusterId);
      },
      complete: () => {
        settle();
        changed(clusterId);
      },
      error: () => changed(clusterId),
    });
  }
  changed(clusterId);
  return entry;
}

const LABELS = { APPLIED: 'applied', PENDING: 'pending', FAILED: 'failed' };

/** Render the writes made to a cluster from this page into ``container``. */
export function renderProgress(container, clusterId) {
  const list = byCluster.get(clusterId) || [];
  container.hidden = list.length === 0;
  if (!list.length) return replace(container);
  const cards = list.slice(0, 5).map((entry) => {
    const rows = [...entry.rows.values()];
    const pending = rows.filter((r) => r.delivery === 'PENDING').length;
    const failed = rows.filter((r) => r.delivery === 'FAILED').length;
    const summary = !rows.length
      ? 'no members yet'
      : pending
        ? `${rows.length - pending} of ${rows.length} members applied, ${pending} pending`
        : failed
          ? `${failed} of ${rows.length} members failed`
          : `all ${rows.length} members applied`;
    const items = rows.map((r) => {
      const li = h(
        'li',
        { class: `delivery ${r.delivery.toLowerCase()}`, dataset: { instance: r.instance.id } },
        h('span', { class: 'badge' }, LABELS[r.delivery] || r.delivery),
        ' ',
        h('a', { href: `#/instance/${r.instance.id}` }, r.instance.name),
        r.error ? h('span', { class: 'reason' }, ` — ${r.error}`) : null,
      );
      if (r.changed) {
        r.changed = false;
        queueMicrotask(() => flash(li));
      }
      return li;
    });
    return h(
      'section',
      { class: `progress-card${pending ? ' has-pending' : ''}`, dataset: { operation: entry.operationId } },
      h('h4', {}, entry.label),
      h('p', { class: 'summary' }, summary),
      h('ul', { class: 'deliveries' }, items),
    );
  });
  replace(container, h('h3', {}, 'Cluster writes from this page'), cards);
  return container;
}
