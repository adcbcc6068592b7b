// @ts-check
// The Undo and Redo buttons of one instance's or cluster's page (and Ctrl+Z,
// Ctrl+Y / Ctrl+Shift+Z outside fields). They act on that target's history
// only, and say so: "Undo: set user:/app/port = 80 — on instance web-01".

import { h, errorBox, showError } from './dom.js';
import { describe } from './errors.js';

/** @typedef {import('./undo.js').History} History */
/** @typedef {import('./undo.js').Entry} Entry */
/** @typedef {import('./undo.js').Op} Op */
/** @typedef {import('./undo.js').Target} Target */

/**
 * @typedef {object} HistoryOptions
 * @property {() => string} name the target's name, for the labels
 * @property {(target: Target, ops: Op[], label: string) => Promise<void>} run does the writes
 * @property {(entry: Entry) => Promise<void> | void} after what follows a step that was done
 */

/**
 * @param {History} history
 * @param {HistoryOptions} options
 * @returns {{el: HTMLElement, update: () => void, stop: () => void}}
 */
export function historyButtons(history, { name, run, after }) {
  const undoButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'quiet', id: 'undo' }, 'Undo'));
  const redoButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'quiet', id: 'redo' }, 'Redo'));
  const box = errorBox();
  const el = h('div', { class: 'history' }, undoButton, redoButton, box);

  /** @param {'undo' | 'redo'} which */
  async function step(which) {
    showError(box, '');
    const entry = which === 'undo' ? history.peekUndo() : history.peekRedo();
    if (!entry || history.busy) return;
    const label = `${which} ${entry.label}`;
    const button = which === 'undo' ? undoButton : redoButton;
    button.classList.add('working');
    try {
      /** @param {Target} target @param {Op[]} ops */
      const write = (target, ops) => run(target, ops, label);
      const done = which === 'undo' ? await history.undo(write) : await history.redo(write);
      if (done) await after(done);
    } catch (e) {
      if (!e || e.code !== 'CANCELLED') showError(box, describe(e)); // a cancelled preview: nothing to say
    } finally {
      button.classList.remove('working');
    }
  }

  function update() {
    const u = history.peekUndo();
    const r = history.peekRedo();
    const on = name();
    undoButton.disabled = !u || history.busy;
    redoButton.disabled = !r || history.busy;
    el.setAttribute('aria-busy', history.busy ? 'true' : 'false');
    undoButton.title = u ? `Undo: ${u.label} — on ${on}` : `Nothing to undo on ${on}`;
    redoButton.title = r ? `Redo: ${r.label} — on ${on}` : `Nothing to redo on ${on}`;
    undoButton.setAttribute('aria-label', undoButton.title);
    redoButton.setAttribute('aria-label', redoButton.title);
  }

  undoButton.addEventListener('click', () => step('undo'));
  redoButton.addEventListener('click', () => step('redo'));
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    const tag = /** @type {HTMLElement} */ (event.target).tagName;
    if (!(event.ctrlKey || event.metaKey) || /^(INPUT|SELECT|TEXTAREA)$/.test(tag)) return;
    if (event.key === 'z' && !event.shiftKey) {
      event.preventDefault();
      step('undo');
    } else if (event.key === 'y' || (event.key === 'Z' && event.shiftKey)) {
      event.preventDefault();
      step('redo');
    }
  };
  document.addEventListener('keydown', onKey);
  const stopChanges = history.on('change', update);
  update();
  return {
    el,
    update,
    stop() {
      document.removeEventListener('keydown', onKey);
      stopChanges();
    },
  };
}
