// @ts-check
// What an instance's or a cluster's page hears live: changes of its keys,
// instance status, drift, and a reconnection after which it reads again.

const CONFIG_CHANGED = `subscription($instanceId: ID, $clusterId: ID) {
  configChanged(instanceId: $instanceId, clusterId: $clusterId) { op path value origin instance { id } cluster { id } } }`;
const STATUS_CHANGED = 'subscription($id: ID) { instanceStatusChanged(instanceId: $id) { id status lastSeen } }';
const DRIFT_CHANGED = 'subscription($i: ID, $c: ID) { driftChanged(instanceId: $i, clusterId: $c) { path resolved } }';

/**
 * @typedef {object} TargetEvents
 * @property {(change: any) => void} configChanged a key changed (on a cluster's page: or a delivery to a member)
 * @property {(instance: {id: string, status: string, lastSeen: string}) => void} statusChanged
 * @property {() => void} driftChanged
 * @property {() => any} reconnected
 */

/**
 * Subscribe; returns the functions that stop it.
 * @param {any} app
 * @param {import('./undo.js').Target} target
 * @param {TargetEvents} on
 * @returns {(() => void)[]}
 */
export function followTarget(app, { kind, id }, on) {
  const instanceId = kind === 'instance' ? id : null;
  const clusterId = kind === 'cluster' ? id : null;
  return [
    app.live.subscribe(CONFIG_CHANGED, { instanceId, clusterId }, {
      next: (/** @type {any} */ data) => on.configChanged(data.configChanged),
    }),
    app.live.subscribe(STATUS_CHANGED, { id: instanceId }, {
      next: (/** @type {any} */ data) => on.statusChanged(data.instanceStatusChanged),
    }),
    app.live.subscribe(DRIFT_CHANGED, { i: instanceId, c: clusterId }, { next: () => on.driftChanged() }),
    app.onReconnect(on.reconnected),
  ];
}
