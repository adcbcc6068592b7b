// @ts-check
// Mounted files as the page shows them: a badge on a mount point in the tree
// (its format; the file as a tooltip), a broken file's error in place of its
// subtree, a note in the key detail, and what a format can hold below a key
// (the editor offers "Add a key below" only where the file can take it).

import { h, parentOf } from './dom.js';

/**
 * A mounted file, as ConfigKey.mount and Instance.mounts give it.
 * @typedef {object} Mount
 * @property {string} mountPoint
 * @property {string} format "ini", "json" or "toml"
 * @property {string} file
 * @property {'OK' | 'BROKEN'} status
 * @property {string | null} error the parser's message while BROKEN
 * @property {number | null} maxDepth the most levels below mountPoint; null: any
 */

/** The fields of a key's mount, for the read fragments. */
export const MOUNT_FIELDS = 'mount { mountPoint format file status error maxDepth }';

/**
 * How many levels ``path`` is below ``mountPoint`` (0: it is the mount point).
 * @param {string} path @param {string} mountPoint
 */
export function depthBelow(path, mountPoint) {
  let depth = 0;
  for (let p = /** @type {string | null} */ (path); p && p !== mountPoint; p = parentOf(p)) depth++;
  return depth;
}

/**
 * The tree row's marks of a mount point: its format badge and, when the file
 * does not parse, its error (the subtree is not shown meanwhile).
 * @param {Mount | null | undefined} mount
 * @param {string} path
 * @returns {HTMLElement[]}
 */
export function mountMarks(mount, path) {
  if (!mount || mount.mountPoint !== path) return [];
  const broken = mount.status === 'BROKEN';
  const badge = h(
    'span',
    {
      class: `mount-badge${broken ? ' broken' : ''}`,
      title: `Mounted from ${mount.file} (${mount.format.toUpperCase()})${broken ? ': does not parse' : ''}`,
    },
    mount.format.toUpperCase(),
  );
  if (!broken) return [badge];
  return [
    badge,
    h(
      'span',
      { class: 'mount-error', role: 'note', title: `${mount.file}: ${mount.error}` },
      `⚠ ${mount.file} does not parse: ${mount.error}`,
    ),
  ];
}

/**
 * The key detail's note on the file a key is in.
 * @param {{path: string, mount?: Mount | null}} key
 * @returns {HTMLElement[]}
 */
export function mountNote(key) {
  const mount = key.mount;
  if (!mount) return [];
  const at = mount.mountPoint === key.path ? 'Mount point of ' : 'In ';
  return [
    h(
      'p',
      { class: 'mount-note' },
      h('span', { class: 'mount-badge' }, mount.format.toUpperCase()),
      ' ',
      at,
      h('code', {}, mount.file),
      mount.mountPoint === key.path ? '' : [' (mounted at ', h('code', {}, mount.mountPoint), ')'],
    ),
  ];
}

/**
 * What may be added below ``key``: ``allowed`` false with ``why`` when its file
 * cannot hold keys there (an INI option, a value in any format); else a
 * ``hint`` to show and ``check(name)``, a refusal of a name the file cannot take.
 * @param {{path: string, exists: boolean, value: string | null, mount?: Mount | null}} key
 * @returns {{allowed: boolean, why: string, hint: string, check: (name: string) => string | null}}
 */
export function belowRule(key) {
  const open = { allowed: true, why: '', hint: '', check: () => null };
  const mount = key.mount;
  if (!mount) return open;
  const kind = mount.format.toUpperCase();
  const depth = depthBelow(key.path, mount.mountPoint);
  if (mount.status === 'BROKEN') {
    return { ...open, allowed: false, why: `${mount.file} does not parse: nothing can be added in it until it is fixed.` };
  }
  if (mount.maxDepth !== null && depth >= mount.maxDepth) {
    return {
      ...open,
      allowed: false,
      why: `Nothing can be added below this key: an ${kind} file (${mount.file}) holds sections and their options, and this is an option.`,
    };
  }
  if (depth > 0 && key.exists && key.value !== null) {
    return {
      ...open,
      allowed: false,
      why: `Nothing can be added below this key: it holds a value, and in a ${kind} file (${mount.file}) a key with a value has no keys below it.`,
    };
  }
  if (mount.maxDepth === null) return open;
  // INI: a key added here has exactly the levels the file holds (a section
  // has no value of its own, so one is added with an option in it).
  const levels = mount.maxDepth - depth;
  const hint =
    levels > 1 ? `In an ${kind} file: name it section/option.` : `In an ${kind} file: this adds an option to the section.`;
  return {
    allowed: true,
    why: '',
    hint,
    check: (name) => {
      const parts = name.split(/(?<!\\)\//).filter(Boolean);
      if (parts.length === levels) return null;
      return levels > 1
        ? `An ${kind} file holds options in sections: name it section/option, like server/port.`
        : `An ${kind} section holds options only: name it without "/".`;
    },
  };
}
