// @ts-check
// The first screen: all instances and all clusters, kept live. Read once (and
// again after a reconnection, or a refusal that says the page was behind);
// then each fleetChanged event redraws only the rows it names.

import { gql } from './api.js';
import { h, showError, armed, guardButton, guardSubmit } from './dom.js';
import { describe } from './errors.js';
import { Fleet, OVERVIEW, FLEET, UNAPPLIED } from './fleet.js';
import { renderInstances, redrawInstance, ageSeen, addInstanceForm } from './instances.js';
import { renderClusters, redrawCluster, refreshChoices, createClusterForm } from './clusters.js';

/** Refusals that mean the page showed something that is no more so: read everything again. */
const STALE = new Set(['NOT_FOUND', 'ALREADY_IN_CLUSTER', 'INSTANCE_EXISTS', 'CLUSTER_CYCLE']);

/** @param {any} error */
function says_stale(error) {
  return STALE.has(error && error.code) || /exists already|has sub-clusters/.test((error && error.message) || '');
}

/**
 * @param {HTMLElement} main
 * @param {any} app
 */
export function mountOverview(main, app) {
  const instancesList = h('div', { class: 'list', id: 'instances-list' }, h('p', { class: 'loading' }, 'Loading…'));
  const clustersList = h('div', { class: 'list', id: 'clusters-list' });
  const loadError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  // A refusal for a row that is gone meanwhile.
  const notice = h('p', { class: 'form-error overview-notice', role: 'alert', hidden: true });
  const fleet = new Fleet();
  /** @type {Map<string, string>} the last refusal of each row ("instance:3", "cluster:1"), kept across redraws */
  const errors = new Map();
  const held = { instances: new Set(), clusters: new Set() };
  let loaded = false;
  /** @type {Promise<void> | null} */
  let loading = null;
  let reading = false;
  /** @type {any[]} events that came while the page was being read */
  let queued = [];

  /** @type {import('./instances.js').RowContext} */
  const ctx = {
    canManage: app.canManage(),
    fleet,
    reload: afterWrite,
    wire,
    errorBox(key) {
      const box = h('p', { class: 'form-error', role: 'alert', hidden: true, dataset: { errorFor: key } });
      showError(box, errors.get(key) || '');
      return box;
    },
    held(row) {
      if (row.querySelector('[data-armed="yes"], [aria-busy="true"]')) return true;
      const active = document.activeElement;
      return !!active && row.contains(active) && active.matches('input, textarea, select');
    },
  };

  const addForm = ctx.canManage ? addInstanceForm(ctx) : null;
  const clusterForm = ctx.canManage ? createClusterForm(ctx) : null;

  main.replaceChildren(
    h(
      'div',
      { class: 'overview' },
      loadError,
      notice,
      h('section', { class: 'panel', 'aria-labelledby': 'instances-title' }, h('h2', { id: 'instances-title' }, 'Instances'), instancesList, addForm),
      h('section', { class: 'panel', 'aria-labelledby': 'clusters-title' }, h('h2', { id: 'clusters-title' }, 'Clusters'), clustersList, clusterForm),
    ),
  );

  /**
   * Make a button (or a form) run a management mutation: once at a time, busy
   * meanwhile, its refusal shown with its row (and everything read again if
   * the refusal says the page was behind).
   * @param {HTMLButtonElement | HTMLFormElement} control
   * @param {string} key
   * @param {() => Promise<any>} run
   * @param {string} [question]
   */
  function wire(control, key, run, question) {
    const action = async () => {
      if (question && control instanceof HTMLButtonElement && !armed(control, question)) return;
      errors.delete(key);
      showError(notice, '');
      try {
        await run();
        await afterWrite();
      } catch (e) {
        refused(key, e);
      } finally {
        setTimeout(redrawHeld, 0); // once the control is no longer busy
      }
    };
    if (control instanceof HTMLFormElement) guardSubmit(control, action, { box: null });
    else guardButton(control, action, { box: null });
  }

  /** @param {string} key @param {any} error */
  function refused(key, error) {
    const message = describe(error);
    errors.set(key, message);
    const show = () => {
      const box = main.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      if (box instanceof HTMLElement) showError(box, message);
      else showError(notice, message); // its row is gone
    };
    show();
    if (says_stale(error)) reload().then(show);
  }

  /** After a write: its fleetChanged event shows it; without live updates, read again. */
  async function afterWrite() {
    if (!app.live.connected) await reload();
  }

  // -- drawing ------------------------------------------------------------------------

  function drawAll() {
    held.instances.clear();
    held.clusters.clear();
    renderInstances(instancesList, ctx);
    renderClusters(clustersList, ctx);
    if (clusterForm) clusterForm.updateParents();
  }

  /** @param {Iterable<string>} instances @param {Iterable<string>} clusters */
  function redraw(instances, clusters) {
    for (const id of instances) if (!redrawInstance(instancesList, id, ctx)) held.instances.add(id);
    for (const id of clusters) if (!redrawCluster(clustersList, id, ctx)) held.clusters.add(id);
  }

  function redrawHeld() {
    const instances = [...held.instances];
    const clusters = [...held.clusters];
    held.instances.clear();
    held.clusters.clear();
    redraw(instances, clusters);
  }

  // -- reading ------------------------------------------------------------------------

  /** Read everything again (first, after a reconnection, after a stale refusal). */
  function reload() {
    if (!loading) loading = read().finally(() => (loading = null));
    return loading;
  }

  async function read() {
    reading = true;
    try {
      const data = await gql(OVERVIEW);
      const before = { instances: [...fleet.instances.keys()], clusters: [...fleet.clusters.keys()] };
      fleet.load(data);
      loadError.hidden = true;
      if (!loaded || !anythingHeld()) drawAll();
      else redraw(new Set([...before.instances, ...fleet.instances.keys()]), byDepth([...before.clusters, ...fleet.clusters.keys()]));
      loaded = true;
      reading = false;
      const waiting = queued;
      queued = [];
      for (const event of waiting) apply(event);
    } catch (e) {
      if (/** @type {any} */ (e).code === 'UNAUTHENTICATED') return;
      showError(loadError, `Could not load the overview. ${describe(e)}`);
    } finally {
      reading = false;
    }
  }

  function anythingHeld() {
    return [...main.querySelectorAll('li.instance, li.cluster')].some((li) => ctx.held(li));
  }

  /**
   * Clusters, parents first (a node goes under its parent's), then the ones gone.
   * @param {string[]} ids
   */
  function byDepth(ids) {
    const depth = (/** @type {string} */ id) => {
      let n = 0;
      for (let c = fleet.clusters.get(id); c && c.parentId && n < 1000; c = fleet.clusters.get(c.parentId)) n++;
      return n;
    };
    const here = [...new Set(ids)].filter((id) => fleet.clusters.has(id));
    const gone = [...new Set(ids)].filter((id) => !fleet.clusters.has(id));
    return [...here.sort((a, b) => depth(a) - depth(b)), ...gone];
  }

  // Counts of writes not applied, read for the rows events name, a burst at a time.
  const unread = new Set();
  let countsTimer = 0;

  /** @param {string[]} ids */
  function readCountsSoon(ids) {
    for (const id of ids) unread.add(id);
    if (unread.size && !countsTimer) countsTimer = window.setTimeout(readCounts, 250);
  }

  async function readCounts() {
    countsTimer = 0;
    const ids = [...unread];
    unread.clear();
    for (let start = 0; start < ids.length; start += 1000) {
      try {
        const data = await gql(UNAPPLIED, { ids: ids.slice(start, start + 1000) });
        const clusters = fleet.setUnapplied(data.instances);
        redraw(
          data.instances.map((/** @type {{id: string}} */ i) => i.id),
          clusters,
        );
      } catch {
        // Unreachable: the reconnection reads everything again.
      }
    }
  }

  // -- live ---------------------------------------------------------------------------

  // The events of one moment are drawn together: a burst (a cluster of a
  // thousand deleted, a rack going offline) costs one redraw per row.
  const due = { instances: new Set(), clusters: new Set(), members: false, tree: false };
  let drawTimer = 0;

  /** @param {any} event */
  function apply(event) {
    if (!loaded || reading) {
      queued.push(event);
      return;
    }
    const changed = fleet.apply(event);
    for (const id of changed.instances) due.instances.add(id);
    for (const id of changed.clusters) due.clusters.add(id);
    due.members ||= changed.members;
    due.tree ||= changed.tree;
    if (changed.unapplied.length) readCountsSoon(changed.unapplied);
    if (!drawTimer) drawTimer = window.setTimeout(drawDue, 0);
  }

  function drawDue() {
    drawTimer = 0;
    const { members, tree } = due;
    const instances = [...due.instances];
    const clusters = byDepth([...due.clusters]);
    due.instances.clear();
    due.clusters.clear();
    due.members = due.tree = false;
    redraw(instances, clusters);
    if (members || tree) refreshChoices(clustersList, ctx, { members, tree });
    if (tree && clusterForm) clusterForm.updateParents();
  }

  let stopFleet = subscribe();
  function subscribe() {
    return app.live.subscribe(FLEET, {}, {
      next: (/** @type {any} */ d) => apply(d.fleetChanged),
      // Ended by the server (it fell behind, or clusterd stops): again, and read everything.
      error: resubscribe,
      complete: resubscribe,
    });
  }
  let again = 0;
  function resubscribe() {
    clearTimeout(again);
    again = window.setTimeout(() => {
      stopFleet = subscribe();
      reload();
    }, 1000);
  }

  const onFocusOut = () => setTimeout(redrawHeld, 0);
  main.addEventListener('focusout', onFocusOut);
  // "seen 5 min ago" ages without asking clusterd.
  const tick = setInterval(() => ageSeen(instancesList), 30000);
  // Read once live updates flow (then nothing in between is missed), and after each reconnection.
  const stopOpen = app.live.connected ? () => {} : app.live.on('open', () => {
    stopOpen();
    reload();
  });
  const stopReconnect = app.onReconnect(reload);
  reload();
  return {
    destroy() {
      clearTimeout(countsTimer);
      clearTimeout(drawTimer);
      clearTimeout(again);
      clearInterval(tick);
      main.removeEventListener('focusout', onFocusOut);
      stopOpen();
      stopReconnect();
      stopFleet();
    },
  };
}
