// @ts-check
// Clusters as a tree: nested clusters, members, pending deliveries; create,
// rename, nest, delete; assign and unassign members. One cluster is drawn at
// a time, as fleetChanged events name it; its nested clusters stay as they are.

import { gql } from './api.js';
import { h, replace, statusDot, flash, guardSubmit } from './dom.js';
import { unassignButton, unassignInstance } from './instances.js';

/** @typedef {import('./fleet.js').Clu} Clu */
/** @typedef {import('./fleet.js').Fleet} Fleet */
/** @typedef {import('./instances.js').RowContext} RowContext */

const open = new Set(); // clusters whose management panel is open

/**
 * The choices of "Inside": not the cluster itself nor one inside it (the server refuses it too).
 * @param {Fleet} fleet
 * @param {Clu | null} self
 * @param {string} selected
 */
function parentOptions(fleet, self, selected) {
  const below = self ? fleet.subtree(self.id) : new Set();
  const all = [...fleet.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [
    h('option', { value: '', selected: !selected }, '(top level)'),
    ...all.filter((c) => !below.has(c.id)).map((c) => h('option', { value: c.id, selected: selected === c.id }, c.name)),
  ];
}

/**
 * The choices of "Add member": the free instances, and the others disabled, saying where they are.
 * @param {Fleet} fleet
 * @param {string} clusterId
 */
function memberOptions(fleet, clusterId) {
  const all = fleet.sortedInstances();
  const free = all.filter((i) => !i.clusterId);
  const taken = all.filter((i) => i.clusterId && i.clusterId !== clusterId);
  return [
    h('option', { value: '' }, free.length ? 'Choose an instance…' : 'No instance is free'),
    ...free.map((i) => h('option', { value: i.id }, i.name)),
    ...taken.map((i) =>
      h('option', { value: i.id, disabled: true }, `${i.name} (in cluster ${fleet.clusters.get(i.clusterId || '')?.name || '?'})`),
    ),
  ];
}

/**
 * A member's line inside its cluster.
 * @param {import('./fleet.js').Inst} m
 * @param {Clu} cluster
 * @param {RowContext} ctx
 */
function memberRow(m, cluster, ctx) {
  let unassign = null;
  if (ctx.canManage) {
    unassign = unassignButton(m, cluster.name, 'Unassign');
    ctx.wire(unassign, `cluster:${cluster.id}`, () => unassignInstance(m.id));
  }
  return h(
    'li',
    { class: 'member', dataset: { id: m.id, name: m.name, status: m.status } },
    statusDot(m.status),
    h('a', { href: `#/instance/${m.id}` }, m.name),
    m.pending ? h('span', { class: 'badge pending-count' }, `${m.pending} pending`) : null,
    m.failed ? h('span', { class: 'badge failed-count' }, `⚠ ${m.failed} not applied`) : null,
    unassign,
  );
}

/**
 * The management panel of a cluster: add a member, rename or nest it, delete it.
 * @param {Clu} cluster
 * @param {RowContext} ctx
 */
function managePanel(cluster, ctx) {
  const key = `cluster:${cluster.id}`;
  const pick = h('select', { id: `member-${cluster.id}`, name: 'instance', class: 'member-choice' }, memberOptions(ctx.fleet, cluster.id));
  const assign = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'assign-form' },
      h('label', { for: `member-${cluster.id}` }, 'Add member'),
      h('div', { class: 'inline-fields' }, pick, h('button', { type: 'submit' }, 'Add')),
    )
  );
  ctx.wire(assign, key, () => {
    if (!pick.value) return Promise.reject(new Error('Choose an instance to add.'));
    return gql('mutation Assign($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }', {
      c: cluster.id,
      i: pick.value,
    });
  });
  const rename = h('input', { id: `rename-${cluster.id}`, name: 'name', value: cluster.name, autocomplete: 'off' });
  const parent = h(
    'select',
    { id: `parent-${cluster.id}`, name: 'parent', class: 'parent-choice' },
    parentOptions(ctx.fleet, cluster, cluster.parentId || ''),
  );
  const edit = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'edit-cluster' },
      h('div', { class: 'field' }, h('label', { for: `rename-${cluster.id}` }, 'Name'), rename),
      h('div', { class: 'field' }, h('label', { for: `parent-${cluster.id}` }, 'Inside'), parent),
      h('button', { type: 'submit' }, 'Save'),
    )
  );
  ctx.wire(edit, key, () =>
    gql('mutation UpdateCluster($id: ID!, $input: UpdateClusterInput!) { updateCluster(id: $id, input: $input) { id } }', {
      id: cluster.id,
      input: { name: rename.value.trim(), parentId: parent.value || null },
    }),
  );
  const del = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'quiet small danger-text delete-cluster' }, 'Delete cluster'));
  ctx.wire(
    del,
    key,
    () => gql('mutation DeleteCluster($id: ID!) { deleteCluster(id: $id) }', { id: cluster.id }),
    `Really delete ${cluster.name}? Members keep its keys, unlocked.`,
  );
  const details = h('details', { class: 'manage', open: open.has(cluster.id) }, h('summary', {}, `Manage ${cluster.name}`), assign, edit, del);
  details.addEventListener('toggle', () => (details.open ? open.add(cluster.id) : open.delete(cluster.id)));
  return details;
}

