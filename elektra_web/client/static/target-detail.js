// @ts-check
// The key chosen on an instance's or a cluster's page and its detail
// (editor.js): choosing a key shows it afresh (and puts it in the address);
// a change elsewhere redraws it and keeps what is typed.

import { isBelowOrSame, isNarrow, flash } from './dom.js';
import { showKey, refreshKey, hasDraft } from './editor.js';

/** @typedef {import('./editor.js').KeyContext} KeyContext */

/**
 * @typedef {object} SelectionOptions
 * @property {HTMLElement} detail where the key is shown
 * @property {KeyContext} keyCtx
 * @property {(path: string) => void} follow the panels that follow the key chosen
 * @property {() => boolean} destroyed
 */

/** @param {SelectionOptions} o */
export function keySelection({ detail, keyCtx, follow, destroyed }) {
  const { kind, id } = keyCtx.target;
  /** @type {string | null} */
  let selected = null;

  /** The key shown, again (a change elsewhere, a status): what is typed stays. */
  async function refresh() {
    if (selected) await refreshKey(detail, keyCtx, selected);
  }

  return {
    /** The key chosen, or null. */
    get selected() {
      return selected;
    },

    /** A key chosen (in the tree, a find result, after an edit): shown afresh. @param {string} path */
    async select(path) {
      selected = path;
      follow(path);
      const hash = `#/${kind}/${id}?path=${encodeURIComponent(path)}`;
      if (location.hash !== hash) window.history.replaceState(null, '', hash);
      const key = await showKey(detail, keyCtx, path);
      // On a phone the detail is below the tree: bring it on screen.
      if (isNarrow() && selected === path && !destroyed()) detail.scrollIntoView({ block: 'start' });
      return key;
    },

    refresh,

    /** A key changed (the tree has followed): the key shown, when it is that or near it. @param {any} change */
    async changed(change) {
      if (selected && (isBelowOrSame(selected, change.path) || isBelowOrSame(change.path, selected))) {
        // MOUNT: its file broke or parses again; what was shown of it is
        // stale either way, so the key is drawn afresh (mounts.js) — unless
        // a value is being typed there: that draft stays.
        if (change.op === 'MOUNT' && !hasDraft(detail)) await showKey(detail, keyCtx, selected);
        else await refresh();
        flash(detail.querySelector('.key-path'));
      }
    },
  };
}
