// Writes to an instance or a cluster, and what it takes to undo them.

import { gql } from './api.js';

const RESULT = 'operationId results { instance { id name } delivery error }';
export const SUBTREE_DEPTH = 60; // elektrad serves at most 64 levels at once
export const UNDO_LIMIT = 500; // a bigger deleted subtree is not kept for undo

function targetVar(target) {
  return target.kind === 'cluster' ? { clusterId: target.id } : { instanceId: target.id };
}

function owner(target) {
  return target.kind === 'cluster' ? 'cluster(id: $id)' : 'instance(id: $id)';
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

/** One write; its WriteResult. */
export async function runOp(target, op) {
  const [call, params] = MUTATIONS[op.op];
  const { op: _kind, ...vars } = op;
  void _kind;
  const data = await gql(`mutation($t: Target!, ${params}) { w: ${call} { ${RESULT} } }`, {
    t: targetVar(target),
    ...vars,
  });
  return data.w;
}

/** Several writes in order; ``onResult(result, op)`` after each. */
export async function runOps(target, ops, onResult) {
  for (const op of ops) {
    const result = await runOp(target, op);
    if (onResult) onResult(result, op);
  }
}

function metaObject(entries) {
  const meta = {};
  for (const { key, value } of entries || []) meta[key] = value;
  return meta;
}

/** The key now: {path, exists, value, meta: {}, children, lockedBy}. */
export async function readKey(target, path) {
  const locked = target.kind === 'instance' ? 'lockedBy { id name }' : '';
  const data = await gql(
    `query($id: ID!, $path: String!) { t: ${owner(target)} {
      key(path: $path) { path name exists value meta { key value } children ${locked} } } }`,
    { id: target.id, path },
  );
  if (!data.t) throw Object.assign(new Error('gone'), { code: 'NOT_FOUND', message: 'No longer exists' });
  const key = data.t.key;
  return { ...key, meta: metaObject(key.meta) };
}

/** The existing keys at and below ``path`` (values, metadata, locks). */
export async function readSubtree(target, path) {
  const locked = target.kind === 'instance' ? 'lockedBy { id name }' : '';
  const data = await gql(
    `query($id: ID!, $path: String!, $depth: Int!) { t: ${owner(target)} {
      keys(path: $path, depth: $depth) { path exists value meta { key value } ${locked} } } }`,
    { id: target.id, path, depth: SUBTREE_DEPTH },
  );
  return (data.t.keys || [])
    .filter((k) => k.exists)
    .map((k) => ({ ...k, meta: metaObject(k.meta) }));
}

/** The writes that bring back ``keys`` (as readSubtree returned them). */
export function restoreOps(keys) {
  const ops = [];
  for (const key of keys) {
    ops.push({ op: 'set', path: key.path, value: key.value ?? '' });
    for (const [k, v] of Object.entries(key.meta)) ops.push({ op: 'setMeta', path: key.path, key: k, value: v });
  }
  return ops;
}

/** The inverse of setting ``path`` to a value, given the key before. */
export function inverseOfSet(before) {
  if (!before.exists) return [{ op: 'delete', path: before.path }];
  return [{ op: 'set', path: before.path, value: before.value ?? '' }];
}

export function inverseOfMeta(before, key) {
  if (key in before.meta) return [{ op: 'setMeta', path: before.path, key, value: before.meta[key] }];
  return [{ op: 'deleteMeta', path: before.path, key }];
}
