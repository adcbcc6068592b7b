// The configuration of one instance or one cluster: tree, key detail, find,
// undo/redo, live changes, cluster write progress, pending deliveries.

import { gql } from './api.js';
import { h, replace, ago, statusDot, errorBox, showError, flash, isBelowOrSame, parentOf } from './dom.js';
import { describe } from './errors.js';
import { KeyTree, NAMESPACES } from './tree.js';
import { showKey } from './editor.js';
import { runOps, readKey } from './ops.js';
import { record, undo, redo, peekUndo, peekRedo, isBusy, onHistoryChange } from './undo.js';
import { track, renderProgress, onProgress } from './progress.js';
import { DRIFT_FIELDS, renderDrift } from './drift.js';
import { WRITE_FIELDS, renderFailed, renderPending, renderClusterFailed, treeMarks } from './deliveries.js';

const INSTANCE_HEAD = `query($id: ID!) { instance(id: $id) { id name host status lastSeen elektraVersion
  cluster { id name } pending { ${WRITE_FIELDS} } failed { ${WRITE_FIELDS} } ${DRIFT_FIELDS} } }`;
const CLUSTER_HEAD = `query($id: ID!) { cluster(id: $id) { id name description parent { id name }
  children { id name } instances(recursive: true) { id name status cluster { id name } pending { operationId } failed { operationId } }
  failed { ${WRITE_FIELDS} } ${DRIFT_FIELDS} } }`;
const PROGRESS = `subscription($op: ID!) { operationProgress(operationId: $op) { instance { id } delivery } }`;

