// @ts-check
// The configuration of one instance or one cluster: it puts the page together
// from its components — the skeleton (target-layout.js), the head kept current
// (target-head-load.js, target-head.js, cluster-watch.js), find (find.js), the
// tree (tree.js), the key chosen and its detail (target-detail.js, editor.js),
// new key (newkey.js), the writes and what follows them (target-writes.js),
// undo/redo of this target (undo.js, history-buttons.js), live changes
// (target-live.js, target-updates.js), the key's history and rollback
// (history-view.js), export and import (transfer.js).

import { h, replace, showError } from './dom.js';
import { describe } from './errors.js';
import { KeyTree } from './tree.js';
import { readChildren, readRoots } from './ops.js';
import { historyOf } from './undo.js';
import { historyButtons } from './history-buttons.js';
import { findForm } from './find.js';
import { newKeyForm } from './newkey.js';
import { historyPanel } from './history-view.js';
import { transferPanel } from './transfer.js';
import { targetParts, layoutTarget } from './target-layout.js';
import { keySelection } from './target-detail.js';
import { headLoader } from './target-head-load.js';
import { targetWrites, writeOps } from './target-writes.js';
import { liveUpdates } from './target-updates.js';

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
  let gone = false;
  const destroyed = () => gone;
  const canEdit = app.canEdit();
  const parts = targetParts(kind);

  const tree = new KeyTree({
    load: (/** @type {string} */ path) => readChildren(target, path),
    loadRoots: () => readRoots(target),
    onSelect: (/** @type {string} */ path) => selection.select(path),
  });

  const history = historyOf(target);
  const writes = targetWrites(app.live, target, history, {
    tree,
    refreshSelected: () => selection.refresh(),
    loadHead: () => header.load(),
    refreshHistory: () => historyView.refreshSoon(),
  });

  /** @type {import('./editor.js').KeyContext} */
  const keyCtx = {
    target,
    perform: writes.perform,
    get canEdit() {
      return header.canEditNow();
    },
    notApplied: (path) => header.notApplied(path),
  };
  const selection = keySelection({
    detail: parts.detail,
    keyCtx,
    follow: (path) => {
      historyView.follow(path);
      transfer.follow(path);
    },
    destroyed,
  });
  const newForm = canEdit ? newKeyForm(keyCtx) : null;

  const header = headLoader({
    app,
    target,
    canEdit,
    parts,
    tree,
    newForm,
    selected: () => selection.selected,
    refreshSelected: selection.refresh,
    refreshTreeSoon: () => updates.refreshTreeSoon(),
    afterWrite: writes.afterWrite,
    loaded: () => undoRedo.update(),
    destroyed,
  });

  const undoRedo = historyButtons(history, {
    name: () => (header.head ? `${kind} ${header.head.name}` : `this ${kind}`),
    // Undoing a cluster edit is a cluster write: previewed as any.
    run: (t, ops, label) => writeOps(app.live, t, ops, label),
    after: writes.stepped,
  });
  const historyView = historyPanel({ target, canEdit, path: params.get('path'), onRolledBack: writes.written });
  const transfer = transferPanel({ target, canEdit, name: () => (header.head ? header.head.name : `${kind}-${id}`), onImported: writes.written });

  layoutTarget(main, target, parts, {
    find: findForm(target, (path) => tree.reveal(path)),
    tree: tree.el,
    newForm,
    undoRedo: canEdit ? undoRedo.el : null,
    tools: [historyView.el, transfer.el],
  });

  const updates = liveUpdates({ app, target, parts, tree, header, selection, refreshHistory: () => historyView.refreshSoon(), destroyed });

  // -- start ----------------------------------------------------------------------------
  header.load();
  tree
    .init()
    .then(async () => {
      if (tree.isEmpty()) {
        replace(parts.detail, h('p', { class: 'empty' }, canEdit ? 'No keys yet. Add the first one with “New key”.' : 'No keys yet.'));
      }
      const path = params.get('path');
      if (path) await tree.reveal(path);
    })
    .catch((e) => showError(parts.treeError, describe(e)));

  return {
    destroy() {
      gone = true;
      header.stop();
      updates.stop();
      for (const stop of [undoRedo.stop, historyView.stop, transfer.stop]) stop();
    },
  };
}
