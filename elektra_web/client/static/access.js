// The "Access" page (admins only): API tokens (create, with an optional expiry
// and the secret shown once; rotate, with a grace period for the old secret;
// revoke) and the audit log (newest first, paged, filtered).

import { gql } from './api.js';
import { h, replace, ago, errorBox, showError } from './dom.js';
import { describe } from './errors.js';
import { ROLES } from './auth.js';

const TOKEN_FIELDS = 'id name role prefix createdAt createdBy lastUsedAt revokedAt revokedBy expiresAt expired rotatedFrom';
const PAGE = 50;
const ROLE_HINTS = {
  VIEWER: 'viewer: reads everything',
  EDITOR: 'editor: also writes configuration',
  ADMIN: 'admin: also instances, clusters, tokens',
};
const DAY = 86400;
// createToken's expiresIn: the choices offered ('' = never).
const EXPIRIES = [
  ['', 'never'],
  [String(DAY), 'in 1 day'],
  [String(7 * DAY), 'in 7 days'],
  [String(30 * DAY), 'in 30 days'],
  [String(90 * DAY), 'in 90 days'],
  [String(365 * DAY), 'in 1 year'],
];
const UNITS = { s: 1, m: 60, h: 3600, d: DAY, w: 7 * DAY };

/** Seconds in "90m", "1h", "2d", "45" (seconds); null if it is not a duration. */
function seconds(text) {
  const match = /^\s*(\d{1,9})\s*([smhdw]?)\s*$/i.exec(text);
  return match ? Number(match[1]) * UNITS[(match[2] || 's').toLowerCase()] : null;
}
// The mutations clusterd records, offered as the action filter's suggestions.
const ACTIONS = [
  'addInstance', 'updateInstance', 'removeInstance', 'createCluster', 'updateCluster',
  'deleteCluster', 'assignInstance', 'unassignInstance', 'setKey', 'deleteKey', 'moveKey',
  'copyKey', 'setMeta', 'deleteMeta', 'resolveDrift', 'createToken', 'revokeToken',
  'rotateToken',
];

/** "2026-11-27 02:15" (with ``seconds``: "02:15:07") in local time. */
function when(iso, seconds = false) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? ':' + pad(d.getSeconds()) : ''}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** Arguments without the nulls (options left at their defaults), for a compact line. */
function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = withoutNulls(v);
    return out;
  }
  return value;
}

function time(iso, text) {
  return iso ? h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, text || when(iso)) : null;
}

/** A table that scrolls sideways inside its own box (never the page). */
function scrollBox(label, table) {
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);
}

/** Copy to the clipboard; without one (no permission, plain http), select the text to copy by hand. */
async function copy(text, element, status) {
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
}

