// @ts-check
// The configuration of one instance or one cluster: it puts together the head
// (target-head.js), find (find.js), the tree (tree.js), the key detail
// (editor.js), new key (newkey.js), undo/redo of this target (undo.js,
// history-buttons.js), live changes (target-live.js), cluster write progress and an
// instance's refused cluster writes (cluster-watch.js), the key's history and
// rollback (history-view.js), export and import (transfer.js).

import { gql } from './api.js';
import { h, replace, statusDot, showError, flash, isBelowOrSame, parentOf, isNarrow } from './dom.js';
import { describe } from './errors.js';
import { KeyTree } from './tree.js';
import { showKey, refreshKey, hasDraft } from './editor.js';
import { runOps, readChildren, readRoots } from './ops.js';
import { historyOf } from './undo.js';
import { historyButtons } from './history-buttons.js';
import { track, renderProgress, onProgress } from './progress.js';
import { treeMarks } from './deliveries.js';
import { findForm } from './find.js';
import { newKeyForm } from './newkey.js';
import { clusterWatch } from './cluster-watch.js';
import { INSTANCE_HEAD, CLUSTER_HEAD, renderInstanceHead, renderClusterHead } from './target-head.js';
import { followTarget } from './target-live.js';
import { matrixPanel } from './matrix.js';
import { historyPanel } from './history-view.js';
import { transferPanel } from './transfer.js';
import { confirmClusterWrite } from './write-preview.js';

/** @typedef {import('./editor.js').KeyContext} KeyContext */
/** @typedef {import('./editor.js').Edit} Edit */

/**
 * @param {HTMLElement} main
 * @param {any} app
 * @param {'instance' | 'cluster'} kind
 * @param {string} id
 * @param {URLSearchParams} params
 */
