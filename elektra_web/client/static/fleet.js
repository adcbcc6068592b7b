// @ts-check
// The overview's data: every instance and cluster by id, read once and then
// kept up to date by fleetChanged events, each of which names the rows it
// changed (no full re-read per event).

/**
 * @typedef {object} Inst
 * @property {string} id
 * @property {string} name
 * @property {string} host
 * @property {string | null} description
 * @property {string} status ONLINE, OFFLINE, UNKNOWN
 * @property {string | null} lastSeen
 * @property {string | null} elektraVersion
 * @property {string | null} clusterId
 * @property {number} pending writes waiting for it
 * @property {number} failed writes it refused
 *
 * @typedef {object} Clu
 * @property {string} id
 * @property {string} name
 * @property {string | null} description
 * @property {string | null} parentId
 *
 * @typedef {object} Changed what an event changed, for the views to redraw
 * @property {Set<string>} instances instances changed, added or removed
 * @property {Set<string>} clusters clusters whose own row changed (name, members, counts), added or removed
 * @property {boolean} tree clusters were added, removed or moved (the parent choices change)
 * @property {boolean} members which instances are free changed (the member choices change)
 * @property {string[]} unapplied instances whose pending and failed counts are to be read again
 */

const INSTANCE = 'id name host description status lastSeen elektraVersion';

/** The overview's one read: everything, with the counts of writes not applied. */
export const OVERVIEW = `query Overview { instances { ...OverviewInstance } clusters { ...OverviewCluster } }
fragment OverviewInstance on Instance { ${INSTANCE} cluster { id } ...Unapplied }
fragment OverviewCluster on Cluster { id name description parent { id } }
fragment Unapplied on Instance { pending { operationId } failed { operationId } }`;

/** The changes, each with the changed row's new fields. */
export const FLEET = `subscription Fleet { fleetChanged {
  change instanceId clusterId previousClusterId parentId instanceIds
  instance { ${INSTANCE} } cluster { id name description }
} }`;

/** The counts of some rows, after a DELIVERIES event. */
export const UNAPPLIED = `query Unapplied($ids: [ID!]) { instances(ids: $ids) { id ...Unapplied } }
fragment Unapplied on Instance { pending { operationId } failed { operationId } }`;

/** @param {string} a @param {string} b */
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export class Fleet {
  constructor() {
    /** @type {Map<string, Inst>} */
    this.instances = new Map();
    /** @type {Map<string, Clu>} */
    this.clusters = new Map();
  }

  /** Replace everything with the answer of OVERVIEW. @param {any} data */
  load(data) {
    this.instances.clear();
    this.clusters.clear();
    for (const i of data.instances) {
      this.instances.set(i.id, {
        ...pick(i),
        clusterId: i.cluster ? i.cluster.id : null,
        pending: i.pending.length,
        failed: i.failed.length,
      });
    }
    for (const c of data.clusters) {
      this.clusters.set(c.id, { id: c.id, name: c.name, description: c.description, parentId: c.parent ? c.parent.id : null });
    }
  }

  /**
   * Apply one fleetChanged event.
   * @param {any} event
   * @returns {Changed}
   */
  apply(event) {
    /** @type {Changed} */
    const changed = { instances: new Set(), clusters: new Set(), tree: false, members: false, unapplied: [] };
    const { change } = event;
    if (change === 'DELIVERIES') {
      changed.unapplied = event.clusterId ? this.membersBelow(event.clusterId) : [...event.instanceIds];
      return changed;
    }
    if (change.startsWith('INSTANCE_')) {
      const id = event.instanceId;
      const before = this.instances.get(id);
      if (before && before.clusterId) changed.clusters.add(before.clusterId);
      if (change === 'INSTANCE_REMOVED') {
        this.instances.delete(id);
      } else if (change === 'INSTANCE_STATUS' && before) {
        // A health check's event is about the status: the rest of its row was
        // read up to a second earlier, before a membership change maybe.
        const { status, lastSeen, elektraVersion } = pick(event.instance);
        this.instances.set(id, { ...before, status, lastSeen, elektraVersion });
      } else {
        this.instances.set(id, {
          pending: 0,
          failed: 0,
          ...before,
          ...pick(event.instance),
          clusterId: event.clusterId,
        });
        if (event.clusterId) changed.clusters.add(event.clusterId);
        if (!before) changed.unapplied = [id];
      }
      changed.instances.add(id);
      changed.members = change !== 'INSTANCE_STATUS';
      return changed;
    }
    const id = event.clusterId;
    const before = this.clusters.get(id);
    changed.clusters.add(id);
    changed.tree = true;
    if (change === 'CLUSTER_REMOVED') {
      this.clusters.delete(id);
      // Its members are in no cluster now (one event for all of them).
      for (const inst of this.instances.values()) {
        if (inst.clusterId === id) {
          inst.clusterId = null;
          changed.instances.add(inst.id);
          changed.members = true;
        }
      }
    } else {
      const c = event.cluster;
      this.clusters.set(id, { id, name: c.name, description: c.description, parentId: event.parentId });
      // Its members' rows name it.
      if (before && before.name !== c.name) for (const m of this.members(id)) changed.instances.add(m.id);
    }
    return changed;
  }

  /** New counts of writes not applied. @param {any[]} rows @returns {Set<string>} the clusters whose counts changed */
  setUnapplied(rows) {
    const clusters = new Set();
    for (const row of rows) {
      const inst = this.instances.get(row.id);
      if (!inst) continue;
      inst.pending = row.pending.length;
      inst.failed = row.failed.length;
      if (inst.clusterId) clusters.add(inst.clusterId);
    }
    return clusters;
  }

  /** @returns {Inst[]} by name */
  sortedInstances() {
    return [...this.instances.values()].sort((a, b) => byName(a.name, b.name));
  }

  /** @param {string} id @returns {Inst[]} its direct members, by name */
  members(id) {
    return [...this.instances.values()].filter((i) => i.clusterId === id).sort((a, b) => byName(a.name, b.name));
  }

  /** @param {string | null} parentId @returns {Clu[]} the clusters directly in it (null: top level), by name */
  children(parentId) {
    return [...this.clusters.values()].filter((c) => c.parentId === parentId).sort((a, b) => byName(a.name, b.name));
  }

  /** @param {string} id @returns {Set<string>} the cluster and every cluster nested in it */
  subtree(id) {
    const below = new Set([id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const c of this.clusters.values()) {
        if (c.parentId && below.has(c.parentId) && !below.has(c.id)) {
          below.add(c.id);
          grew = true;
        }
      }
    }
    return below;
  }

  /** @param {string} id @returns {string[]} the members of the cluster and of the clusters nested in it */
  membersBelow(id) {
    const below = this.subtree(id);
    return [...this.instances.values()].filter((i) => i.clusterId && below.has(i.clusterId)).map((i) => i.id);
  }
}

/** @param {any} i */
function pick(i) {
  return {
    id: i.id,
    name: i.name,
    host: i.host,
    description: i.description,
    status: i.status,
    lastSeen: i.lastSeen,
    elektraVersion: i.elektraVersion,
  };
}