export function mountAccess(main, app) {
  const me = app.me || {};
  if (me.known && !app.canManage()) {
    main.replaceChildren(
      h(
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
      ),
    );
    return { destroy() {} };
  }

  let destroyed = false;
  let tokens = [];
  let ownTokenId = null; // the token this page is signed in with (me.tokenId)
  const isOwn = (token) => ownTokenId !== null && String(ownTokenId) === String(token.id);

  // -- tokens ---------------------------------------------------------------------

  const tokensList = h('div', { id: 'tokens-list' }, h('p', { class: 'loading' }, 'Loading…'));
  const tokensError = errorBox();
  const secretSlot = h('div', { id: 'secret-slot' });

  const nameInput = h('input', {
    id: 'token-name',
    name: 'name',
    required: true,
    autocomplete: 'off',
    maxlength: '200',
    placeholder: 'alice, deploy bot, …',
  });
  const roleSelect = h(
    'select',
    { id: 'token-role', name: 'role' },
    ROLES.map((role) => h('option', { value: role, selected: role === 'VIEWER' }, ROLE_HINTS[role])),
  );
  const expirySelect = h(
    'select',
    { id: 'token-expiry', name: 'expiry' },
    EXPIRIES.map(([value, label]) => h('option', { value }, label)),
  );
  const createError = errorBox();
  const createForm = h(
    'form',
    { class: 'create-token', 'aria-labelledby': 'create-token-title' },
    h('h3', { id: 'create-token-title' }, 'Create a token'),
    h(
      'div',
      { class: 'token-fields' },
      h('div', { class: 'field' }, h('label', { for: 'token-name' }, 'Name'), nameInput),
      h('div', { class: 'field' }, h('label', { for: 'token-role' }, 'Role'), roleSelect),
      h('div', { class: 'field' }, h('label', { for: 'token-expiry' }, 'Expires'), expirySelect),
      h('button', { type: 'submit' }, 'Create token'),
    ),
    createError,
  );
  createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(createError, '');
    const button = createForm.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const data = await gql(
        `mutation($input: CreateTokenInput!) { createToken(input: $input) { secret token { ${TOKEN_FIELDS} } } }`,
        {
          input: {
            name: nameInput.value.trim(),
            role: roleSelect.value,
            expiresIn: expirySelect.value ? Number(expirySelect.value) : null,
          },
        },
      );
      createForm.reset();
      showSecret(data.createToken.token, data.createToken.secret);
      await Promise.all([loadTokens(), loadAudit()]);
    } catch (e) {
      showError(createError, describe(e));
      nameInput.focus();
    } finally {
      button.disabled = false;
    }
  });

  function showSecret(token, secret, rotated = false) {
    const link = `${location.origin}/#token=${encodeURIComponent(secret)}`;
    const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const secretCode = h('code', { class: 'secret', id: 'new-secret' }, secret);
    const linkCode = h('code', { class: 'secret', id: 'new-link' }, link);
    const box = h(
      'div',
      { class: 'secret-box', role: 'region', 'aria-labelledby': 'secret-title', tabindex: '-1' },
      h('h3', { id: 'secret-title' }, `${rotated ? 'New secret' : 'Secret'} of “${token.name}” (${token.role.toLowerCase()})`),
      token.expiresAt ? h('p', { class: 'hint' }, 'It expires ', time(token.expiresAt), '.') : null,
      h('p', { class: 'warning' }, 'Copy it now: it will not be shown again. Only its first characters are kept.'),
      h(
        'div',
        { class: 'secret-line' },
        secretCode,
        h('button', { type: 'button', class: 'small', onclick: () => copy(secret, secretCode, status) }, 'Copy'),
      ),
      h('p', { class: 'label' }, 'Sign-in link (opens Elektra Web signed in with this token):'),
      h(
        'div',
        { class: 'secret-line' },
        linkCode,
        h('button', { type: 'button', class: 'small quiet', onclick: () => copy(link, linkCode, status) }, 'Copy link'),
      ),
      h(
        'div',
        { class: 'buttons' },
        status,
        h('button', { type: 'button', class: 'small quiet', onclick: () => replace(secretSlot) }, 'Done, hide it'),
      ),
    );
    replace(secretSlot, box);
    box.focus();
  }

  async function revoke(token, box) {
    const own = isOwn(token);
    const question = own
      ? `Revoke “${token.name}”? This is the token you are signed in with: you will be signed out at once.`
      : `Revoke “${token.name}” (${token.role.toLowerCase()})? It is refused from now on and its live connections are closed.`;
    if (!window.confirm(question)) return;
    showError(box, '');
    try {
      await gql(`mutation($id: ID!) { revokeToken(id: $id) { id } }`, { id: token.id });
      if (own) return; // the next request is refused: the sign-in form follows
      await Promise.all([loadTokens(), loadAudit()]);
    } catch (e) {
      if (e.code === 'UNAUTHENTICATED') return;
      showError(box, describe(e));
    }
  }

  async function rotate(token, box) {
    const own = isOwn(token);
    const answer = window.prompt(
      `Rotate “${token.name}”: a new secret, shown once. How long may the old secret still be used, ` +
        `to hand the new one over? (e.g. 0, 90m, 1h, 2d)` +
        (own ? ' This is the token you are signed in with: sign in with the new secret before the old one ends.' : ''),
      '1h',
    );
    if (answer === null) return;
    const grace = seconds(answer);
    showError(box, '');
    if (grace === null) {
      showError(box, `Not a duration: “${answer}” (a number and s, m, h, d or w, e.g. 1h).`);
      return;
    }
    try {
      const data = await gql(
        `mutation($id: ID!, $grace: Int!) { rotateToken(id: $id, gracePeriod: $grace) { secret token { ${TOKEN_FIELDS} } } }`,
        { id: token.id, grace },
      );
      showSecret(data.rotateToken.token, data.rotateToken.secret, true);
      await Promise.all([loadTokens(), loadAudit()]);
    } catch (e) {
      if (e.code === 'UNAUTHENTICATED') return;
      showError(box, describe(e));
    }
  }

  function status(t) {
    if (t.revokedAt) return h('span', { class: 'revoked' }, 'revoked ', time(t.revokedAt), t.revokedBy ? ` by ${t.revokedBy}` : '');
    if (t.expired) return h('span', { class: 'revoked expired' }, 'expired ', time(t.expiresAt));
    const active = h('span', { class: 'badge active' }, 'active');
    return t.expiresAt ? h('span', {}, active, h('span', { class: 'expires' }, 'expires ', time(t.expiresAt))) : active;
  }

  function renderTokens() {
    if (!tokens.length) {
      replace(tokensList, h('p', { class: 'empty' }, 'No tokens.'));
      return;
    }
    const rows = tokens.map((t) => {
      const box = errorBox();
      const own = isOwn(t);
      const ended = Boolean(t.revokedAt || t.expired);
      return h(
        'tr',
        { class: ended ? 'token revoked-row' : 'token', dataset: { id: t.id, name: t.name } },
        h('td', { class: 'name' }, t.name, own ? h('span', { class: 'badge you' }, 'you') : null),
        h('td', {}, h('span', { class: `badge role-${t.role.toLowerCase()}` }, t.role.toLowerCase())),
        h('td', {}, h('code', {}, `${t.prefix}…`)),
        h('td', { class: 'nowrap' }, time(t.createdAt)),
        h('td', { class: 'wrap' }, t.createdBy),
        h('td', { class: 'nowrap' }, t.lastUsedAt ? time(t.lastUsedAt, ago(t.lastUsedAt)) : h('span', { class: 'muted' }, 'never')),
        h('td', { class: 'status' }, status(t)),
        h(
          'td',
          // Not .actions: that class is a flex box (the key details), which a
          // table cell must not be.
          { class: 'token-actions' },
          h(
            'div',
            { class: 'row-actions' },
            ended
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'quiet small',
                    'aria-label': `Rotate ${t.name}`,
                    onclick: () => rotate(t, box),
                  },
                  'Rotate',
                ),
            t.revokedAt
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'quiet small danger-text',
                    'aria-label': `Revoke ${t.name}`,
                    onclick: () => revoke(t, box),
                  },
                  'Revoke',
                ),
          ),
          box,
        ),
      );
    });
    replace(
      tokensList,
      scrollBox(
        'Tokens',
        h(
          'table',
          { class: 'grid tokens' },
          h(
            'thead',
            {},
            h('tr', {}, ['Name', 'Role', 'Prefix', 'Created', 'Created by', 'Last used', 'Status', ''].map((c) => h('th', { scope: 'col' }, c))),
          ),
          h('tbody', {}, rows),
        ),
      ),
    );
  }

  async function loadTokens() {
    try {
      const data = await gql(`{ me { tokenId } tokens { ${TOKEN_FIELDS} } }`);
      if (destroyed) return;
      tokens = data.tokens;
      ownTokenId = data.me.tokenId ?? null;
      showError(tokensError, '');
      renderTokens();
      // Actors are recorded as "NAME (token ID)".
      replace(actorNames, tokens.map((t) => h('option', { value: `${t.name} (token ${t.id})` })));
    } catch (e) {
      if (e.code === 'UNAUTHENTICATED' || destroyed) return;
      replace(tokensList);
      showError(tokensError, `Could not load the tokens. ${describe(e)}`);
    }
  }

  // -- audit log --------------------------------------------------------------------

  const auditList = h('div', { id: 'audit-list' }, h('p', { class: 'loading' }, 'Loading…'));
  const auditError = errorBox();
  const actorNames = h('datalist', { id: 'audit-actors' });
  const actorInput = h('input', { id: 'audit-actor', name: 'actor', autocomplete: 'off', list: 'audit-actors', placeholder: 'anyone' });
  const actionInput = h('input', {
    id: 'audit-action',
    name: 'action',
    autocomplete: 'off',
    spellcheck: 'false',
    list: 'audit-actions',
    placeholder: 'any, e.g. setKey',
  });
  const filterForm = h(
    'form',
    { class: 'audit-filter', 'aria-label': 'Filter the audit log' },
    h('div', { class: 'field' }, h('label', { for: 'audit-actor' }, 'Actor (exact)'), actorInput, actorNames),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'audit-action' }, 'Action (exact)'),
      actionInput,
      h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
    ),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit' }, 'Filter'),
      h(
        'button',
        {
          type: 'button',
          class: 'quiet',
          onclick: () => {
            filterForm.reset();
            loadAudit();
          },
        },
        'Clear',
      ),
    ),
  );
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    loadAudit();
  });
  const olderButton = h('button', { type: 'button', class: 'quiet', id: 'audit-older', hidden: true, onclick: () => loadAudit(true) }, 'Older');
  const auditEnd = h('p', { class: 'hint', id: 'audit-end', hidden: true }, 'No older entries.');
  let entries = [];
  let auditBody = null;
  let auditSeq = 0;

  function entryRow(e) {
    const ok = e.outcome === 'OK';
    let args = '';
    let full = '';
    try {
      args = JSON.stringify(withoutNulls(e.arguments));
      full = JSON.stringify(e.arguments, null, 1);
    } catch {
      args = String(e.arguments);
    }
    if (args === '{}' || args === 'null') args = '';
    return h(
      'tr',
      { class: 'entry', dataset: { id: e.id, action: e.action, outcome: e.outcome } },
      h('td', { class: 'nowrap' }, time(e.at, when(e.at, true))),
      h('td', { class: 'actor' }, e.actor),
      h('td', { class: 'action' }, h('code', {}, e.action)),
      h('td', {}, h('span', { class: ok ? 'badge outcome ok' : 'badge outcome refused' }, ok ? 'OK' : e.outcome)),
      h('td', { class: 'arguments' }, args ? h('code', { title: full }, args) : h('span', { class: 'muted' }, '—')),
    );
  }

  function renderAudit() {
    if (!entries.length) {
      auditBody = null;
      replace(auditList, h('p', { class: 'empty' }, actorInput.value || actionInput.value ? 'No entries match.' : 'Nothing recorded yet.'));
      return;
    }
    auditBody = h('tbody', {}, entries.map(entryRow));
    replace(
      auditList,
      scrollBox(
        'Audit log',
        h(
          'table',
          { class: 'grid audit' },
          h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Outcome', 'Arguments'].map((c) => h('th', { scope: 'col' }, c)))),
          auditBody,
        ),
      ),
    );
  }

  /** The newest page (``older``: the page before the last entry shown, appended). */
  async function loadAudit(older = false) {
    const seq = ++auditSeq;
    showError(auditError, '');
    olderButton.disabled = true;
    const before = older && entries.length ? entries[entries.length - 1].id : null;
    try {
      const data = await gql(
        `query($first: Int!, $before: ID, $actor: String, $action: String) {
          auditLog(first: $first, before: $before, actor: $actor, action: $action) { id at actor action arguments outcome }
        }`,
        { first: PAGE, before, actor: actorInput.value.trim() || null, action: actionInput.value.trim() || null },
      );
      if (destroyed || seq !== auditSeq) return;
      const page = data.auditLog;
      if (older && auditBody) {
        entries = entries.concat(page);
        for (const e of page) auditBody.append(entryRow(e));
      } else {
        entries = page;
        renderAudit();
      }
      olderButton.hidden = page.length < PAGE;
      auditEnd.hidden = !(older && page.length < PAGE);
      if (older && page.length) auditBody.querySelector(`tr[data-id="${CSS.escape(page[0].id)}"]`)?.scrollIntoView({ block: 'nearest' });
      if (older && !page.length) olderButton.focus();
    } catch (e) {
      if (e.code === 'UNAUTHENTICATED' || destroyed) return;
      showError(auditError, `Could not load the audit log. ${describe(e)}`);
    } finally {
      olderButton.disabled = false;
    }
  }

  main.replaceChildren(
    h(
      'div',
      { class: 'access' },
      h('h1', { id: 'access-title' }, 'Access'),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'tokens-title' },
        h('h2', { id: 'tokens-title' }, 'API tokens'),
        tokensError,
        tokensList,
        createForm,
        secretSlot,
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'audit-title' },
        h(
          'div',
          { class: 'panel-head' },
          h('h2', { id: 'audit-title' }, 'Audit log'),
          h('button', { type: 'button', class: 'quiet small', onclick: () => loadAudit() }, 'Refresh'),
        ),
        h('p', { class: 'hint' }, 'Every change asked of clusterd, newest first; secrets are left out.'),
        filterForm,
        auditError,
        auditList,
        h('div', { class: 'buttons audit-more' }, olderButton, auditEnd),
      ),
    ),
  );

  loadTokens();
  loadAudit();
  const stop = app.onReconnect(() => {
    loadTokens();
    loadAudit();
  });
  return {
    destroy() {
      destroyed = true;
      stop();
    },
  };
}
