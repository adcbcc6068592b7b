// @ts-check
// The preview before a cluster write: the write is sent once with dryRun, and
// its plan per member is shown — "This changes N members; M would refuse: …"
// with why (a lock, a member's check/* validation, a broken mount), and who
// would wait (offline). The person then writes ("Write to N members", or
// "Write anyway", which forces past the refusals) or cancels. Rollback and
// import show the same summary in their own dry-run previews.

import { h } from './dom.js';

/** The fields of a MemberPlan. */
export const MEMBER_PLAN = `instance { id name status } outcome reason error
  changes { path before { value meta { key value } } after { value meta { key value } } }`;

/** Said for each PlanReason. */
const REASONS = {
  LOCKED: 'locked',
  VALIDATION: 'its check/* rules refuse it',
  BROKEN_MOUNT: 'a broken mounted file',
  OFFLINE: 'offline',
  NOT_FOUND: 'not found',
  OTHER: 'refused',
};

/**
 * @typedef {object} MemberPlan
 * @property {{id: string, name: string, status?: string}} instance
 * @property {'APPLY' | 'UNCHANGED' | 'REFUSE' | 'WAIT'} outcome
 * @property {string | null} reason
 * @property {string | null} error
 * @property {import('./import-plan.js').KeyChange[]} changes
 */

/** The members that would refuse. @param {MemberPlan[]} members */
export function wouldRefuse(members) {
  return members.filter((m) => m.outcome === 'REFUSE');
}

/**
 * The members' plans of several writes as one: per member, the first refusal,
 * else the first wait, else a change, else unchanged.
 * @param {MemberPlan[][]} plans
 * @returns {MemberPlan[]}
 */
export function mergePlans(plans) {
  const rank = { REFUSE: 3, WAIT: 2, APPLY: 1, UNCHANGED: 0 };
  /** @type {Map<string, MemberPlan>} */
  const merged = new Map();
  for (const plan of plans) {
    for (const m of plan) {
      const seen = merged.get(m.instance.id);
      if (!seen) merged.set(m.instance.id, { ...m, changes: [...m.changes] });
      else {
        const changes = [...seen.changes, ...m.changes];
        merged.set(m.instance.id, rank[m.outcome] > rank[seen.outcome] ? { ...m, changes } : { ...seen, changes });
      }
    }
  }
  return [...merged.values()];
}

/** Why a member would refuse or wait, in a few words. @param {MemberPlan} m */
export function why(m) {
  const reason = m.reason ? REASONS[/** @type {keyof REASONS} */ (m.reason)] || m.reason.toLowerCase() : '';
  if (reason && m.error) return `${reason}: ${m.error}`;
  return reason || m.error || '';
}

/** @param {number} n @param {string} one @param {string} [many] */
function count(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * "This changes N members; M would refuse: …", the refusals and waits listed.
 * @param {MemberPlan[]} members
 * @returns {HTMLElement}
 */
export function memberSummary(members) {
  const applying = members.filter((m) => m.outcome === 'APPLY');
  const unchanged = members.filter((m) => m.outcome === 'UNCHANGED');
  const refusing = wouldRefuse(members);
  const waiting = members.filter((m) => m.outcome === 'WAIT');
  const line = [`This changes ${count(applying.length, 'member')}`];
  if (unchanged.length) line.push(`${unchanged.length} already ${unchanged.length === 1 ? 'holds' : 'hold'} it`);
  if (waiting.length) line.push(`${waiting.length} would wait`);
  if (refusing.length) line.push(`${refusing.length} would refuse`);
  /** @param {MemberPlan} m @param {string} kind */
  const item = (m, kind) =>
    h(
      'li',
      { class: `member-plan ${kind}`, dataset: { instance: m.instance.id, outcome: m.outcome } },
      h('span', { class: 'badge' }, kind === 'refuse' ? 'would refuse' : 'would wait'),
      ' ',
      h('strong', {}, m.instance.name),
      why(m) ? h('span', { class: kind === 'refuse' ? 'reason' : 'muted' }, ` — ${why(m)}`) : null,
    );
  return h(
    'div',
    { class: `preview-summary${refusing.length ? ' has-refusals' : ''}` },
    h('p', { class: 'preview-line' }, line.join('; '), refusing.length ? ':' : '.'),
    refusing.length || waiting.length
      ? h('ul', { class: 'member-plans' }, refusing.map((m) => item(m, 'refuse')), waiting.map((m) => item(m, 'wait')))
      : null,
    refusing.length
      ? h('p', { class: 'hint' }, 'Writing anyway stores it for every member; those that refuse keep their value and list it as not applied.')
      : null,
  );
}
