// @ts-check
// Writes to an instance or a cluster, and what it takes to undo them; the
// reads of keys (GraphQL documents built once, from fragments).

import { gql } from './api.js';
import { MOUNT_FIELDS } from './mounts.js';
import { MEMBER_PLAN } from './preview.js';

/** @typedef {import('./undo.js').Target} Target */
/** @typedef {import('./undo.js').Op} Op */

const RESULT = 'operationId results { instance { id name } delivery error }';
export const SUBTREE_DEPTH = 60; // elektrad serves at most 64 levels at once
export const UNDO_LIMIT = 500; // a bigger deleted subtree is not kept for undo
export const NAMESPACES = ['user:/', 'system:/', 'dir:/', 'spec:/'];

/** A key in the tree. */
export const KEY_ROW = `fragment KeyRow on ConfigKey { path exists value children ${MOUNT_FIELDS} }`;
/** A key in detail. */
export const KEY_DETAIL = `fragment KeyDetail on ConfigKey { path name exists value meta { key value } children ${MOUNT_FIELDS} }`;
/** A key with what undoing a change of it needs. */
export const KEY_SAVED = 'fragment KeySaved on ConfigKey { path exists value meta { key value } }';
/** The cluster that sets a key of an instance (instances only). */
export const KEY_LOCK = 'fragment KeyLock on ConfigKey { lockedBy { id name } }';

/**
 * The reads of one kind of target, as constant documents.
 * @param {'instance' | 'cluster'} kind
 */
function reads(kind) {
  const owner = kind === 'cluster' ? 'cluster(id: $id)' : 'instance(id: $id)';
  const lock = kind === 'instance' ? '...KeyLock' : '';
  const lockFragment = kind === 'instance' ? KEY_LOCK : '';
  const roots = NAMESPACES.map((ns, i) => `n${i}: key(path: ${JSON.stringify(ns)}) { ...KeyRow ${lock} }`).join(' ');
  const everything = NAMESPACES.map(
    (ns, i) => `n${i}: keys(path: ${JSON.stringify(ns)}, depth: ${SUBTREE_DEPTH}) { path exists value }`,
  ).join(' ');
  return {
    children: `query($id: ID!, $path: String!) { t: ${owner} { keys(path: $path, depth: 1) { ...KeyRow ${lock} } } } ${KEY_ROW} ${lockFragment}`,
    roots: `query($id: ID!) { t: ${owner} { ${roots} } } ${KEY_ROW} ${lockFragment}`,
    key: `query($id: ID!, $path: String!) { t: ${owner} { key(path: $path) { ...KeyDetail ${lock} } } } ${KEY_DETAIL} ${lockFragment}`,
    subtree: `query($id: ID!, $path: String!, $depth: Int!) { t: ${owner} {
      keys(path: $path, depth: $depth) { ...KeySaved ${lock} } } } ${KEY_SAVED} ${lockFragment}`,
    everything: `query($id: ID!) { t: ${owner} { ${everything} } }`,
  };
}

/** The read documents per kind of target. */
export const READS = { instance: reads('instance'), cluster: reads('cluster') };

/** @param {Target} target */
function targetVar(target) {
  return target.kind === 'cluster' ? { clusterId: target.id } : { instanceId: target.id };
}

/** @param {Target} target */
function gone(target) {
  return Object.assign(new Error(`No such ${target.kind} (deleted elsewhere?)`), { code: 'NOT_FOUND' });
}

/**
 * The key at ``path`` and its existing children (root first), for the tree.
 * @param {Target} target
 * @param {string} path
 */
export async function readChildren(target, path) {
  const data = await gql(READS[target.kind].children, { id: target.id, path });
  if (!data.t) throw gone(target);
  return data.t.keys;
}

/** The namespace roots, for the tree. @param {Target} target */
export async function readRoots(target) {
  const data = await gql(READS[target.kind].roots, { id: target.id });
  if (!data.t) throw gone(target);
  return NAMESPACES.map((_, i) => data.t[`n${i}`]).filter(Boolean);
}

/**
 * Every key whose name or value contains ``query`` (case-insensitive).
 * @param {Target} target
 * @param {string} query
 * @returns {Promise<string[]>}
 */
export async function findEverywhere(target, query) {
  const data = await gql(READS[target.kind].everything, { id: target.id });
  if (!data.t) throw gone(target);
  const q = query.toLowerCase();
  const found = [];
  for (let i = 0; i < NAMESPACES.length; i++) {
    for (const k of data.t[`n${i}`] || []) {
      if (k.exists && (k.path.toLowerCase().includes(q) || (k.value || '').toLowerCase().includes(q))) found.push(k.path);
    }
  }
  return found;
}

