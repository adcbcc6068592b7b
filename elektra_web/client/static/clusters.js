// Clusters as a tree: nested clusters, members, pending deliveries; create,
// rename, nest, delete; assign and unassign members.

import { gql } from './api.js';
import { h, replace, statusDot, errorBox, showError } from './dom.js';
import { describe } from './errors.js';

export const CLUSTER_FIELDS = 'id name description parent { id } instances { id }';

const open = new Set(); // clusters whose management panel is open

function parentOptions(clusters, self, selected) {
  // A cluster cannot go inside itself or below (the server refuses it too).
  const below = new Set();
  if (self) {
    below.add(self.id);
    let grew = true;
    while (grew) {
      grew = false;
      for (const c of clusters) {
        if (c.parent && below.has(c.parent.id) && !below.has(c.id)) {
          below.add(c.id);
          grew = true;
        }
      }
    }
  }
  return [
    h('option', { value: '', selected: !selected }, '(top level)'),
    ...clusters
      .filter((c) => !below.has(c.id))
      .map((c) => h('option', { value: c.id, selected: selected === c.id }, c.name)),
  ];
}

function memberOptions(instances, cluster) {
  const free = instances.filter((i) => !i.cluster);
  const taken = instances.filter((i) => i.cluster && i.cluster.id !== cluster.id);
  return [
    h('option', { value: '' }, free.length ? 'Choose an instance…' : 'No instance is free'),
    ...free.map((i) => h('option', { value: i.id }, i.name)),
    ...taken.map((i) =>
      h('option', { value: i.id, disabled: true }, `${i.name} (in cluster ${i.cluster.name})`),
    ),
  ];
}

