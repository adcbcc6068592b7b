// @ts-check
// The one event emitter of the client: an EventTarget whose listeners get the
// event's detail, and whose on() returns the function that removes it.

/** @template [T=any] @typedef {(detail: T) => void} Listener */

export class Emitter extends EventTarget {
  /**
   * Call ``fn(detail)`` on each ``type`` event; returns the function that stops it.
   * @param {string} type
   * @param {Listener} fn
   * @returns {() => void}
   */
  on(type, fn) {
    /** @param {Event} event */
    const listener = (event) => fn(/** @type {CustomEvent} */ (event).detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /**
   * @param {string} type
   * @param {any} [detail]
   */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
