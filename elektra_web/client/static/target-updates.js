// @ts-check
// What an instance's or a cluster's page does with what it hears live
// (target-live.js): the tree follows a changed key and so does the key shown;
// a status redraws the head (or a member on a cluster's page); a cluster's
// write progress is shown; a reconnection reads everything again. Tree work
// is queued, one change after the other.

import { statusDot, flash } from './dom.js';
import { renderProgress, onProgress } from './progress.js';
import { followTarget } from './target-live.js';

/**
 * @typedef {object} UpdateOptions
 * @property {any} app
 * @property {import('./undo.js').Target} target
 * @property {import('./target-layout.js').TargetParts} parts
 * @property {import('./tree.js').KeyTree} tree
 * @property {ReturnType<typeof import('./target-head-load.js').headLoader>} header
 * @property {ReturnType<typeof import('./target-detail.js').keySelection>} selection
 * @property {() => void} refreshHistory
 * @property {() => boolean} destroyed
 */

/** @param {UpdateOptions} o @returns {{refreshTreeSoon: () => void, stop: () => void}} */
export function liveUpdates(o) {
  const { app, tree, header, selection } = o;
  const { kind, id } = o.target;
  const { title, side, progress, treeError } = o.parts;
  let queue = Promise.resolve();
  /** @type {(() => void)[]} */
  const stops = [];

  stops.push(
    ...followTarget(app, o.target, {
      configChanged,
      statusChanged,
      driftChanged: () => header.loadSoon(),
      reconnected: async () => {
        await header.load();
        await tree.refreshAll();
        await selection.refresh();
      },
    }),
  );

  /** A key changed: the tree follows, and the key shown (what is typed stays). @param {any} change */
  function configChanged(change) {
    if (kind === 'cluster' && change.instance) {
      // A delivery to a member: its pending count may change.
      header.loadSoon();
      return;
    }
    if (change.op !== 'MOUNT') o.refreshHistory();
    queue = queue.then(async () => {
      if (o.destroyed()) return;
      try {
        await tree.applyChange(change);
      } catch {
        /* the next refresh shows it */
      }
      await selection.changed(change);
    });
    if (kind === 'instance') header.loadSoon();
  }

  /** @param {{id: string, status: string, lastSeen: string}} inst */
  function statusChanged(inst) {
    const head = header.head;
    if (kind === 'instance' && head && inst.id === id) {
      if (head.status !== 'ONLINE' && inst.status === 'ONLINE') refreshTreeSoon();
      head.status = inst.status;
      head.lastSeen = inst.lastSeen;
      header.showInstance();
      flash(title);
      header.loadSoon();
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
        if (info && (info.failed || info.settled)) header.loadSoon();
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
        if (o.destroyed()) return;
        try {
          await tree.refreshAll();
          treeError.hidden = true;
          await selection.refresh();
        } catch {
          /* unreachable again: the header says so */
        }
      });
    }, 300);
  }

  return {
    refreshTreeSoon,
    stop() {
      clearTimeout(treeTimer);
      for (const stop of stops) stop();
    },
  };
}