/**
 * A cluster's own parts (all but its nested clusters): its line, members, panel and refusals.
 * @param {Clu} cluster
 * @param {RowContext} ctx
 */
function ownParts(cluster, ctx) {
  const members = ctx.fleet.members(cluster.id);
  const pending = members.reduce((n, m) => n + m.pending, 0);
  const failed = members.reduce((n, m) => n + m.failed, 0);
  return [
    h(
      'div',
      { class: 'line' },
      h('a', { href: `#/cluster/${cluster.id}`, class: 'name' }, cluster.name),
      h('span', { class: 'muted' }, `${members.length} member${members.length === 1 ? '' : 's'}`),
      pending ? h('span', { class: 'badge pending-count' }, `${pending} pending`) : null,
      failed ? h('span', { class: 'badge failed-count' }, `⚠ ${failed} not applied`) : null,
    ),
    cluster.description ? h('p', { class: 'description' }, cluster.description) : null,
    members.length ? h('ul', { class: 'members' }, members.map((m) => memberRow(m, cluster, ctx))) : null,
    ctx.canManage ? managePanel(cluster, ctx) : null,
    ctx.errorBox(`cluster:${cluster.id}`),
  ];
}

/**
 * A cluster and, below it, the clusters nested in it.
 * @param {Clu} cluster
 * @param {RowContext} ctx
 * @returns {HTMLElement}
 */
function clusterNode(cluster, ctx) {
  const kids = ctx.fleet.children(cluster.id);
  return h(
    'li',
    { class: 'cluster', dataset: { id: cluster.id, name: cluster.name } },
    ownParts(cluster, ctx),
    h('ul', { class: 'cluster-tree', hidden: !kids.length }, kids.map((c) => clusterNode(c, ctx))),
  );
}

/** @param {RowContext} ctx */
function empty(ctx) {
  return h('p', { class: 'empty' }, 'No clusters yet. ', ctx.canManage ? 'Create one below, then add instances to it.' : '');
}

/**
 * Draw the whole tree (after a read of everything).
 * @param {HTMLElement} container
 * @param {RowContext} ctx
 */
export function renderClusters(container, ctx) {
  if (!ctx.fleet.clusters.size) replace(container, empty(ctx));
  else replace(container, h('ul', { class: 'cluster-tree roots' }, ctx.fleet.children(null).map((c) => clusterNode(c, ctx))));
}

/**
 * Draw one cluster again (its own parts; moved under its parent in name
 * order), add it, or take it away.
 * @param {HTMLElement} container
 * @param {string} id
 * @param {RowContext} ctx
 * @returns {boolean} false: the cluster is held (drawn later)
 */
export function redrawCluster(container, id, ctx) {
  const cluster = ctx.fleet.clusters.get(id);
  const old = /** @type {HTMLElement | null} */ (container.querySelector(`li.cluster[data-id="${CSS.escape(id)}"]`));
  if (!cluster) {
    const parentList = old?.parentElement;
    old?.remove();
    if (parentList && !parentList.children.length && !parentList.classList.contains('roots')) parentList.hidden = true;
    if (!ctx.fleet.clusters.size) replace(container, empty(ctx));
    return true;
  }
  if (old && ctx.held(ownOnly(old))) return false;
  let roots = container.querySelector(':scope > ul.roots');
  if (!roots) {
    roots = h('ul', { class: 'cluster-tree roots' });
    replace(container, roots);
  }
  let node = old;
  if (node) {
    // Its own parts anew; the nested clusters' nodes stay as they are.
    const nested = /** @type {HTMLElement} */ (node.querySelector(':scope > ul.cluster-tree'));
    node.replaceChildren(...ownParts(cluster, ctx).filter(Boolean), nested);
    node.dataset.name = cluster.name;
  } else {
    node = clusterNode(cluster, ctx);
  }
  const under = cluster.parentId
    ? container.querySelector(`li.cluster[data-id="${CSS.escape(cluster.parentId)}"] > ul.cluster-tree`)
    : roots;
  if (!under) return true; // its parent is drawn next, with it
  const before = [...under.children].find((li) => li !== node && /** @type {HTMLElement} */ (li).dataset.name > cluster.name);
  const place = before || null;
  if (node.parentElement !== under || node.nextElementSibling !== place) {
    const left = node.parentElement;
    under.insertBefore(node, place);
    if (left && left !== under && !left.children.length && !left.classList.contains('roots')) /** @type {HTMLElement} */ (left).hidden = true;
  }
  /** @type {HTMLElement} */ (under).hidden = false;
  if (old) flash(node.querySelector(':scope > .line'));
  return true;
}

