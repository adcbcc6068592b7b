// @ts-check
// The instances of the overview, one row each: status, last seen (when not
// online), version, cluster, pending deliveries and refused ones ("not
// applied"); unassigning and removing one; the form that registers one.
// Rows are drawn one at a time, as fleetChanged events name them.

import { gql } from './api.js';
import { h, replace, ago, statusDot, errorBox, showError, flash } from './dom.js';
import { describe } from './errors.js';

/** @typedef {import('./fleet.js').Inst} Inst */

/**
 * What the overview gives the rows (see overview.js).
 * @typedef {object} RowContext
 * @property {boolean} canManage
 * @property {import('./fleet.js').Fleet} fleet
 * @property {(control: HTMLButtonElement | HTMLFormElement, key: string, run: () => Promise<any>, question?: string) => void} wire
 *   make a button (or a form, on submit) run a management mutation once at a time, a refusal
 *   shown in the box of ``key``; with ``question``, a first click asks it and a second one acts
 * @property {(key: string) => HTMLElement} errorBox the box of ``key``, showing its last refusal
 * @property {(row: {contains(el: Node | null): boolean, querySelector(selector: string): Element | null}) => boolean} held
 *   a row not to redraw now (being typed in, armed, busy)
 * @property {() => Promise<void>} reload
 */

/**
 * The line "seen 5 min ago"; only for an instance that is not online (an online one was seen just now).
 * @param {Inst} inst
 */
function seen(inst) {
  if (inst.status === 'ONLINE') return null;
  return h('span', { class: 'seen', dataset: { at: inst.lastSeen || '' } }, `seen ${ago(inst.lastSeen)}`);
}

/**
 * One instance's row.
 * @param {Inst} inst
 * @param {RowContext} ctx
 */
export function instanceRow(inst, ctx) {
  const key = `instance:${inst.id}`;
  const cluster = inst.clusterId ? ctx.fleet.clusters.get(inst.clusterId) : null;
  const actions = [];
  if (ctx.canManage) {
    if (cluster) {
      const unassign = unassignButton(inst, cluster.name, `Unassign from ${cluster.name}`);
      ctx.wire(unassign, key, () => unassignInstance(inst.id));
      actions.push(unassign);
    }
    const remove = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'button', class: 'quiet small danger-text', 'aria-label': `Remove ${inst.name}` }, 'Remove')
    );
    ctx.wire(remove, key, () => gql('mutation Remove($id: ID!) { removeInstance(id: $id) }', { id: inst.id }), `Really remove ${inst.name}?`);
    actions.push(remove);
  }
  return h(
    'li',
    { class: 'instance', dataset: { id: inst.id, name: inst.name, status: inst.status } },
    h(
      'div',
      { class: 'line' },
      statusDot(inst.status),
      h('a', { href: `#/instance/${inst.id}`, class: 'name' }, inst.name),
      h('span', { class: 'status-text' }, inst.status.toLowerCase()),
      inst.pending ? h('span', { class: 'badge pending-count' }, `${inst.pending} pending`) : null,
      inst.failed
        ? h(
            'a',
            {
              class: 'badge failed-count',
              href: `#/instance/${inst.id}`,
              title: `${inst.failed} cluster write${inst.failed === 1 ? '' : 's'} refused by ${inst.name}`,
            },
            `⚠ ${inst.failed} not applied`,
          )
        : null,
    ),
    h(
      'div',
      { class: 'details' },
      h('span', { class: 'host' }, inst.host),
      seen(inst),
      inst.elektraVersion ? h('span', { class: 'version' }, `Elektra ${inst.elektraVersion}`) : null,
      cluster
        ? h('span', { class: 'in-cluster' }, 'cluster ', h('a', { href: `#/cluster/${cluster.id}` }, cluster.name))
        : h('span', { class: 'in-cluster muted' }, 'no cluster'),
    ),
    inst.description ? h('p', { class: 'description' }, inst.description) : null,
    actions.length ? h('div', { class: 'actions' }, actions) : null,
    ctx.errorBox(key),
  );
}

/**
 * The one button that takes an instance out of its cluster, wherever it is shown.
 * @param {{id: string, name: string}} inst
 * @param {string} clusterName
 * @param {string} text
 * @returns {HTMLButtonElement}
 */
export function unassignButton(inst, clusterName, text) {
  return /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'quiet small unassign', 'aria-label': `Unassign ${inst.name} from ${clusterName}` }, text)
  );
}

