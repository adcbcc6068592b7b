// @ts-check
// An instance's page follows the writes of its cluster and the clusters above
// it: a write this instance refuses changes nothing on it (no configChanged),
// so the page reads its lists again once this instance's delivery is decided.

import { gql } from './api.js';

const CLUSTERS = '{ clusters { id parent { id } } }';
const WRITES = 'subscription($c: ID) { configChanged(clusterId: $c) { operationId instance { id } cluster { id } } }';
const PROGRESS = 'subscription($op: ID!) { operationProgress(operationId: $op) { instance { id } delivery } }';
const MAX_FOLLOWED = 20;

/**
 * @typedef {object} Live
 * @property {(query: string, variables: Record<string, any>, sink: {next: (data: any) => void, complete?: () => void, error?: (e: any) => void}) => () => void} subscribe
 */

/**
 * @param {Live} live
 * @param {string} instanceId
 * @param {() => void} onDecided a delivery to this instance was decided (or refused for now)
 */
export function clusterWatch(live, instanceId, onDecided) {
  let watched = { key: /** @type {string | null} */ (null), stops: /** @type {(() => void)[]} */ ([]) };
  /** @type {Map<string, () => void>} operationId -> stop */
  const operations = new Map();
  let stopped = false;

  /** Follow the cluster ``clusterId`` (and those above it); '' for none. @param {string} clusterId */
  async function follow(clusterId) {
    if (watched.key === clusterId) return;
    for (const stop of watched.stops) stop();
    watched = { key: clusterId, stops: [] };
    if (!clusterId) return;
    const chain = [clusterId];
    try {
      const data = await gql(CLUSTERS);
      /** @type {Map<string, string | null>} */
      const parents = new Map(data.clusters.map((/** @type {any} */ c) => [c.id, c.parent ? c.parent.id : null]));
      for (let up = parents.get(clusterId); up && !chain.includes(up); up = parents.get(up)) chain.push(up);
    } catch {
      /* its own cluster at least */
    }
    if (stopped || watched.key !== clusterId) return;
    for (const c of chain) {
      watched.stops.push(
        live.subscribe(WRITES, { c }, {
          next: (data) => {
            const change = data.configChanged;
            if (!change.instance && change.operationId) watchOperation(change.operationId);
          },
        }),
      );
    }
  }

  /** @param {string} operationId */
  function watchOperation(operationId) {
    if (operations.has(operationId) || operations.size >= MAX_FOLLOWED) return;
    const done = () => {
      const stop = operations.get(operationId);
      operations.delete(operationId);
      if (stop) stop();
    };
    operations.set(
      operationId,
      live.subscribe(PROGRESS, { op: operationId }, {
        next: (data) => {
          const r = data.operationProgress;
          if (r.instance.id !== instanceId) return;
          // FAILED, SUPERSEDED, APPLIED, or PENDING (refused for now): the lists change.
          onDecided();
          if (r.delivery !== 'PENDING') queueMicrotask(done);
        },
        complete: () => operations.delete(operationId),
        error: () => operations.delete(operationId),
      }),
    );
  }

  return {
    follow,
    stop() {
      stopped = true;
      for (const stop of watched.stops) stop();
      for (const stop of operations.values()) stop();
      operations.clear();
    },
  };
}
