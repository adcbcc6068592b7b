// Undo and redo of the edits made in this page. Each edit records the
// operations that made it and the operations that take it back.

const undoStack = [];
const redoStack = [];
const listeners = new Set();
let busy = false;

function changed() {
  for (const fn of listeners) fn();
}

export function onHistoryChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Record an edit: ``entry`` = {label, target, forward: [op], inverse: [op]}
 * (null inverse: cannot be undone).
 */
export function record(entry) {
  if (!entry.inverse) return;
  undoStack.push(entry);
  if (undoStack.length > 100) undoStack.shift();
  redoStack.length = 0;
  changed();
}

export function peekUndo() {
  return undoStack[undoStack.length - 1] || null;
}

export function peekRedo() {
  return redoStack[redoStack.length - 1] || null;
}

export function isBusy() {
  return busy;
}

/** Undo the last edit with ``run(target, ops)``; returns its entry. */
export async function undo(run) {
  const entry = peekUndo();
  if (!entry || busy) return null;
  busy = true;
  changed();
  try {
    await run(entry.target, entry.inverse);
    undoStack.pop();
    redoStack.push(entry);
    return entry;
  } finally {
    busy = false;
    changed();
  }
}

export async function redo(run) {
  const entry = peekRedo();
  if (!entry || busy) return null;
  busy = true;
  changed();
  try {
    await run(entry.target, entry.forward);
    redoStack.pop();
    undoStack.push(entry);
    return entry;
  } finally {
    busy = false;
    changed();
  }
}
