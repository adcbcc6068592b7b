// @ts-check
// The writes of an instance's or a cluster's page — an edit of the key detail,
// an undo or redo, a rollback, an import — and what is read again after them.
// A cluster write is previewed first (write-preview.js) and its deliveries
// shown (progress.js).

import { parentOf } from './dom.js';
import { runOps } from './ops.js';
import { track } from './progress.js';
import { confirmClusterWrite } from './write-preview.js';

/** @typedef {import('./undo.js').Target} Target */
/** @typedef {import('./undo.js').Op} Op */
/** @typedef {import('./undo.js').History} History */
/** @typedef {import('./editor.js').Edit} Edit */

/**
 * Write ``ops`` to ``t``: a cluster write after its preview (who would take it,
 * who would refuse), its progress tracked.
 * @param {any} live
 * @param {Target} t
 * @param {Op[]} ops
 * @param {string} label
 */
export async function writeOps(live, t, ops, label) {
  const how = t.kind === 'cluster' ? await confirmClusterWrite(t, ops, label) : {};
  await runOps(
    t,
    ops,
    (r) => {
      if (t.kind === 'cluster') track(live, t.id, label, r);
    },
    how,
  );
}

/**
 * What is read again after a write.
 * @typedef {object} Rereads
 * @property {import('./tree.js').KeyTree} tree
 * @property {() => Promise<void>} refreshSelected
 * @property {() => any} loadHead an instance's head (its lists)
 * @property {() => void} refreshHistory
 */

/**
 * @param {any} live
 * @param {Target} target
 * @param {History} history
 * @param {Rereads} again
 */
export function targetWrites(live, target, history, again) {
  const { kind, id } = target;

  /** After a write of ``path``: the tree, and ``then`` revealed (or the key shown again). @param {string} path @param {string | null} then @param {string} op */
  async function afterWrite(path, then, op) {
    try {
      await again.tree.applyChange({ op, path });
    } catch {
      /* shown by the next refresh */
    }
    if (then) await again.tree.reveal(then);
    else await again.refreshSelected();
    if (kind === 'instance') again.loadHead();
    again.refreshHistory();
  }

  return {
    afterWrite,

    /** An edit of the key detail, recorded for undo. @param {Edit} edit */
    async perform({ label, path, forward, inverse, select: then, deleted }) {
      await writeOps(live, target, forward, label);
      history.record({ label, target, forward, inverse });
      await afterWrite(path, deleted ? parentOf(path) : then || null, deleted ? 'DELETE' : 'SET');
    },

    /** A rollback or an import was written: its progress, and the keys again. @param {any} result @param {string} label */
    async written(result, label) {
      if (kind === 'cluster') track(live, id, label, result);
      await again.tree.refreshAll();
      await again.refreshSelected();
      if (kind === 'instance') again.loadHead();
      again.refreshHistory();
    },

    /** An undo or a redo was done: the keys again. */
    async stepped() {
      await again.tree.refreshAll();
      await again.refreshSelected();
      if (kind === 'instance') again.loadHead();
    },
  };
}