/**
 * A cluster node seen without its nested clusters (whose fields do not hold it).
 * @param {HTMLElement} node
 */
function ownOnly(node) {
  return {
    contains: (/** @type {Node | null} */ el) => node.contains(el) && !node.querySelector(':scope > ul.cluster-tree')?.contains(el),
    querySelector: (/** @type {string} */ selector) =>
      [...node.querySelectorAll(selector)].find((el) => !node.querySelector(':scope > ul.cluster-tree')?.contains(el)) || null,
  };
}

/**
 * Offer the current choices in every "Add member" and "Inside" list, but the
 * one in use; a choice made and not saved yet stays chosen while it is offered.
 * @param {HTMLElement} container
 * @param {RowContext} ctx
 * @param {{members: boolean, tree: boolean}} what
 */
export function refreshChoices(container, ctx, what) {
  /** @param {string} selector @param {(cluster: Clu) => HTMLElement[]} options */
  const refresh = (selector, options) => {
    for (const select of /** @type {NodeListOf<HTMLSelectElement>} */ (container.querySelectorAll(selector))) {
      if (select === document.activeElement) continue;
      const cluster = ctx.fleet.clusters.get(/** @type {HTMLElement} */ (select.closest('li.cluster')).dataset.id || '');
      if (!cluster) continue;
      const chosen = select.value;
      replace(select, options(cluster));
      if ([...select.options].some((o) => o.value === chosen && !o.disabled)) select.value = chosen;
    }
  };
  if (what.members) refresh('select.member-choice', (c) => memberOptions(ctx.fleet, c.id));
  if (what.tree) refresh('select.parent-choice', (c) => parentOptions(ctx.fleet, c, c.parentId || ''));
}

/**
 * The form that creates a cluster; its parent choices follow the tree (``updateParents``).
 * @param {RowContext} ctx
 */
export function createClusterForm(ctx) {
  const name = h('input', { id: 'cluster-name', name: 'name', required: true, autocomplete: 'off', placeholder: 'prod' });
  const description = h('input', { id: 'cluster-description', name: 'description', autocomplete: 'off' });
  const parent = h('select', { id: 'cluster-parent', name: 'parent' }, parentOptions(ctx.fleet, null, ''));
  const form = /** @type {HTMLFormElement & {updateParents: () => void}} */ (
    h(
      'form',
      { class: 'create-cluster' },
      h('h3', {}, 'Create a cluster'),
      h('div', { class: 'field' }, h('label', { for: 'cluster-name' }, 'Name'), name),
      h('div', { class: 'field' }, h('label', { for: 'cluster-description' }, 'Description'), description),
      h('div', { class: 'field' }, h('label', { for: 'cluster-parent' }, 'Inside'), parent),
      h('button', { type: 'submit' }, 'Create cluster'),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
    )
  );
  guardSubmit(
    form,
    async () => {
      await gql('mutation CreateCluster($input: CreateClusterInput!) { createCluster(input: $input) { id } }', {
        input: { name: name.value.trim(), description: description.value.trim() || null, parentId: parent.value || null },
      });
      // The new cluster arrives as a fleetChanged event (read again only without live updates).
      await ctx.reload();
    },
    { reset: true },
  );
  form.updateParents = () => {
    if (document.activeElement === parent) return;
    const chosen = parent.value;
    // Chosen, not selected by default: a reset after creating goes back to the top level.
    replace(parent, parentOptions(ctx.fleet, null, ''));
    /** @type {HTMLSelectElement} */ (parent).value = ctx.fleet.clusters.has(chosen) ? chosen : '';
  };
  return form;
}
