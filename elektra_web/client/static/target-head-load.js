// @ts-check
// The head of an instance's or a cluster's page kept current: read now, soon
// after a change, every 10 s while the page is visible, and once a cluster
// write this instance takes part in is decided (cluster-watch.js); drawn by
// target-head.js. An instance's lists also mark the tree, and the key shown
// follows its status and what of it was not applied.

import { gql } from './api.js';
import { h, replace, showError } from './dom.js';
import { describe } from './errors.js';
import { track } from './progress.js';
import { treeMarks } from './deliveries.js';
import { clusterWatch } from './cluster-watch.js';
import { INSTANCE_HEAD, CLUSTER_HEAD, renderInstanceHead, renderClusterHead } from './target-head.js';

/**
 * @typedef {object} HeadOptions
 * @property {any} app
 * @property {import('./undo.js').Target} target
 * @property {boolean} canEdit the person may edit
 * @property {import('./target-layout.js').TargetParts} parts
 * @property {import('./tree.js').KeyTree} tree marked with an instance's lists
 * @property {HTMLElement | null} newForm hidden while an instance is offline
 * @property {() => string | null} selected the key shown
 * @property {() => Promise<void>} refreshSelected
 * @property {() => void} refreshTreeSoon
 * @property {(path: string, then: string | null, op: string) => Promise<void>} afterWrite
 * @property {() => void} loaded the head was read and drawn
 * @property {() => boolean} destroyed
 */

/** @param {HeadOptions} o */
export function headLoader(o) {
  const { kind, id } = o.target;
  const { title, facts, side, headError } = o.parts;
  /** @type {any} */
  let head = null;
  let shownStatus = /** @type {string | null} */ (null);
  let shownMarks = /** @type {string | null} */ (null);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  // An offline instance refuses every write: offer none until it is back.
  const canEditNow = () => o.canEdit && !(kind === 'instance' && head && head.status === 'OFFLINE');

  /** Cluster writes of ``path`` this instance has not applied (refused or waiting). @param {string} path */
  function notApplied(path) {
    if (kind !== 'instance' || !head) return [];
    return [...(head.failed || []), ...(head.pending || [])].filter((/** @type {any} */ p) => p.path === path);
  }

  const actions = {
    canEdit: o.canEdit,
    get canEditNow() {
      return canEditNow();
    },
    onRetried: retried,
    onResolved: driftResolved,
    onStale: load,
  };
  const watch = kind === 'instance' ? clusterWatch(o.app.live, id, () => loadSoon()) : null;

  async function load() {
    const previous = head;
    try {
      const data = await gql(kind === 'cluster' ? CLUSTER_HEAD : INSTANCE_HEAD, { id });
      head = data[kind];
    } catch (e) {
      showError(headError, describe(e));
      return;
    }
    if (o.destroyed()) return;
    if (head && kind === 'instance' && previous) {
      // Back online, or deliveries landed: what it holds may have changed
      // while clusterd could not follow it. Read the open keys again.
      const back = previous.status !== 'ONLINE' && head.status === 'ONLINE';
      const landed = head.pending.length < previous.pending.length || head.failed.length < previous.failed.length;
      if (back || landed) o.refreshTreeSoon();
    }
    if (!head) {
      replace(title, `No such ${kind}`);
      replace(facts, h('a', { href: '#/' }, 'Back to the overview'));
      return;
    }
    document.title = `${head.name} · Elektra Web`;
    o.loaded();
    if (kind === 'instance') {
      showInstance();
      if (watch) watch.follow(head.cluster ? head.cluster.id : '');
    } else renderClusterHead({ title, facts, side }, head, actions);
  }

  /** An instance's head drawn again (its lists, or a status heard live). */
  function showInstance() {
    if (shownStatus !== null && shownStatus !== head.status) o.refreshSelected();
    shownStatus = head.status;
    if (o.newForm) o.newForm.hidden = head.status === 'OFFLINE';
    renderInstanceHead({ title, facts, side }, head, actions);
    o.tree.setMarks(treeMarks(head.failed, head.pending));
    // The key shown: its note on what was not applied follows the lists.
    const selected = o.selected();
    const marks = JSON.stringify(notApplied(selected || '').map((p) => [p.operationId, p.status, p.lastError]));
    if (selected && shownMarks !== null && marks !== shownMarks) o.refreshSelected();
    shownMarks = marks;
  }

  function loadSoon() {
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  }

  /** After retryDeliveries: the refused writes are pending again; read the lists. */
  async function retried() {
    await load();
    loadSoon();
  }

  /** @param {any} result @param {string} action @param {any} d */
  async function driftResolved(result, action, d) {
    // Adopting is a write to the whole cluster: show its deliveries there.
    if (action === 'ADOPT') track(o.app.live, d.clusterId, `adopt ${d.path}`, result);
    if (action === 'ADOPT_DELETION') track(o.app.live, d.clusterId, `delete ${d.path} (deleted on a member)`, result);
    await load();
    await o.afterWrite(d.path, null, action === 'ADOPT_DELETION' ? 'DELETE' : 'SET');
  }

  // Pending deliveries and last seen age: read the header again now and then.
  const tick = setInterval(() => document.visibilityState === 'visible' && load(), 10000);

  return {
    /** The head as last read (null: not yet, or no such target). */
    get head() {
      return head;
    },
    canEditNow,
    notApplied,
    load,
    loadSoon,
    showInstance,
    stop() {
      clearTimeout(timer);
      clearInterval(tick);
      if (watch) watch.stop();
    },
  };
}
