// @ts-check
// The configuration as a tree that loads lazily: a key's children are read
// when it is opened (one request), and shown a page at a time, so a parent
// with 10,000 children stays responsive.

import { h, replace, flash, baseName, parentOf, isBelowOrSame } from './dom.js';
import { describe } from './errors.js';
import { mountMarks } from './mounts.js';

export const PAGE = 200;
export const NAMESPACES = ['user:/', 'system:/', 'dir:/', 'spec:/'];

export class KeyTree {
  /**
   * load(path): the key at path and its existing children (root first);
   * loadRoots(): the namespace roots; onSelect(path).
   */
  constructor({ load, loadRoots, onSelect }) {
    this.load = load;
    this.loadRoots = loadRoots;
    this.onSelect = onSelect;
    this.nodes = new Map();
    this.roots = [];
    this.selected = null;
    /** path -> {kind: 'failed'|'pending', reason}: cluster writes not applied there. */
    this.marks = new Map();
    this.el = h('ul', { class: 'tree', role: 'tree', 'aria-label': 'Keys' });
    this.el.addEventListener('keydown', (event) => this.onKey(event));
  }

  /** Arrow keys move between keys, Right/Left open and close, Home/End jump. */
  onKey(event) {
    const li = event.target.closest('li[data-path]');
    if (!li || event.altKey || event.ctrlKey || event.metaKey) return;
    const n = this.nodes.get(li.dataset.path);
    const names = [...this.el.querySelectorAll('button.keyname')];
    const here = names.indexOf(li.querySelector(':scope > .row > button.keyname'));
    const focus = (button) => button && button.focus();
    switch (event.key) {
      case 'ArrowDown':
        focus(names[here + 1]);
        break;
      case 'ArrowUp':
        focus(names[here - 1]);
        break;
      case 'Home':
        focus(names[0]);
        break;
      case 'End':
        focus(names[names.length - 1]);
        break;
      case 'ArrowRight':
        if (n && n.hasChildren && !n.expanded) {
          this.expand(n).then(() => focus(n.row && n.row.querySelector('.keyname')));
        } else if (n && n.expanded) focus(names[here + 1]);
        break;
      case 'ArrowLeft':
        if (n && n.expanded) {
          n.expanded = false;
          this.renderRow(n);
          focus(n.row.querySelector('.keyname'));
        } else {
          const parent = this.nodes.get(parentOf(li.dataset.path));
          focus(parent && parent.row && parent.row.querySelector('.keyname'));
        }
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  node(path) {
    let n = this.nodes.get(path);
    if (!n) {
      n = {
        path,
        name: baseName(path),
        exists: false,
        value: null,
        children: null,
        hasChildren: false,
        lockedBy: null,
        mount: null,
        expanded: false,
        shown: PAGE,
        li: null,
        row: null,
        ul: null,
      };
      this.nodes.set(path, n);
    }
    return n;
  }

  async init() {
    const roots = await this.loadRoots();
    this.roots = [];
    for (const key of roots) {
      const n = this.node(key.path);
      this.apply(n, key);
      if (n.hasChildren || n.exists || key.path === 'user:/' || key.path === 'system:/') {
        this.roots.push(n.path);
      }
    }
    this.renderRoots();
  }

  /** Mark the keys whose cluster writes were refused or wait (redraws the rows that change). */
  setMarks(marks) {
    const old = this.marks;
    this.marks = marks;
    for (const path of new Set([...old.keys(), ...marks.keys()])) {
      const a = old.get(path);
      const b = marks.get(path);
      if (a && b && a.kind === b.kind && a.reason === b.reason) continue;
      const n = this.nodes.get(path);
      if (n && n.li) this.renderRow(n);
    }
  }

  isEmpty() {
    return this.roots.every((p) => !this.nodes.get(p).hasChildren && !this.nodes.get(p).exists);
  }

  renderRoots() {
    replace(this.el, this.roots.map((p) => this.renderRow(this.node(p))));
  }

  apply(n, key) {
    n.exists = !!key.exists;
    n.value = key.value ?? null;
    n.children = key.children || [];
    n.hasChildren = n.children.length > 0;
    n.lockedBy = key.lockedBy || null;
    // The file it is in (instances): its mount point is marked, and a broken
    // file's mount point shows the error in place of its keys.
    n.mount = key.mount || null;
    if (!n.hasChildren) n.expanded = false;
  }

  renderRow(n) {
    const li = n.li || h('li', { role: 'treeitem', dataset: { path: n.path } });
    n.li = li;
    const twisty = n.hasChildren
      ? h(
          'button',
          {
            type: 'button',
            class: 'twisty',
            'aria-label': `${n.expanded ? 'Collapse' : 'Expand'} ${n.path}`,
            'aria-expanded': String(n.expanded),
            onclick: () => this.toggle(n),
          },
          n.loading ? '…' : n.expanded ? '▾' : '▸',
        )
      : h('span', { class: 'twisty leaf', 'aria-hidden': 'true' });
    const selected = this.selected === n.path;
    const label = h(
      'button',
      {
        type: 'button',
        class: `keyname${n.exists ? '' : ' virtual'}`,
        'aria-current': selected ? 'true' : null,
        title: n.path,
        onclick: () => this.select(n.path),
      },
      n.name,
    );
    const value =
      n.exists && n.value !== null && n.value !== ''
        ? h('span', { class: 'val', title: n.value }, n.value)
        : null;
    const lock = n.lockedBy
      ? h('span', { class: 'lock', title: `set by cluster ${n.lockedBy.name}` }, 'locked · ', n.lockedBy.name)
      : null;
    const mark = this.marks.get(n.path);
    const warn = mark
      ? h(
          'span',
          {
            class: `mark ${mark.kind}`,
            title: `${mark.kind === 'failed' ? "The cluster's write was refused here" : "The cluster's write waits"}: ${mark.reason}`,
          },
          mark.kind === 'failed' ? '⚠ not applied' : 'pending',
          mark.reason ? `: ${mark.reason}` : '',
        )
      : null;
    const count =
      n.hasChildren && n.children && !n.expanded
        ? h('span', { class: 'count' }, String(n.children.length))
        : null;
    const error = n.error ? h('span', { class: 'form-error inline' }, n.error) : null;
    const mounted = mountMarks(n.mount, n.path);
    li.classList.toggle('mounted', mounted.length > 0);
    const row = h('div', { class: `row${selected ? ' selected' : ''}` }, twisty, label, ...mounted, value, lock, warn, count, error);
    if (n.row && n.row.classList.contains('flash')) flash(row); // still being highlighted
    n.row = row;
    replace(li, row, n.expanded && n.ul ? n.ul : null);
    li.setAttribute('aria-expanded', n.hasChildren ? String(n.expanded) : null);
    if (!n.hasChildren) li.removeAttribute('aria-expanded');
    return li;
  }

  renderChildren(n) {
    const ul = n.ul || h('ul', { role: 'group' });
    n.ul = ul;
    const names = n.children || [];
    const rows = names.slice(0, n.shown).map((name) => this.renderRow(this.node(name)));
    const rest = names.length - n.shown;
    if (rest > 0) {
      rows.push(
        h(
          'li',
          { class: 'more' },
          h(
            'button',
            {
              type: 'button',
              class: 'show-more quiet',
              onclick: () => {
                n.shown += PAGE;
                this.renderChildren(n);
              },
            },
            `Show ${Math.min(PAGE, rest)} more (${rest.toLocaleString('en')} not shown)`,
          ),
        ),
      );
    }
    replace(ul, rows);
    if (n.expanded && n.li && ul.parentNode !== n.li) n.li.append(ul);
  }

  async toggle(n) {
    if (n.expanded) {
      n.expanded = false;
      this.renderRow(n);
      return;
    }
    await this.expand(n);
  }

  async expand(n) {
    n.loading = true;
    n.error = null;
    this.renderRow(n);
    try {
      await this.refresh(n);
      n.expanded = n.hasChildren;
    } catch (e) {
      n.error = describe(e);
    }
    n.loading = false;
    this.renderRow(n);
    if (n.expanded) this.renderChildren(n);
  }

  /** Read n and its children again. */
  async refresh(n) {
    const keys = await this.load(n.path);
    const [root, ...rest] = keys;
    const before = new Set(n.children || []);
    this.apply(n, root);
    const known = new Map(rest.map((k) => [k.path, k]));
    for (const name of n.children) {
      const c = this.node(name);
      const k = known.get(name);
      if (k) this.apply(c, k);
      else {
        // Not a key itself, but keys exist below it.
        c.exists = false;
        c.value = null;
        c.hasChildren = true;
        c.lockedBy = null;
      }
      before.delete(name);
    }
    for (const gone of before) this.forget(gone);
  }

  forget(path) {
    for (const p of [...this.nodes.keys()]) if (isBelowOrSame(p, path)) this.nodes.delete(p);
  }

  select(path) {
    const old = this.nodes.get(this.selected);
    this.selected = path;
    if (old && old.row) {
      old.row.classList.remove('selected');
      old.row.querySelector('.keyname')?.removeAttribute('aria-current');
    }
    const n = this.nodes.get(path);
    if (n && n.row) {
      n.row.classList.add('selected');
      n.row.querySelector('.keyname')?.setAttribute('aria-current', 'true');
    }
    this.onSelect(path);
  }

  /** Open the tree down to ``path`` and select it. */
  async reveal(path) {
    const chain = [];
    for (let p = path; p; p = parentOf(p)) chain.unshift(p);
    if (!this.roots.includes(chain[0])) {
      this.roots.push(chain[0]);
      this.renderRoots();
    }
    for (let i = 0; i < chain.length - 1; i++) {
      const n = this.node(chain[i]);
      if (!n.expanded) await this.expand(n);
      const index = (n.children || []).indexOf(chain[i + 1]);
      if (index < 0) break;
      if (index >= n.shown) {
        n.shown = Math.ceil((index + 1) / PAGE) * PAGE;
        this.renderChildren(n);
      }
    }
    this.select(path);
    const n = this.nodes.get(path);
    if (n && n.row) {
      n.row.scrollIntoView({ block: 'nearest' });
      n.row.querySelector('.keyname')?.focus();
    }
  }

  /** The nearest shown ancestor-or-self of path whose children are loaded. */
  nearestLoaded(path) {
    for (let p = parentOf(path); p; p = parentOf(p)) {
      const n = this.nodes.get(p);
      if (n && n.expanded) return n;
      if (n && this.roots.includes(p)) return n;
    }
    return null;
  }

  /** A change made here or elsewhere: show it, briefly highlighted. */
  async applyChange(change) {
    const { op, path } = change;
    if (op === 'MOVE' || op === 'COPY') {
      await this.refreshAll();
      return;
    }
    if (op === 'MOUNT') {
      // A mounted file broke or parses again: what was shown below its mount
      // point is unknown (or stale), so it is read again with everything open.
      for (const p of [...this.nodes.keys()]) if (p !== path && isBelowOrSame(p, path)) this.nodes.delete(p);
      const own = this.nodes.get(path);
      if (own) {
        own.expanded = false;
        own.error = null;
        own.ul = null;
      }
      await this.refreshAll();
      const shown = this.nodes.get(path);
      if (shown && shown.row && shown.row.isConnected) flash(shown.row);
      return;
    }
    const own = this.nodes.get(path);
    let gone = op === 'DELETE';
    let keys = null;
    if (!gone && own && own.li && own.li.isConnected) {
      keys = await this.load(path);
      gone = !keys[0].exists && !keys[0].children.length;
    }
    if (gone) {
      const parent = this.nodes.get(parentOf(path));
      this.forget(path);
      if (parent && parent.children) {
        parent.children = parent.children.filter((c) => !isBelowOrSame(c, path));
        parent.hasChildren = parent.children.length > 0;
        if (!parent.hasChildren) parent.expanded = false;
        if (!parent.hasChildren && !parent.exists && parentOf(parent.path)) {
          // Only the deleted keys held it: it is gone too.
          await this.applyChange({ op: 'DELETE', path: parent.path });
          return;
        }
        this.renderRow(parent);
        if (parent.expanded) this.renderChildren(parent);
        flash(parent.row);
      }
      return;
    }
    if (keys) {
      this.apply(own, keys[0]);
      if (own.expanded) await this.refresh(own);
      this.renderRow(own);
      if (own.expanded) this.renderChildren(own);
      flash(own.row);
      return;
    }
    const anchor = this.nearestLoaded(path);
    if (!anchor) {
      // A new namespace: read the roots again.
      await this.init();
      return;
    }
    await this.refresh(anchor);
    this.renderRow(anchor);
    if (anchor.expanded) this.renderChildren(anchor);
    // Highlight the row that now leads to the change.
    let shown = null;
    for (let p = path; p; p = parentOf(p)) {
      const n = this.nodes.get(p);
      if (n && n.row && n.row.isConnected) {
        shown = n;
        break;
      }
    }
    if (shown) flash(shown.row);
  }

  /** Read every open node again (after a reconnect). */
  async refreshAll() {
    const roots = await this.loadRoots();
    for (const key of roots) {
      const n = this.node(key.path);
      this.apply(n, key);
      if ((n.hasChildren || n.exists) && !this.roots.includes(n.path)) this.roots.push(n.path);
    }
    const open = [...this.nodes.values()].filter((n) => n.expanded);
    for (const n of open) {
      if (!this.nodes.has(n.path)) continue;
      try {
        await this.refresh(n);
      } catch {
        n.expanded = false;
      }
    }
    this.renderRoots();
    for (const n of open) if (n.expanded && this.nodes.has(n.path)) this.renderChildren(n);
  }
}