const MUTATIONS = {
  set: ['setKey(target: $t, path: $path, value: $value)', '$path: String!, $value: String!'],
  delete: ['deleteKey(target: $t, path: $path)', '$path: String!'],
  move: ['moveKey(target: $t, from: $from, to: $to)', '$from: String!, $to: String!'],
  copy: ['copyKey(target: $t, from: $from, to: $to)', '$from: String!, $to: String!'],
  setMeta: [
    'setMeta(target: $t, path: $path, key: $key, value: $value)',
    '$path: String!, $key: String!, $value: String!',
  ],
  deleteMeta: ['deleteMeta(target: $t, path: $path, key: $key)', '$path: String!, $key: String!'],
};

/**
 * @typedef {object} WriteOptions
 * @property {boolean} [dryRun] change nothing: answer each member's plan
 * @property {boolean} [force] write to a cluster even though some members' validation refuses it
 */

/**
 * One write; its WriteResult (a dry run: with its plan per member).
 * @param {Target} target
 * @param {Op} op
 * @param {WriteOptions} [options]
 */
export async function runOp(target, op, options = {}) {
  const [call, params] = MUTATIONS[/** @type {keyof MUTATIONS} */ (op.op)];
  const { op: _kind, ...vars } = op;
  void _kind;
  const t = targetVar(target);
  const dry = Boolean(options.dryRun);
  const fields = dry ? `dryRun plan { ${MEMBER_PLAN} }` : RESULT;
  const withFlags = call.replace(/\)$/, ', dryRun: $dry, force: $force)');
  const data = await gql(`mutation($t: Target!, ${params}, $dry: Boolean!, $force: Boolean!) { w: ${withFlags} { ${fields} } }`, {
    t,
    ...vars,
    dry,
    force: Boolean(options.force),
  });
  return data.w;
}

/**
 * Several writes in order; ``onResult(result, op)`` after each.
 * @param {Target} target
 * @param {Op[]} ops
 * @param {(result: any, op: Op) => void} [onResult]
 * @param {WriteOptions} [options]
 */
export async function runOps(target, ops, onResult, options = {}) {
  for (const op of ops) {
    const result = await runOp(target, op, options);
    if (onResult) onResult(result, op);
  }
}

/** @param {{key: string, value: string}[] | null} entries */
function metaObject(entries) {
  /** @type {Record<string, string>} */
  const meta = {};
  for (const { key, value } of entries || []) meta[key] = value;
  return meta;
}

/** The key now: {path, exists, value, meta: {}, children, lockedBy}. */
/** @param {Target} target @param {string} path */
export async function readKey(target, path) {
  const data = await gql(READS[target.kind].key, { id: target.id, path });
  if (!data.t) throw gone(target);
  const key = data.t.key;
  return { ...key, meta: metaObject(key.meta) };
}

/** The existing keys at and below ``path`` (values, metadata, locks). */
/** @param {Target} target @param {string} path */
export async function readSubtree(target, path) {
  const data = await gql(READS[target.kind].subtree, { id: target.id, path, depth: SUBTREE_DEPTH });
  if (!data.t) throw gone(target);
  return (data.t.keys || [])
    .filter((/** @type {any} */ k) => k.exists)
    .map((/** @type {any} */ k) => ({ ...k, meta: metaObject(k.meta) }));
}

/** The writes that bring back ``keys`` (as readSubtree returned them). */
/** @param {{path: string, value: string | null, meta: Record<string, string>}[]} keys @returns {Op[]} */
export function restoreOps(keys) {
  const ops = [];
  for (const key of keys) {
    ops.push({ op: 'set', path: key.path, value: key.value ?? '' });
    for (const [k, v] of Object.entries(key.meta)) ops.push({ op: 'setMeta', path: key.path, key: k, value: v });
  }
  return ops;
}

/** The inverse of setting ``path`` to a value, given the key before. */
/** @param {{path: string, exists: boolean, value: string | null}} before @returns {Op[]} */
export function inverseOfSet(before) {
  if (!before.exists) return [{ op: 'delete', path: before.path }];
  return [{ op: 'set', path: before.path, value: before.value ?? '' }];
}

/** @param {{path: string, meta: Record<string, string>}} before @param {string} key @returns {Op[]} */
export function inverseOfMeta(before, key) {
  if (key in before.meta) return [{ op: 'setMeta', path: before.path, key, value: before.meta[key] }];
  return [{ op: 'deleteMeta', path: before.path, key }];
}