export function mountTarget(main, app, kind, id, params) {
  const target = { kind, id };
  const owner = kind === 'cluster' ? 'cluster(id: $id)' : 'instance(id: $id)';
  const locked = kind === 'instance' ? 'lockedBy { id name }' : '';
  const stops = [];
  let destroyed = false;
  let head = null;

  const title = h('h1', { class: 'target-title' }, kind === 'cluster' ? 'Cluster' : 'Instance');
  const facts = h('p', { class: 'facts' });
  const headError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const undoButton = h('button', { type: 'button', class: 'quiet', id: 'undo' }, 'Undo');
  const redoButton = h('button', { type: 'button', class: 'quiet', id: 'redo' }, 'Redo');
  const historyBox = errorBox();
  const side = h('section', { class: 'side-info' });
  const progress = h('section', { class: 'progress', 'aria-live': 'polite', hidden: true });
  const detail = h('section', { class: 'detail', id: 'detail', 'aria-live': 'polite' });
  const treeError = h('p', { class: 'form-error', role: 'alert', hidden: true });

  const tree = new KeyTree({
    load: async (path) => {
      const data = await gql(
        `query($id: ID!, $path: String!) { t: ${owner} {
          keys(path: $path, depth: 1) { path exists value children ${locked} } } }`,
        { id, path },
      );
      if (!data.t) throw Object.assign(new Error(`no such ${kind}`), { code: 'NOT_FOUND' });
      return data.t.keys;
    },
    loadRoots: async () => {
      const fields = NAMESPACES.map(
        (ns, i) => `n${i}: key(path: ${JSON.stringify(ns)}) { path exists value children ${locked} }`,
      ).join(' ');
      const data = await gql(`query($id: ID!) { t: ${owner} { ${fields} } }`, { id });
      if (!data.t) throw Object.assign(new Error(`no such ${kind}`), { code: 'NOT_FOUND' });
      return NAMESPACES.map((_, i) => data.t[`n${i}`]).filter(Boolean);
    },
    onSelect: (path) => select(path),
  });

  const canEdit = app.canEdit();
  const keyCtx = {
    target,
    perform,
    // An offline instance refuses every write: offer none until it is back.
    get canEdit() {
      return canEdit && !(kind === 'instance' && head && head.status === 'OFFLINE');
    },
    /** Cluster writes of ``path`` this instance has not applied (refused or waiting). */
    notApplied(path) {
      if (kind !== 'instance' || !head) return [];
      return [...(head.failed || []), ...(head.pending || [])].filter((p) => p.path === path);
    },
  };

  // -- find and new key ----------------------------------------------------------
  const findInput = h('input', { id: 'find-query', type: 'search', name: 'q', autocomplete: 'off', placeholder: 'part of a key name' });
  const findResults = h('div', { class: 'find-results', 'aria-live': 'polite' });
  const findBox = errorBox();
  const findForm = h(
    'form',
    { class: 'find-form', role: 'search' },
    h('label', { for: 'find-query' }, 'Find keys'),
    h('div', { class: 'inline-fields' }, findInput, h('button', { type: 'submit' }, 'Find')),
    kind === 'instance'
      ? h(
          'label',
          { class: 'check', for: 'find-values' },
          h('input', { type: 'checkbox', id: 'find-values', name: 'values' }),
          ' in values too',
        )
      : h('p', { class: 'hint' }, 'Searches names and values.'),
    findBox,
    findResults,
  );
  findForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(findBox, '');
    const query = findInput.value.trim();
    if (!query) return replace(findResults);
    try {
      let names;
      if (kind === 'cluster') names = await findEverywhere(query);
      else {
        names = (await gql('query($id: ID!, $q: String!) { instance(id: $id) { find(query: $q) } }', { id, q: query }))
          .instance.find;
        if (findForm.querySelector('#find-values').checked) {
          names = [...new Set([...names, ...(await findEverywhere(query))])].sort();
        }
      }
      const shown = names.slice(0, 100);
      replace(
        findResults,
        names.length
          ? h('p', { class: 'muted' }, `${names.length} key${names.length === 1 ? '' : 's'}${names.length > 100 ? ' (first 100)' : ''}`)
          : h('p', { class: 'muted' }, `No key name contains “${query}”.`),
        h(
          'ul',
          { class: 'found' },
          shown.map((p) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => tree.reveal(p) }, p))),
        ),
      );
    } catch (e) {
      showError(findBox, describe(e));
    }
  });

  async function findEverywhere(query) {
    // Read every key (a cluster's own keys are few; an instance's are read
    // in one request per namespace) and match names and values.
    const fields = NAMESPACES.map((ns, i) => `n${i}: keys(path: ${JSON.stringify(ns)}, depth: 60) { path exists value }`).join(' ');
    const data = await gql(`query($id: ID!) { t: ${owner} { ${fields} } }`, { id });
    const q = query.toLowerCase();
    const found = [];
    for (let i = 0; i < NAMESPACES.length; i++) {
      for (const k of data.t[`n${i}`] || []) {
        if (k.exists && (k.path.toLowerCase().includes(q) || (k.value || '').toLowerCase().includes(q))) found.push(k.path);
      }
    }
    return found;
  }

  const newPath = h('input', { id: 'new-key-path', name: 'path', autocomplete: 'off', spellcheck: 'false', placeholder: 'user:/app/port' });
  const newValue = h('input', { id: 'new-key-value', name: 'value', autocomplete: 'off' });
  const newBox = errorBox();
  const newForm = canEdit
    ? h(
        'form',
        { class: 'new-key' },
        h('h3', {}, 'New key'),
        h('div', { class: 'field' }, h('label', { for: 'new-key-path' }, 'Key'), newPath),
        h('div', { class: 'field' }, h('label', { for: 'new-key-value' }, 'Value'), newValue),
        h('button', { type: 'submit' }, 'Add key'),
        newBox,
      )
    : null;
  if (newForm) {
    newForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      showError(newBox, '');
      const path = newPath.value.trim();
      try {
        if (!path) throw Object.assign(new Error('Name the key, like user:/app/port'), { code: 'INVALID_KEY_NAME' });
        const before = await readKey(target, path);
        if (before.lockedBy) {
          throw Object.assign(new Error(`${before.path} is set by cluster ${before.lockedBy.name}`), { code: 'KEY_LOCKED' });
        }
        if (before.exists) throw Object.assign(new Error(`${before.path} exists already`), { code: 'BAD_INPUT' });
        await perform({
          label: `add ${before.path}`,
          path: before.path,
          forward: [{ op: 'set', path: before.path, value: newValue.value }],
          inverse: [{ op: 'delete', path: before.path }],
          select: before.path,
        });
        newForm.reset();
      } catch (e) {
        showError(newBox, describe(e));
      }
    });
  }

  // -- layout ----------------------------------------------------------------------
  const treePane = h(
    'section',
    { class: 'tree-pane', 'aria-label': 'Configuration' },
    findForm,
    h('h2', { class: 'visually-hidden' }, 'Keys'),
    treeError,
    tree.el,
    newForm,
  );
  main.replaceChildren(
    h(
      'div',
      { class: 'target', dataset: { kind, id } },
      h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, '← Instances & clusters')),
      h(
        'header',
        { class: 'target-head' },
        h('div', {}, title, facts, headError),
        canEdit ? h('div', { class: 'history' }, undoButton, redoButton, historyBox) : null,
      ),
      side,
      progress,
      h('div', { class: 'browser' }, treePane, detail),
    ),
  );
  replace(detail, h('p', { class: 'muted' }, 'Choose a key to see its value and metadata.'));

  // -- header ------------------------------------------------------------------------
  async function loadHead() {
    const previous = head;
    try {
      const data = await gql(kind === 'cluster' ? CLUSTER_HEAD : INSTANCE_HEAD, { id });
      head = data[kind];
    } catch (e) {
      showError(headError, describe(e));
      return;
    }
    if (destroyed) return;
    if (head && kind === 'instance' && previous) {
      // Back online, or deliveries landed: what it holds may have changed
      // while clusterd could not follow it. Read the open keys again.
      const back = previous.status !== 'ONLINE' && head.status === 'ONLINE';
      const landed =
        head.pending.length < previous.pending.length || head.failed.length < previous.failed.length;
      if (back || landed) refreshTreeSoon();
    }
    if (!head) {
      replace(title, `No such ${kind}`);
      replace(facts, h('a', { href: '#/' }, 'Back to the overview'));
      return;
    }
    document.title = `${head.name} · Elektra Web`;
    if (kind === 'instance') {
      renderInstanceHead();
      watchClusters();
    } else renderClusterHead();
  }

  let shownStatus = null;
  function renderInstanceHead() {
    if (shownStatus !== null && shownStatus !== head.status && selected) select(selected);
    shownStatus = head.status;
    if (newForm) newForm.hidden = head.status === 'OFFLINE';
    replace(title, statusDot(head.status), ' ', head.name);
    title.dataset.status = head.status;
    replace(
      facts,
      h('span', { class: 'status-text' }, head.status.toLowerCase()),
      ` · ${head.host} · seen ${ago(head.lastSeen)}`,
      head.elektraVersion ? ` · Elektra ${head.elektraVersion}` : '',
      ' · ',
      head.cluster ? ['in cluster ', h('a', { href: `#/cluster/${head.cluster.id}` }, head.cluster.name)] : 'in no cluster',
    );
    replace(
      side,
      head.status === 'OFFLINE'
        ? h(
            'p',
            { class: 'offline-note', role: 'status' },
            `${head.name} is offline: the keys shown are as last read; it can be changed again once it is back. `,
            head.cluster ? 'Cluster writes wait for it and are delivered when it returns.' : '',
          )
        : null,
      renderFailed(head, { canEdit, onRetried: retried }),
      renderDrift(head.drift, {
        canEdit: keyCtx.canEdit,
        clusterName: head.cluster ? head.cluster.name : null,
        onResolved: driftResolved,
        onStale: loadHead,
      }),
      renderPending(head),
    );
    side.hidden = !side.firstChild;
    tree.setMarks(treeMarks(head.failed, head.pending));
    // The key shown: its note on what was not applied follows the lists.
    const marks = JSON.stringify(keyCtx.notApplied(selected || '').map((p) => [p.operationId, p.status, p.lastError]));
    if (selected && shownMarks !== null && marks !== shownMarks) select(selected);
    shownMarks = marks;
  }
  let shownMarks = null;

  /** After retryDeliveries: the refused writes are pending again; read the lists. */
  async function retried() {
    await loadHead();
    loadHeadSoon();
  }

  function renderClusterHead() {
    replace(title, 'Cluster ', head.name);
    const members = head.instances;
    replace(
      facts,
      head.description ? `${head.description} · ` : '',
      head.parent ? ['inside ', h('a', { href: `#/cluster/${head.parent.id}` }, head.parent.name), ' · '] : '',
      `${members.length} member${members.length === 1 ? '' : 's'}`,
    );
    replace(
      side,
      members.length
        ? h(
            'ul',
            { class: 'members inline' },
            members.map((m) =>
              h(
                'li',
                { class: 'member', dataset: { id: m.id, status: m.status } },
                statusDot(m.status),
                h('a', { href: `#/instance/${m.id}` }, m.name),
                m.cluster && m.cluster.id !== id ? h('span', { class: 'muted' }, ` (via ${m.cluster.name})`) : null,
                m.pending.length ? h('span', { class: 'badge pending-count' }, `${m.pending.length} pending`) : null,
                m.failed.length ? h('span', { class: 'badge failed-count' }, `⚠ ${m.failed.length} not applied`) : null,
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No members yet: its keys reach instances once they join (on the overview).'),
      renderClusterFailed(head.failed, {
        names: new Map(members.map((m) => [m.id, m.name])),
        canEdit,
        onRetried: retried,
      }),
      renderDrift(head.drift, {
        canEdit,
        names: new Map(members.map((m) => [m.id, m.name])),
        clusterName: head.name,
        onResolved: driftResolved,
        onStale: loadHead,
      }),
    );
    side.hidden = false;
  }

  async function driftResolved(result, action, d) {
    // Adopting is a write to the whole cluster: show its deliveries there.
    if (action === 'ADOPT') track(app.live, d.clusterId, `adopt ${d.path}`, result);
    if (action === 'ADOPT_DELETION') track(app.live, d.clusterId, `delete ${d.path} (deleted on a member)`, result);
    await loadHead();
    await afterWrite(d.path, null, action === 'ADOPT_DELETION' ? 'DELETE' : 'SET');
  }

  // -- the key detail ------------------------------------------------------------------
  let selected = null;
  function select(path) {
    selected = path;
    const hash = `#/${kind}/${id}?path=${encodeURIComponent(path)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    return showKey(detail, keyCtx, path);
  }

  // -- writes, undo/redo -----------------------------------------------------------------
  function onResult(result, label) {
    if (kind === 'cluster') track(app.live, id, label, result);
  }

  async function perform({ label, path, forward, inverse, select: then, deleted }) {
    await runOps(target, forward, (r) => onResult(r, label));
    record({ label, target, forward, inverse, kind, id });
    await afterWrite(path, deleted ? parentOf(path) : then, deleted ? 'DELETE' : 'SET');
  }

  async function afterWrite(path, then, op) {
    try {
      await tree.applyChange({ op, path });
    } catch {
      /* shown by the next refresh */
    }
    if (then) await tree.reveal(then);
    else if (selected) await select(selected);
    if (kind === 'instance') loadHead();
  }

  async function runHistory(step) {
    showError(historyBox, '');
    try {
      const entry = await step(async (t, ops) => {
        await runOps(t, ops, (r) => {
          if (t.kind === 'cluster') track(app.live, t.id, `${step === undo ? 'undo' : 'redo'} ${peekLabel(step)}`, r);
        });
      });
      if (entry && entry.target.kind === kind && entry.target.id === id) {
        await tree.refreshAll();
        if (selected) await select(selected);
        if (kind === 'instance') loadHead();
      }
    } catch (e) {
      showError(historyBox, describe(e));
    }
  }
  function peekLabel(step) {
    const entry = step === undo ? peekUndo() : peekRedo();
    return entry ? entry.label : '';
  }
  function updateHistory() {
    const u = peekUndo();
    const r = peekRedo();
    undoButton.disabled = !u || isBusy();
    redoButton.disabled = !r || isBusy();
    undoButton.title = u ? `Undo: ${u.label}` : 'Nothing to undo';
    redoButton.title = r ? `Redo: ${r.label}` : 'Nothing to redo';
    undoButton.setAttribute('aria-label', undoButton.title);
    redoButton.setAttribute('aria-label', redoButton.title);
  }
  undoButton.addEventListener('click', () => runHistory(undo));
  redoButton.addEventListener('click', () => runHistory(redo));
  const onKey = (event) => {
    if (!(event.ctrlKey || event.metaKey) || /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName)) return;
    if (event.key === 'z' && !event.shiftKey) {
      event.preventDefault();
      runHistory(undo);
    } else if (event.key === 'y' || (event.key === 'Z' && event.shiftKey)) {
      event.preventDefault();
      runHistory(redo);
    }
  };
  document.addEventListener('keydown', onKey);
  stops.push(() => document.removeEventListener('keydown', onKey), onHistoryChange(updateHistory));
  updateHistory();

  // -- live ------------------------------------------------------------------------------
  const filter = kind === 'cluster' ? { clusterId: id } : { instanceId: id };
  let queue = Promise.resolve();
  stops.push(
    app.live.subscribe(
      `subscription($instanceId: ID, $clusterId: ID) {
        configChanged(instanceId: $instanceId, clusterId: $clusterId) {
          op path value origin instance { id } cluster { id } } }`,
      { instanceId: filter.instanceId ?? null, clusterId: filter.clusterId ?? null },
      {
        next: (data) => {
          const change = data.configChanged;
          if (kind === 'cluster' && change.instance) {
            // A delivery to a member: its pending count may change.
            loadHeadSoon();
            return;
          }
          queue = queue.then(async () => {
            if (destroyed) return;
            try {
              await tree.applyChange(change);
            } catch {
              /* the next refresh shows it */
            }
            if (selected && (isBelowOrSame(selected, change.path) || isBelowOrSame(change.path, selected))) {
              await select(selected);
              flash(detail.querySelector('.key-path'));
            }
          });
          if (kind === 'instance') loadHeadSoon();
        },
      },
    ),
    app.live.subscribe(
      'subscription($id: ID) { instanceStatusChanged(instanceId: $id) { id status lastSeen } }',
      { id: kind === 'instance' ? id : null },
      {
        next: (data) => {
          const inst = data.instanceStatusChanged;
          if (kind === 'instance' && head && inst.id === id) {
            if (head.status !== 'ONLINE' && inst.status === 'ONLINE') refreshTreeSoon();
            head.status = inst.status;
            head.lastSeen = inst.lastSeen;
            renderInstanceHead();
            flash(title);
            loadHeadSoon();
          } else if (kind === 'cluster') {
            const li = side.querySelector(`li.member[data-id="${CSS.escape(inst.id)}"]`);
            if (li) {
              li.dataset.status = inst.status;
              li.querySelector('.dot')?.replaceWith(statusDot(inst.status));
              flash(li);
            }
          }
        },
      },
    ),
    app.live.subscribe(
      'subscription($i: ID, $c: ID) { driftChanged(instanceId: $i, clusterId: $c) { path resolved } }',
      { i: kind === 'instance' ? id : null, c: kind === 'cluster' ? id : null },
      { next: () => loadHeadSoon() },
    ),
    app.onReconnect(async () => {
      await loadHead();
      await tree.refreshAll();
      if (selected) await select(selected);
    }),
  );
  if (kind === 'cluster') {
    const draw = (clusterId, info) => {
      if (clusterId !== id) return;
      renderProgress(progress, id);
      // A member refused it (or one landed): the lists and counts change.
      if (info && (info.failed || info.settled)) loadHeadSoon();
    };
    stops.push(onProgress(draw));
    renderProgress(progress, id);
  }

  // -- an instance: its cluster's writes it refuses ------------------------------------
  // A refused write changes nothing on the instance (no configChanged for it):
  // follow the writes of its cluster and the clusters above, and read the
  // lists again once this instance's delivery of one is decided.
  let watched = { key: null, stops: [] };
  const operations = new Map(); // operationId -> stop
  async function watchClusters() {
    const clusterId = head && head.cluster ? head.cluster.id : '';
    if (watched.key === clusterId) return;
    for (const stop of watched.stops) stop();
    watched = { key: clusterId, stops: [] };
    if (!clusterId) return;
    const chain = [clusterId];
    try {
      const data = await gql('{ clusters { id parent { id } } }');
      const parents = new Map(data.clusters.map((c) => [c.id, c.parent ? c.parent.id : null]));
      for (let up = parents.get(clusterId); up && !chain.includes(up); up = parents.get(up)) chain.push(up);
    } catch {
      /* its own cluster at least */
    }
    if (destroyed || watched.key !== clusterId) return;
    for (const c of chain) {
      watched.stops.push(
        app.live.subscribe(
          'subscription($c: ID) { configChanged(clusterId: $c) { operationId instance { id } cluster { id } } }',
          { c },
          {
            next: (data) => {
              const change = data.configChanged;
              if (!change.instance && change.operationId) watchOperation(change.operationId);
            },
          },
        ),
      );
    }
  }
  function watchOperation(operationId) {
    if (operations.has(operationId) || operations.size >= 20) return;
    const done = () => {
      const stop = operations.get(operationId);
      operations.delete(operationId);
      if (stop) stop();
    };
    operations.set(
      operationId,
      app.live.subscribe(PROGRESS, { op: operationId }, {
        next: (data) => {
          const r = data.operationProgress;
          if (r.instance.id !== id) return;
          // FAILED, SUPERSEDED, APPLIED, or PENDING (refused for now): the lists change.
          loadHeadSoon();
          if (r.delivery !== 'PENDING') queueMicrotask(done);
        },
        complete: () => operations.delete(operationId),
        error: () => operations.delete(operationId),
      }),
    );
  }
  stops.push(() => {
    for (const stop of watched.stops) stop();
    for (const stop of operations.values()) stop();
    operations.clear();
  });
  let treeTimer = null;
  function refreshTreeSoon() {
    clearTimeout(treeTimer);
    treeTimer = setTimeout(() => {
      queue = queue.then(async () => {
        if (destroyed) return;
        try {
          await tree.refreshAll();
          treeError.hidden = true;
          if (selected) await select(selected);
        } catch {
          /* unreachable again: the header says so */
        }
      });
    }, 300);
  }
  let headTimer = null;
  function loadHeadSoon() {
    clearTimeout(headTimer);
    headTimer = setTimeout(loadHead, 300);
  }
  // Pending deliveries and last seen age: read the header again now and then.
  const tick = setInterval(() => document.visibilityState === 'visible' && loadHead(), 10000);

  // -- start -------------------------------------------------------------------------------
  loadHead();
  tree
    .init()
    .then(async () => {
      if (tree.isEmpty()) {
        replace(detail, h('p', { class: 'empty' }, canEdit ? 'No keys yet. Add the first one with “New key”.' : 'No keys yet.'));
      }
      if (params.get('path')) await tree.reveal(params.get('path'));
    })
    .catch((e) => showError(treeError, describe(e)));

  return {
    destroy() {
      destroyed = true;
      clearTimeout(headTimer);
      clearTimeout(treeTimer);
      clearInterval(tick);
      for (const stop of stops) stop();
    },
  };
}
