// @ts-check
// Undo and redo of the edits made in this page. Each instance and each
// cluster has its own history: the Undo button of a page only ever takes back
// edits of the configuration shown there, and its label names it.

import { Emitter } from './emitter.js';

/** @typedef {{op: string, [field: string]: any}} Op */
/** @typedef {{kind: 'instance' | 'cluster', id: string}} Target */
/**
 * @typedef {object} Entry
 * @property {string} label what the edit did, e.g. "set user:/app/port = 80"
 * @property {Target} target
 * @property {Op[]} forward
 * @property {Op[] | null} inverse null: it cannot be undone
 */

const LIMIT = 100;

export class History extends Emitter {
  /** @param {Target} target */
  constructor(target) {
    super();
    this.target = target;
    /** @type {Entry[]} */
    this.undoStack = [];
    /** @type {Entry[]} */
    this.redoStack = [];
    this.busy = false;
  }

  /** @param {Entry} entry */
  record(entry) {
    if (!entry.inverse) return;
    this.undoStack.push(entry);
    if (this.undoStack.length > LIMIT) this.undoStack.shift();
    this.redoStack.length = 0;
    this.emit('change');
  }

  /** @returns {Entry | null} */
  peekUndo() {
    return this.undoStack[this.undoStack.length - 1] || null;
  }

  /** @returns {Entry | null} */
  peekRedo() {
    return this.redoStack[this.redoStack.length - 1] || null;
  }

  /**
   * Undo the last edit with ``run(target, ops)``; returns its entry.
   * @param {(target: Target, ops: Op[]) => Promise<void>} run
   */
  undo(run) {
    return this.#step(this.undoStack, this.redoStack, run, (e) => /** @type {Op[]} */ (e.inverse));
  }

  /** @param {(target: Target, ops: Op[]) => Promise<void>} run */
  redo(run) {
    return this.#step(this.redoStack, this.undoStack, run, (e) => e.forward);
  }

  /**
   * @param {Entry[]} from
   * @param {Entry[]} to
   * @param {(target: Target, ops: Op[]) => Promise<void>} run
   * @param {(entry: Entry) => Op[]} ops
   * @returns {Promise<Entry | null>}
   */
  async #step(from, to, run, ops) {
    const entry = from[from.length - 1];
    if (!entry || this.busy) return null;
    this.busy = true;
    this.emit('change');
    try {
      await run(entry.target, ops(entry));
      from.pop();
      to.push(entry);
      return entry;
    } finally {
      this.busy = false;
      this.emit('change');
    }
  }
}

/** @type {Map<string, History>} */
const histories = new Map();

/**
 * The history of one instance or cluster (kept while the page is open).
 * @param {Target} target
 * @returns {History}
 */
export function historyOf(target) {
  const key = `${target.kind}:${target.id}`;
  let history = histories.get(key);
  if (!history) {
    history = new History({ kind: target.kind, id: target.id });
    histories.set(key, history);
  }
  return history;
}
