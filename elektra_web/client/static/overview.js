// The first screen: all instances and all clusters, kept live.

import { gql } from './api.js';
import { h, showError } from './dom.js';
import { describe } from './errors.js';
import { INSTANCE_FIELDS, renderInstances, updateStatus, addInstanceForm } from './instances.js';
import { CLUSTER_FIELDS, renderClusters, createClusterForm } from './clusters.js';

const OVERVIEW = `{ instances { ${INSTANCE_FIELDS} } clusters { ${CLUSTER_FIELDS} } }`;

export function mountOverview(main, app) {
  const instancesList = h('div', { class: 'list', id: 'instances-list' }, h('p', { class: 'loading' }, 'Loading…'));
  const clustersList = h('div', { class: 'list', id: 'clusters-list' });
  const loadError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  let data = null;
  let deferred = false;

  const ctx = {
    canManage: app.canManage(),
    reload,
    /** Run a management mutation; its refusal shown in ``box``. */
    async mutate(box, query, variables) {
      showError(box, '');
      try {
        await gql(query, variables);
        await reload(true);
      } catch (e) {
        showError(box, describe(e));
      }
    },
  };

  const addForm = ctx.canManage ? addInstanceForm(ctx) : null;
  const clusterForm = ctx.canManage ? createClusterForm(ctx) : null;

  main.replaceChildren(
    h(
      'div',
      { class: 'overview' },
      loadError,
      h('section', { class: 'panel', 'aria-labelledby': 'instances-title' }, h('h2', { id: 'instances-title' }, 'Instances'), instancesList, addForm),
      h('section', { class: 'panel', 'aria-labelledby': 'clusters-title' }, h('h2', { id: 'clusters-title' }, 'Clusters'), clustersList, clusterForm),
    ),
  );

  function busy(container) {
    // Do not re-render a list under someone's fingers.
    // (a field being typed in, a button just pressed whose answer shows next
    // to it, a removal waiting for its confirming second click).
    const active = document.activeElement;
    return (active && container.contains(active)) || !!container.querySelector('[data-armed="yes"]');
  }

  function render(force = false) {
    if (!data) return;
    if (!force && (busy(instancesList) || busy(clustersList))) {
      deferred = true;
      return;
    }
    deferred = false;
    renderInstances(instancesList, data, ctx);
    renderClusters(clustersList, data, ctx);
    if (clusterForm) clusterForm.updateParents(data.clusters);
  }

  /** Read everything again; ``force``: re-render even under the person's fingers. */
  async function reload(force = false) {
    try {
      data = await gql(OVERVIEW);
      loadError.hidden = true;
      render(force === true);
    } catch (e) {
      if (e.code === 'UNAUTHENTICATED') return;
      showError(loadError, `Could not load the overview. ${describe(e)}`);
    }
  }

  const onFocusOut = () => deferred && setTimeout(() => render(), 0);
  main.addEventListener('focusout', onFocusOut);

  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 400);
  };
  const stops = [
    app.live.subscribe('subscription { instanceStatusChanged { id name status lastSeen } }', {}, {
      next: (d) => {
        updateStatus(instancesList, d.instanceStatusChanged);
        soon();
      },
    }),
    // Deliveries landing change the pending counts.
    app.live.subscribe('subscription { configChanged { op path } }', {}, { next: soon }),
    app.onReconnect(reload),
  ];
  // Last seen and pending counts age: read them again now and then.
  const tick = setInterval(() => document.visibilityState === 'visible' && reload(), 15000);
  reload();
  return {
    destroy() {
      clearTimeout(timer);
      clearInterval(tick);
      main.removeEventListener('focusout', onFocusOut);
      for (const stop of stops) stop();
    },
  };
}