export function mountTarget(main, app, kind, id, params) {
  /** @type {import('./undo.js').Target} */
  const target = { kind, id };
  /** @type {(() => void)[]} */
  const stops = [];
  let destroyed = false;
  /** @type {any} */
  let head = null;
  /** @type {string | null} */
  let selected = null;

  const title = h('h1', { class: 'target-title' }, kind === 'cluster' ? 'Cluster' : 'Instance');
  const facts = h('p', { class: 'facts' });
  const headError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const side = h('section', { class: 'side-info' });
  const progress = h('section', { class: 'progress', 'aria-live': 'polite', hidden: true });
  const detail = h('section', { class: 'detail', id: 'detail', 'aria-live': 'polite', tabindex: '-1' });
  const treeError = h('p', { class: 'form-error', role: 'alert', hidden: true });

  const tree = new KeyTree({
    load: (/** @type {string} */ path) => readChildren(target, path),
    loadRoots: () => readRoots(target),
    onSelect: (/** @type {string} */ path) => select(path),
  });

  const canEdit = app.canEdit();
  /** @type {KeyContext} */
  const keyCtx = {
    target,
    perform,
    // An offline instance refuses every write: offer none until it is back.
    get canEdit() {
      return canEdit && !(kind === 'instance' && head && head.status === 'OFFLINE');
    },
    /** Cluster writes of ``path`` this instance has not applied (refused or waiting). */
    notApplied(path) {
      if (kind !== 'instance' || !head) return [];
      return [...(head.failed || []), ...(head.pending || [])].filter((p) => p.path === path);
    },
  };

  // -- undo/redo: this target's own history ---------------------------------------------
  const history = historyOf(target);
  const historyControls = historyButtons(history, {
    name: () => (head ? `${kind} ${head.name}` : `this ${kind}`),
    run: async (t, ops, label) => {
      // Undoing a cluster edit is a cluster write: previewed as any.
      const how = t.kind === 'cluster' ? await confirmClusterWrite(t, ops, label) : {};
      await runOps(
        t,
        ops,
        (r) => {
          if (t.kind === 'cluster') track(app.live, t.id, label, r);
        },
        how,
      );
    },
    after: async () => {
      await tree.refreshAll();
      await refreshSelected();
      if (kind === 'instance') loadHead();
    },
  });
  stops.push(historyControls.stop);

  // -- history (with rollback), export and import -------------------------------------
  const historyView = historyPanel({ target, canEdit, path: params.get('path'), onRolledBack: written });
  const transfer = transferPanel({ target, canEdit, name: () => (head ? head.name : `${kind}-${id}`), onImported: written });
  stops.push(historyView.stop, transfer.stop);

  /** A rollback or an import was written: its progress, and the keys again. @param {any} result @param {string} label */
  async function written(result, label) {
    if (kind === 'cluster') track(app.live, id, label, result);
    await tree.refreshAll();
    await refreshSelected();
    if (kind === 'instance') loadHead();
    historyView.refreshSoon();
  }

  // -- layout ---------------------------------------------------------------------------
  const newForm = canEdit ? newKeyForm(keyCtx) : null;
  const treePane = h(
    'section',
    { class: 'tree-pane', 'aria-label': 'Configuration' },
    findForm(target, (path) => tree.reveal(path)),
    h('h2', { class: 'visually-hidden' }, 'Keys'),
    treeError,
    tree.el,
    newForm,
  );
  main.replaceChildren(
    h(
      'div',
      { class: 'target', dataset: { kind, id } },
      h(
        'nav',
        { class: 'crumbs' },
        h('a', { href: '#/' }, '← Instances & clusters'),
        h('a', { class: 'compare-link', href: `#/compare?left=${kind}:${encodeURIComponent(id)}` }, 'Compare…'),
      ),
      h(
        'header',
        { class: 'target-head' },
        h('div', {}, title, facts, headError),
        canEdit ? historyControls.el : null,
      ),
      side,
      progress,
      h('div', { class: 'browser' }, treePane, detail),
      h('div', { class: 'tools' }, historyView.el, transfer.el),
      kind === 'cluster' ? matrixPanel(id).el : null,
    ),
  );
  replace(detail, h('p', { class: 'muted' }, 'Choose a key to see its value and metadata.'));

  // -- header ---------------------------------------------------------------------------
  let shownStatus = /** @type {string | null} */ (null);
  let shownMarks = /** @type {string | null} */ (null);
  const headActions = {
    canEdit,
    get canEditNow() {
      return keyCtx.canEdit;
    },
    onRetried: retried,
    onResolved: driftResolved,
    onStale: loadHead,
  };
  const watch = kind === 'instance' ? clusterWatch(app.live, id, () => loadHeadSoon()) : null;
  if (watch) stops.push(watch.stop);

  async function loadHead() {
    const previous = head;
    try {
      const data = await gql(kind === 'cluster' ? CLUSTER_HEAD : INSTANCE_HEAD, { id });
      head = data[kind];
    } catch (e) {
      showError(headError, describe(e));
      return;
    }
    if (destroyed) return;
    if (head && kind === 'instance' && previous) {
      // Back online, or deliveries landed: what it holds may have changed
      // while clusterd could not follow it. Read the open keys again.
      const back = previous.status !== 'ONLINE' && head.status === 'ONLINE';
      const landed = head.pending.length < previous.pending.length || head.failed.length < previous.failed.length;
      if (back || landed) refreshTreeSoon();
    }
    if (!head) {
      replace(title, `No such ${kind}`);
      replace(facts, h('a', { href: '#/' }, 'Back to the overview'));
      return;
    }
    document.title = `${head.name} · Elektra Web`;
    historyControls.update();
    if (kind === 'instance') {
      showInstanceHead();
      if (watch) watch.follow(head.cluster ? head.cluster.id : '');
    } else renderClusterHead({ title, facts, side }, head, headActions);
  }

  function showInstanceHead() {
    if (shownStatus !== null && shownStatus !== head.status) refreshSelected();
    shownStatus = head.status;
    if (newForm) newForm.hidden = head.status === 'OFFLINE';
    renderInstanceHead({ title, facts, side }, head, headActions);
    tree.setMarks(treeMarks(head.failed, head.pending));
    // The key shown: its note on what was not applied follows the lists.
    const marks = JSON.stringify(keyCtx.notApplied?.(selected || '').map((p) => [p.operationId, p.status, p.lastError]));
    if (selected && shownMarks !== null && marks !== shownMarks) refreshSelected();
    shownMarks = marks;
  }

  /** After retryDeliveries: the refused writes are pending again; read the lists. */
  async function retried() {
    await loadHead();
    loadHeadSoon();
  }

  /** @param {any} result @param {string} action @param {any} d */
  async function driftResolved(result, action, d) {
    // Adopting is a write to the whole cluster: show its deliveries there.
    if (action === 'ADOPT') track(app.live, d.clusterId, `adopt ${d.path}`, result);
    if (action === 'ADOPT_DELETION') track(app.live, d.clusterId, `delete ${d.path} (deleted on a member)`, result);
    await loadHead();
    await afterWrite(d.path, null, action === 'ADOPT_DELETION' ? 'DELETE' : 'SET');
  }

  // -- the key detail -------------------------------------------------------------------
  /** A key chosen (in the tree, a find result, after an edit): shown afresh. @param {string} path */
  async function select(path) {
    selected = path;
    historyView.follow(path);
    transfer.follow(path);
    const hash = `#/${kind}/${id}?path=${encodeURIComponent(path)}`;
    if (location.hash !== hash) window.history.replaceState(null, '', hash);
    const key = await showKey(detail, keyCtx, path);
    // On a phone the detail is below the tree: bring it on screen.
    if (isNarrow() && selected === path && !destroyed) detail.scrollIntoView({ block: 'start' });
    return key;
  }

  /** The key shown, again (a change elsewhere, a status): what is typed stays. */
  async function refreshSelected() {
    if (selected) await refreshKey(detail, keyCtx, selected);
  }

  // -- writes ---------------------------------------------------------------------------
  /** @param {Edit} edit */
  async function perform({ label, path, forward, inverse, select: then, deleted }) {
    // A cluster write: its preview first (who would take it, who would refuse).
    const how = kind === 'cluster' ? await confirmClusterWrite(target, forward, label) : {};
    await runOps(
      target,
      forward,
      (r) => {
        if (kind === 'cluster') track(app.live, id, label, r);
      },
      how,
    );
    history.record({ label, target, forward, inverse });
    await afterWrite(path, deleted ? parentOf(path) : then || null, deleted ? 'DELETE' : 'SET');
  }

  /** @param {string} path @param {string | null} then @param {string} op */
  async function afterWrite(path, then, op) {
    try {
      await tree.applyChange({ op, path });
    } catch {
      /* shown by the next refresh */
    }
    if (then) await tree.reveal(then);
    else await refreshSelected();
    if (kind === 'instance') loadHead();
    historyView.refreshSoon();
  }

  // -- live -----------------------------------------------------------------------------
  let queue = Promise.resolve();
  stops.push(
    ...followTarget(app, target, {
      configChanged,
      statusChanged,
      driftChanged: () => loadHeadSoon(),
      reconnected: async () => {
        await loadHead();
        await tree.refreshAll();
        await refreshSelected();
      },
    }),
  );

  /** A key changed: the tree follows, and the key shown (what is typed stays). @param {any} change */
  function configChanged(change) {
    if (kind === 'cluster' && change.instance) {
      // A delivery to a member: its pending count may change.
      loadHeadSoon();
      return;
    }
    if (change.op !== 'MOUNT') historyView.refreshSoon();
    queue = queue.then(async () => {
      if (destroyed) return;
      try {
        await tree.applyChange(change);
      } catch {
        /* the next refresh shows it */
      }
      if (selected && (isBelowOrSame(selected, change.path) || isBelowOrSame(change.path, selected))) {
        // MOUNT: its file broke or parses again; what was shown of it is
        // stale either way, so the key is drawn afresh (mounts.js) — unless
        // a value is being typed there: that draft stays.
        if (change.op === 'MOUNT' && !hasDraft(detail)) await showKey(detail, keyCtx, selected);
        else await refreshSelected();
        flash(detail.querySelector('.key-path'));
      }
    });
    if (kind === 'instance') loadHeadSoon();
  }

  /** @param {{id: string, status: string, lastSeen: string}} inst */
  function statusChanged(inst) {
    if (kind === 'instance' && head && inst.id === id) {
      if (head.status !== 'ONLINE' && inst.status === 'ONLINE') refreshTreeSoon();
      head.status = inst.status;
      head.lastSeen = inst.lastSeen;
      showInstanceHead();
      flash(title);
      loadHeadSoon();
    } else if (kind === 'cluster') {
      const li = side.querySelector(`li.member[data-id="${CSS.escape(inst.id)}"]`);
      if (li instanceof HTMLElement) {
        li.dataset.status = inst.status;
        li.querySelector('.dot')?.replaceWith(statusDot(inst.status));
        flash(li);
      }
    }
  }

  if (kind === 'cluster') {
    stops.push(
      onProgress((clusterId, info) => {
        if (clusterId !== id) return;
        renderProgress(progress, id);
        // A member refused it (or one landed): the lists and counts change.
        if (info && (info.failed || info.settled)) loadHeadSoon();
      }),
    );
    renderProgress(progress, id);
  }

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let treeTimer;
  function refreshTreeSoon() {
    clearTimeout(treeTimer);
    treeTimer = setTimeout(() => {
      queue = queue.then(async () => {
        if (destroyed) return;
        try {
          await tree.refreshAll();
          treeError.hidden = true;
          await refreshSelected();
        } catch {
          /* unreachable again: the header says so */
        }
      });
    }, 300);
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let headTimer;
  function loadHeadSoon() {
    clearTimeout(headTimer);
    headTimer = setTimeout(loadHead, 300);
  }
  // Pending deliveries and last seen age: read the header again now and then.
  const tick = setInterval(() => document.visibilityState === 'visible' && loadHead(), 10000);

  // -- start ----------------------------------------------------------------------------
  loadHead();
  tree
    .init()
    .then(async () => {
      if (tree.isEmpty()) {
        replace(detail, h('p', { class: 'empty' }, canEdit ? 'No keys yet. Add the first one with “New key”.' : 'No keys yet.'));
      }
      const path = params.get('path');
      if (path) await tree.reveal(path);
    })
    .catch((e) => showError(treeError, describe(e)));

  return {
    destroy() {
      destroyed = true;
      clearTimeout(headTimer);
      clearTimeout(treeTimer);
      clearInterval(tick);
      for (const stop of stops) stop();
    },
  };
}
