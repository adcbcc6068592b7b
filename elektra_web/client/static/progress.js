// @ts-check
// Per-member progress of cluster writes (operationProgress): applied,
// pending (stays visible until it lands), failed with the reason, or
// superseded (a newer write of the key replaced it: done, not an error).

import { h, replace, flash } from './dom.js';
import { Emitter } from './emitter.js';

const PROGRESS = `subscription($op: ID!) { operationProgress(operationId: $op) {
  instance { id name } delivery error } }`;

/** Writes made from this page, per cluster id: [{label, operationId, rows: Map}] */
const byCluster = new Map();
const events = new Emitter();

/**
 * ``info``: {failed: a member refused one, settled: a delivery was decided}.
 * @param {string} clusterId
 * @param {{failed?: boolean, settled?: boolean}} [info]
 */
function changed(clusterId, info = {}) {
  events.emit('change', { clusterId, info });
}

/**
 * @param {(clusterId: string, info: {failed?: boolean, settled?: boolean}) => void} fn
 * @returns {() => void} stops it
 */
export function onProgress(fn) {
  return events.on('change', ({ clusterId, info }) => fn(clusterId, info));
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
  const anyFailed = writeResult.results.some((r) => r.delivery === 'FAILED');
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
        const moved = !old || old.delivery !== r.delivery;
        entry.rows.set(r.instance.id, { ...r, changed: moved });
        settle();
        changed(clusterId, { failed: moved && r.delivery === 'FAILED', settled: moved && r.delivery !== 'PENDING' });
      },
      complete: () => {
        settle();
        changed(clusterId, { settled: true });
      },
      error: () => changed(clusterId),
    });
  }
  changed(clusterId, { failed: anyFailed });
  return entry;
}

const LABELS = { APPLIED: 'applied', PENDING: 'pending', FAILED: 'failed', SUPERSEDED: 'superseded' };
/** Said after the member's name when clusterd gives no reason. */
const NOTES = { SUPERSEDED: 'superseded by a newer write' };

/** The line under a write's label: how many members are done, waiting, refused. */
export function summarize(rows) {
  const count = (d) => rows.filter((r) => r.delivery === d).length;
  const pending = count('PENDING');
  const failed = count('FAILED');
  const superseded = count('SUPERSEDED');
  const n = rows.length;
  if (!n) return 'no members yet';
  const newer = superseded ? ` (${superseded} superseded by a newer write)` : '';
  if (pending) {
    const parts = [`${n - pending - failed} of ${n} members applied${newer}`, `${pending} pending`];
    if (failed) parts.push(`${failed} failed`);
    return parts.join(', ');
  }
  if (failed) return `${failed} of ${n} members failed`;
  return `all ${n} members applied${newer}`;
}

/** One member's delivery (an <li>). */
export function deliveryItem(r) {
  const note = r.error || NOTES[r.delivery];
  return h(
    'li',
    { class: `delivery ${r.delivery.toLowerCase()}`, dataset: { instance: r.instance.id } },
    h('span', { class: 'badge' }, LABELS[r.delivery] || r.delivery.toLowerCase()),
    ' ',
    h('a', { href: `#/instance/${r.instance.id}` }, r.instance.name),
    note ? h('span', { class: r.delivery === 'FAILED' ? 'reason' : 'muted note' }, ` — ${note}`) : null,
  );
}

/** Render the writes made to a cluster from this page into ``container``. */
export function renderProgress(container, clusterId) {
  const list = byCluster.get(clusterId) || [];
  container.hidden = list.length === 0;
  if (!list.length) return replace(container);
  const cards = list.slice(0, 5).map((entry) => {
    const rows = [...entry.rows.values()];
    const pending = rows.filter((r) => r.delivery === 'PENDING').length;
    const summary = summarize(rows);
    const items = rows.map((r) => {
      const li = deliveryItem(r);
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
