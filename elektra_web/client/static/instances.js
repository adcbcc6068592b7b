// The instances: status, last seen, version, cluster, pending deliveries and
// refused ones ("not applied");
// registering one, leaving a cluster, removing one.

import { gql } from './api.js';
import { h, replace, ago, statusDot, errorBox, showError, flash } from './dom.js';
import { describe } from './errors.js';

export const INSTANCE_FIELDS = `id name host description status lastSeen elektraVersion
  cluster { id name } pending { operationId } failed { operationId }`;

/** The list of instances (re-rendered on every reload). */
export function renderInstances(container, data, ctx) {
  const { instances } = data;
  if (!instances.length) {
    replace(
      container,
      h(
        'p',
        { class: 'empty' },
        'No instances yet. ',
        ctx.canManage ? 'Register the first one below with the URL of its elektrad.' : 'An administrator registers them.',
      ),
    );
    return;
  }
  const items = instances.map((inst) => {
    const box = errorBox();
    const actions = [];
    if (ctx.canManage) {
      if (inst.cluster) {
        actions.push(
          h(
            'button',
            {
              type: 'button',
              class: 'quiet small',
              'aria-label': `Take ${inst.name} out of cluster ${inst.cluster.name}`,
              onclick: () =>
                ctx.mutate(box, 'mutation($id: ID!) { unassignInstance(instanceId: $id) { id } }', { id: inst.id }),
            },
            `Leave ${inst.cluster.name}`,
          ),
        );
      }
      actions.push(
        h(
          'button',
          {
            type: 'button',
            class: 'quiet small danger-text',
            'aria-label': `Remove ${inst.name}`,
            onclick: (event) => {
              const button = event.currentTarget;
              if (button.dataset.armed !== 'yes') {
                button.dataset.armed = 'yes';
                button.textContent = `Really remove ${inst.name}?`;
                return;
              }
              ctx.mutate(box, 'mutation($id: ID!) { removeInstance(id: $id) }', { id: inst.id });
            },
          },
          'Remove',
        ),
      );
    }
    const pending = inst.pending.length;
    const failed = inst.failed.length;
    return h(
      'li',
      { class: 'instance', dataset: { id: inst.id, name: inst.name, status: inst.status } },
      h(
        'div',
        { class: 'line' },
        statusDot(inst.status),
        h('a', { href: `#/instance/${inst.id}`, class: 'name' }, inst.name),
        h('span', { class: 'status-text' }, inst.status.toLowerCase()),
        pending ? h('span', { class: 'badge pending-count' }, `${pending} pending`) : null,
        failed
          ? h(
              'a',
              {
                class: 'badge failed-count',
                href: `#/instance/${inst.id}`,
                title: `${failed} cluster write${failed === 1 ? '' : 's'} refused by ${inst.name}`,
              },
              `⚠ ${failed} not applied`,
            )
          : null,
      ),
      h(
        'div',
        { class: 'details' },
        h('span', { class: 'host' }, inst.host),
        h('span', { class: 'seen' }, `seen ${ago(inst.lastSeen)}`),
        inst.elektraVersion ? h('span', { class: 'version' }, `Elektra ${inst.elektraVersion}`) : null,
        inst.cluster
          ? h('span', { class: 'in-cluster' }, 'cluster ', h('a', { href: `#/cluster/${inst.cluster.id}` }, inst.cluster.name))
          : h('span', { class: 'in-cluster muted' }, 'no cluster'),
      ),
      inst.description ? h('p', { class: 'description' }, inst.description) : null,
      actions.length ? h('div', { class: 'actions' }, actions) : null,
      box,
    );
  });
  replace(container, h('ul', { class: 'instances' }, items));
}

/** Update one instance's dot in place (instanceStatusChanged). */
export function updateStatus(container, inst) {
  const li = container.querySelector(`li.instance[data-id="${CSS.escape(inst.id)}"]`);
  if (!li) return false;
  li.dataset.status = inst.status;
  li.querySelector('.dot')?.replaceWith(statusDot(inst.status));
  const text = li.querySelector('.status-text');
  if (text) text.textContent = inst.status.toLowerCase();
  const seen = li.querySelector('.seen');
  if (seen) seen.textContent = `seen ${ago(inst.lastSeen)}`;
  flash(li);
  return true;
}

/** The form that registers an instance (rendered once). */
export function addInstanceForm(ctx) {
  const box = errorBox();
  const name = h('input', { id: 'instance-name', name: 'name', required: true, autocomplete: 'off', placeholder: 'web-01' });
  const host = h('input', {
    id: 'instance-host',
    name: 'host',
    required: true,
    autocomplete: 'off',
    inputmode: 'url',
    spellcheck: 'false',
    placeholder: 'http://web-01:33333',
  });
  const description = h('input', { id: 'instance-description', name: 'description', autocomplete: 'off' });
  // Sent once, stored by clusterd, never shown again.
  const token = h('input', {
    id: 'instance-token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    placeholder: 'only if its elektrad requires one',
  });
  const form = h(
    'form',
    { class: 'add-instance', 'aria-labelledby': 'add-instance-title' },
    h('h3', { id: 'add-instance-title' }, 'Register an instance'),
    h('div', { class: 'field' }, h('label', { for: 'instance-name' }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: 'instance-host' }, 'elektrad URL'), host),
    h('div', { class: 'field' }, h('label', { for: 'instance-description' }, 'Description'), description),
    h('div', { class: 'field' }, h('label', { for: 'instance-token' }, 'elektrad token'), token),
    h('button', { type: 'submit' }, 'Add instance'),
    box,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(box, '');
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      await gql(
        `mutation($input: AddInstanceInput!) { addInstance(input: $input) { id name } }`,
        {
          input: {
            name: name.value.trim(),
            host: host.value.trim(),
            description: description.value.trim() || null,
            token: token.value.trim() || null,
          },
        },
      );
      form.reset();
      await ctx.reload();
      name.focus();
    } catch (e) {
      showError(box, describe(e));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
