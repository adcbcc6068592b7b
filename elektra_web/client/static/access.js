// @ts-check
// The "Access" page (admins only): API tokens (create, with an optional expiry
// and the secret shown once; rotate, with a grace period for the old secret;
// revoke: access-tokens.js) and the audit log (newest first, paged, filtered:
// access-audit.js).

import { h } from './dom.js';
import { tokensPanel } from './access-tokens.js';
import { auditPanel } from './access-audit.js';

/** What a signed-in caller who is no admin sees. @param {{name: string, role: string}} me */
function onlyAdmins(me) {
  return h(
    'section',
    { class: 'panel only-admins', 'aria-labelledby': 'access-title' },
    h('h1', { id: 'access-title' }, 'Access'),
    h(
      'p',
      {},
      'Only admins can manage tokens and read the audit log. You are signed in as ',
      h('strong', {}, me.name),
      ` (${me.role.toLowerCase()}).`,
    ),
    h('p', {}, h('a', { href: '#/' }, 'Back to the overview')),
  );
}

/**
 * @param {HTMLElement} main
 * @param {any} app
 */
export function mountAccess(main, app) {
  const me = app.me || {};
  if (me.known && !app.canManage()) {
    main.replaceChildren(onlyAdmins(me));
    return { destroy() {} };
  }
  const audit = auditPanel();
  const tokens = tokensPanel({ onChanged: () => audit.load(), onActors: (list) => audit.setActors(list) });
  main.replaceChildren(h('div', { class: 'access' }, h('h1', { id: 'access-title' }, 'Access'), tokens.el, audit.el));
  tokens.load();
  audit.load();
  const stop = app.onReconnect(() => {
    tokens.load();
    audit.load();
  });
  return {
    destroy() {
      tokens.destroy();
      audit.destroy();
      stop();
    },
  };
}