export function renderClusters(container, data, ctx) {
  const { clusters, instances } = data;
  const byId = new Map(instances.map((i) => [i.id, i]));
  if (!clusters.length) {
    replace(
      container,
      h('p', { class: 'empty' }, 'No clusters yet. ', ctx.canManage ? 'Create one below, then add instances to it.' : ''),
    );
    return;
  }
  const childrenOf = new Map();
  for (const c of clusters) {
    const key = c.parent ? c.parent.id : null;
    if (!childrenOf.has(key)) childrenOf.set(key, []);
    childrenOf.get(key).push(c);
  }

  const node = (cluster) => {
    const members = cluster.instances.map((m) => byId.get(m.id)).filter(Boolean);
    const pending = members.reduce((n, m) => n + m.pending.length, 0);
    const failed = members.reduce((n, m) => n + m.failed.length, 0);
    const box = errorBox();
    const memberItems = members.map((m) =>
      h(
        'li',
        { class: 'member', dataset: { id: m.id, name: m.name, status: m.status } },
        statusDot(m.status),
        h('a', { href: `#/instance/${m.id}` }, m.name),
        m.pending.length ? h('span', { class: 'badge pending-count' }, `${m.pending.length} pending`) : null,
        m.failed.length ? h('span', { class: 'badge failed-count' }, `⚠ ${m.failed.length} not applied`) : null,
        ctx.canManage
          ? h(
              'button',
              {
                type: 'button',
                class: 'quiet small',
                'aria-label': `Remove ${m.name} from ${cluster.name}`,
                onclick: () =>
                  ctx.mutate(box, 'mutation($id: ID!) { unassignInstance(instanceId: $id) { id } }', { id: m.id }),
              },
              'Unassign',
            )
          : null,
      ),
    );
    let manage = null;
    if (ctx.canManage) {
      const pick = h('select', { id: `member-${cluster.id}`, name: 'instance' }, memberOptions(instances, cluster));
      const assign = h(
        'form',
        { class: 'assign-form' },
        h('label', { for: `member-${cluster.id}` }, 'Add member'),
        h('div', { class: 'inline-fields' }, pick, h('button', { type: 'submit' }, 'Add')),
      );
      assign.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!pick.value) {
          showError(box, 'Choose an instance to add.');
          return;
        }
        ctx.mutate(box, 'mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }', {
          c: cluster.id,
          i: pick.value,
        });
      });
      const rename = h('input', { id: `rename-${cluster.id}`, name: 'name', value: cluster.name, autocomplete: 'off' });
      const parent = h(
        'select',
        { id: `parent-${cluster.id}`, name: 'parent' },
        parentOptions(clusters, cluster, cluster.parent ? cluster.parent.id : ''),
      );
      const edit = h(
        'form',
        { class: 'edit-cluster' },
        h('div', { class: 'field' }, h('label', { for: `rename-${cluster.id}` }, 'Name'), rename),
        h('div', { class: 'field' }, h('label', { for: `parent-${cluster.id}` }, 'Inside'), parent),
        h('button', { type: 'submit' }, 'Save'),
      );
      edit.addEventListener('submit', (event) => {
        event.preventDefault();
        ctx.mutate(box, 'mutation($id: ID!, $input: UpdateClusterInput!) { updateCluster(id: $id, input: $input) { id } }', {
          id: cluster.id,
          input: { name: rename.value.trim(), parentId: parent.value || null },
        });
      });
      const del = h(
        'button',
        {
          type: 'button',
          class: 'quiet small danger-text delete-cluster',
          onclick: (event) => {
            const button = event.currentTarget;
            if (button.dataset.armed !== 'yes') {
              button.dataset.armed = 'yes';
              button.textContent = `Really delete ${cluster.name}? Members keep its keys, unlocked.`;
              return;
            }
            ctx.mutate(box, 'mutation($id: ID!) { deleteCluster(id: $id) }', { id: cluster.id });
          },
        },
        'Delete cluster',
      );
      const details = h(
        'details',
        { class: 'manage', open: open.has(cluster.id) },
        h('summary', {}, `Manage ${cluster.name}`),
        assign,
        edit,
        del,
      );
      details.addEventListener('toggle', () => (details.open ? open.add(cluster.id) : open.delete(cluster.id)));
      manage = details;
    }
    const kids = childrenOf.get(cluster.id) || [];
    return h(
      'li',
      { class: 'cluster', dataset: { id: cluster.id, name: cluster.name } },
      h(
        'div',
        { class: 'line' },
        h('a', { href: `#/cluster/${cluster.id}`, class: 'name' }, cluster.name),
        h('span', { class: 'muted' }, `${members.length} member${members.length === 1 ? '' : 's'}`),
        pending ? h('span', { class: 'badge pending-count' }, `${pending} pending`) : null,
        failed ? h('span', { class: 'badge failed-count' }, `⚠ ${failed} not applied`) : null,
      ),
      cluster.description ? h('p', { class: 'description' }, cluster.description) : null,
      memberItems.length ? h('ul', { class: 'members' }, memberItems) : null,
      manage,
      box,
      kids.length ? h('ul', { class: 'cluster-tree' }, kids.map(node)) : null,
    );
  };
  replace(container, h('ul', { class: 'cluster-tree roots' }, (childrenOf.get(null) || []).map(node)));
}

/** The form that creates a cluster; its parent choices follow reloads. */
export function createClusterForm(ctx) {
  const box = errorBox();
  const name = h('input', { id: 'cluster-name', name: 'name', required: true, autocomplete: 'off', placeholder: 'prod' });
  const description = h('input', { id: 'cluster-description', name: 'description', autocomplete: 'off' });
  const parent = h('select', { id: 'cluster-parent', name: 'parent' }, parentOptions([], null, ''));
  const form = h(
    'form',
    { class: 'create-cluster' },
    h('h3', {}, 'Create a cluster'),
    h('div', { class: 'field' }, h('label', { for: 'cluster-name' }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: 'cluster-description' }, 'Description'), description),
    h('div', { class: 'field' }, h('label', { for: 'cluster-parent' }, 'Inside'), parent),
    h('button', { type: 'submit' }, 'Create cluster'),
    box,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(box, '');
    try {
      await gql('mutation($input: CreateClusterInput!) { createCluster(input: $input) { id } }', {
        input: { name: name.value.trim(), description: description.value.trim() || null, parentId: parent.value || null },
      });
      form.reset();
      await ctx.reload();
    } catch (e) {
      showError(box, describe(e));
    }
  });
  form.updateParents = (clusters) => {
    const chosen = parent.value;
    replace(parent, parentOptions(clusters, null, chosen));
  };
  return form;
}