/** @param {string} id */
export function unassignInstance(id) {
  return gql('mutation Unassign($id: ID!) { unassignInstance(instanceId: $id) { id } }', { id });
}

/** @param {HTMLElement} container */
function list(container) {
  return container.querySelector(':scope > ul.instances');
}

/** @param {RowContext} ctx */
function empty(ctx) {
  return h(
    'p',
    { class: 'empty' },
    'No instances yet. ',
    ctx.canManage ? 'Register the first one below with the URL of its elektrad.' : 'An administrator registers them.',
  );
}

/**
 * Draw every row (after a read of everything).
 * @param {HTMLElement} container
 * @param {RowContext} ctx
 */
export function renderInstances(container, ctx) {
  const all = ctx.fleet.sortedInstances();
  if (!all.length) replace(container, empty(ctx));
  else replace(container, h('ul', { class: 'instances' }, all.map((inst) => instanceRow(inst, ctx))));
}

/**
 * Draw one row again, add it in name order, or take it away.
 * @param {HTMLElement} container
 * @param {string} id
 * @param {RowContext} ctx
 * @returns {boolean} false: the row is held (drawn later)
 */
export function redrawInstance(container, id, ctx) {
  const inst = ctx.fleet.instances.get(id);
  const old = container.querySelector(`li.instance[data-id="${CSS.escape(id)}"]`);
  if (!inst) {
    // Gone: never held, a row of something that is no more would mislead.
    old?.remove();
    if (!ctx.fleet.instances.size) replace(container, empty(ctx));
    return true;
  }
  if (old && ctx.held(old)) return false;
  const row = instanceRow(inst, ctx);
  let ul = list(container);
  if (!ul) {
    ul = h('ul', { class: 'instances' });
    replace(container, ul);
  }
  if (old && /** @type {HTMLElement} */ (old).dataset.name === inst.name) {
    old.replaceWith(row);
  } else {
    old?.remove();
    const after = [...ul.children].find((li) => /** @type {HTMLElement} */ (li).dataset.name > inst.name);
    ul.insertBefore(row, after || null);
  }
  if (old) flash(row);
  return true;
}

/** Age the "seen … ago" lines (no request: an offline instance's last sighting does not change). @param {HTMLElement} container */
export function ageSeen(container) {
  for (const el of container.querySelectorAll('.seen[data-at]')) {
    el.textContent = `seen ${ago(/** @type {HTMLElement} */ (el).dataset.at || null)}`;
  }
}

/**
 * The form that registers an instance (rendered once). Where nothing answers
 * as an elektrad at the URL, clusterd refuses (INSTANCE_UNREACHABLE, saying
 * why) and the form offers "Register anyway": registered offline, with a note.
 */
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
    placeholder: 'web-01:33333 or https://web-01:33333',
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
  // Offered after a refusal because nothing answers at the URL: a typo in the
  // port should not become an instance "offline, seen never" unasked.
  const anyway = h('button', { type: 'button', class: 'register-anyway', hidden: true }, 'Register anyway (as offline)');
  const note = h('p', { class: 'hint form-note', role: 'status', hidden: true });
  box.after(anyway, note);
  // The refusal was for what was typed: editing it withdraws the offer.
  form.addEventListener('input', () => {
    anyway.hidden = true;
  });
  /** @param {boolean} allowOffline */
  async function register(allowOffline) {
    showError(box, '');
    note.hidden = true;
    anyway.hidden = true;
    const buttons = [/** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')), anyway];
    for (const b of buttons) b.disabled = true;
    const input = {
      name: name.value.trim(),
      host: host.value.trim(),
      description: description.value.trim() || null,
      token: token.value.trim() || null,
      allowOffline,
    };
    try {
      const data = await gql(
        `mutation($input: AddInstanceInput!) { addInstance(input: $input) { id name host status } }`,
        { input },
      );
      form.reset();
      const added = data.addInstance;
      if (added.status !== 'ONLINE') {
        note.textContent = `Registered ${added.name} as offline: nothing answers at ${added.host} yet. `
          + 'It shows online once its elektrad answers.';
        note.hidden = false;
      }
      await ctx.reload();
      name.focus();
    } catch (e) {
      showError(box, describe(e));
      anyway.hidden = !(e && /** @type {any} */ (e).code === 'INSTANCE_UNREACHABLE' && !allowOffline);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    register(false);
  });
  anyway.addEventListener('click', () => register(true));
  return form;
}
