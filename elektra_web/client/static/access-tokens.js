// @ts-check
// The Access page's API tokens: the list (rotate, revoke), the form that
// creates one, and the secret shown once.

import { gql } from './api.js';
import { h, replace, ago, errorBox, showError, guardSubmit, guardButton } from './dom.js';
import { describe } from './errors.js';
import { ROLES } from './auth.js';
import { DAY, seconds, time, stackTable } from './access-format.js';

const TOKEN = 'fragment Token on Token { id name role prefix createdAt createdBy lastUsedAt revokedAt revokedBy expiresAt expired rotatedFrom }';
const TOKENS = `{ me { tokenId } tokens { ...Token } } ${TOKEN}`;
const CREATE = `mutation($input: CreateTokenInput!) { createToken(input: $input) { secret token { ...Token } } } ${TOKEN}`;
const ROTATE = `mutation($id: ID!, $grace: Int!) { rotateToken(id: $id, gracePeriod: $grace) { secret token { ...Token } } } ${TOKEN}`;
const REVOKE = 'mutation($id: ID!) { revokeToken(id: $id) { id } }';
const COLUMNS = ['Name', 'Role', 'Prefix', 'Created', 'Created by', 'Last used', 'Status', ''];

const ROLE_HINTS = {
  VIEWER: 'viewer: reads everything',
  EDITOR: 'editor: also writes configuration',
  ADMIN: 'admin: also instances, clusters, tokens',
};
// createToken's expiresIn: the choices offered ('' = never).
const EXPIRIES = [
  ['', 'never'],
  [String(DAY), 'in 1 day'],
  [String(7 * DAY), 'in 7 days'],
  [String(30 * DAY), 'in 30 days'],
  [String(90 * DAY), 'in 90 days'],
  [String(365 * DAY), 'in 1 year'],
];

/**
 * @typedef {object} Token
 * @property {string} id
 * @property {string} name
 * @property {string} role
 * @property {string} prefix
 * @property {string} createdAt
 * @property {string} createdBy
 * @property {string | null} lastUsedAt
 * @property {string | null} revokedAt
 * @property {string | null} revokedBy
 * @property {string | null} expiresAt
 * @property {boolean} expired
 */

/** Copy to the clipboard; without one (no permission, plain http), select the text to copy by hand. @param {string} text @param {Element} element @param {HTMLElement} status */
async function copy(text, element, status) {
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    if (selection) {
      selection.removeAllRanges();
      selection.addRange(range);
    }
    status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
}

/** The secret of a new or rotated token, shown once. @param {Token} token @param {string} secret @param {boolean} rotated */
function secretBox(token, secret, rotated, onDone) {
  const link = `${location.origin}/#token=${encodeURIComponent(secret)}`;
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const secretCode = h('code', { class: 'secret', id: 'new-secret' }, secret);
  const linkCode = h('code', { class: 'secret', id: 'new-link' }, link);
  return h(
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
    h('div', { class: 'buttons' }, status, h('button', { type: 'button', class: 'small quiet', onclick: onDone }, 'Done, hide it')),
  );
}

/** A token's state: revoked, expired, active (until). @param {Token} t */
function tokenStatus(t) {
  if (t.revokedAt) return h('span', { class: 'revoked' }, 'revoked ', time(t.revokedAt), t.revokedBy ? ` by ${t.revokedBy}` : '');
  if (t.expired) return h('span', { class: 'revoked expired' }, 'expired ', time(t.expiresAt));
  const active = h('span', { class: 'badge active' }, 'active');
  return t.expiresAt ? h('span', {}, active, h('span', { class: 'expires' }, 'expires ', time(t.expiresAt))) : active;
}

/**
 * The tokens panel's parts.
 * @param {{onChanged: () => any, onActors: (tokens: Token[]) => void}} hooks
 *   onChanged: after a write (the audit log has a new entry); onActors: the tokens were read
 */
export function tokensPanel({ onChanged, onActors }) {
  let destroyed = false;
  /** @type {Token[]} */
  let tokens = [];
  /** @type {string | null} the token this page is signed in with (me.tokenId) */
  let ownTokenId = null;
  const isOwn = (/** @type {Token} */ token) => ownTokenId !== null && String(ownTokenId) === String(token.id);

  const list = h('div', { id: 'tokens-list' }, h('p', { class: 'loading' }, 'Loading…'));
  const error = errorBox();
  const secretSlot = h('div', { id: 'secret-slot' });

  /** @param {Token} token @param {string} secret */
  function showSecret(token, secret, rotated = false) {
    const box = secretBox(token, secret, rotated, () => replace(secretSlot));
    replace(secretSlot, box);
    box.focus();
  }

  // -- create ------------------------------------------------------------------------
  const nameInput = /** @type {HTMLInputElement} */ (
    h('input', { id: 'token-name', name: 'name', required: true, autocomplete: 'off', maxlength: '200', placeholder: 'alice, deploy bot, …' })
  );
  const roleSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'token-role', name: 'role' },
      ROLES.map((/** @type {string} */ role) =>
        h('option', { value: role, selected: role === 'VIEWER' }, ROLE_HINTS[/** @type {keyof ROLE_HINTS} */ (role)]),
      ),
    )
  );
  const expirySelect = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'token-expiry', name: 'expiry' }, EXPIRIES.map(([value, label]) => h('option', { value }, label)))
  );
  const createError = errorBox();
  const createForm = /** @type {HTMLFormElement} */ (
    h(
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
    )
  );
  guardSubmit(
    createForm,
    async () => {
      const data = await gql(CREATE, {
        input: {
          name: nameInput.value.trim(),
          role: roleSelect.value,
          expiresIn: expirySelect.value ? Number(expirySelect.value) : null,
        },
      });
      showSecret(data.createToken.token, data.createToken.secret);
      await Promise.all([load(), onChanged()]);
    },
    { box: createError, reset: true, onError: () => nameInput.focus() },
  );

  // -- revoke, rotate ------------------------------------------------------------------
  /** @param {Token} token */
  async function revoke(token) {
    const own = isOwn(token);
    const question = own
      ? `Revoke “${token.name}”? This is the token you are signed in with: you will be signed out at once.`
      : `Revoke “${token.name}” (${token.role.toLowerCase()})? It is refused from now on and its live connections are closed.`;
    if (!window.confirm(question)) return;
    try {
      await gql(REVOKE, { id: token.id });
    } catch (e) {
      if (/** @type {any} */ (e).code === 'UNAUTHENTICATED') return;
      throw e;
    }
    if (own) return; // the next request is refused: the sign-in form follows
    await Promise.all([load(), onChanged()]);
  }

  /** @param {Token} token */
  async function rotate(token) {
    const own = isOwn(token);
    const answer = window.prompt(
      `Rotate “${token.name}”: a new secret, shown once. How long may the old secret still be used, ` +
        `to hand the new one over? (e.g. 0, 90m, 1h, 2d)` +
        (own ? ' This is the token you are signed in with: sign in with the new secret before the old one ends.' : ''),
      '1h',
    );
    if (answer === null) return;
    const grace = seconds(answer);
    if (grace === null) {
      throw Object.assign(new Error(`Not a duration: “${answer}” (a number and s, m, h, d or w, e.g. 1h).`), { code: '' });
    }
    let data;
    try {
      data = await gql(ROTATE, { id: token.id, grace });
    } catch (e) {
      if (/** @type {any} */ (e).code === 'UNAUTHENTICATED') return;
      throw e;
    }
    showSecret(data.rotateToken.token, data.rotateToken.secret, true);
    await Promise.all([load(), onChanged()]);
  }

  /** One token's row. @param {Token} t */
  function row(t) {
    const box = errorBox();
    const own = isOwn(t);
    const ended = Boolean(t.revokedAt || t.expired);
    const actions = h('div', { class: 'row-actions' });
    /** @param {string} text @param {string} className @param {() => Promise<void>} action */
    const button = (text, className, action) => {
      const b = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: className, 'aria-label': `${text} ${t.name}` }, text));
      guardButton(b, action, { box, root: actions });
      actions.append(b);
    };
    if (!ended) button('Rotate', 'quiet small', () => rotate(t));
    if (!t.revokedAt) button('Revoke', 'quiet small danger-text', () => revoke(t));
    return h(
      'tr',
      { class: ended ? 'token revoked-row' : 'token', dataset: { id: t.id, name: t.name } },
      h('td', { class: 'name' }, t.name, own ? h('span', { class: 'badge you' }, 'you') : null),
      h('td', {}, h('span', { class: `badge role-${t.role.toLowerCase()}` }, t.role.toLowerCase())),
      h('td', {}, h('code', {}, `${t.prefix}…`)),
      h('td', { class: 'nowrap' }, time(t.createdAt)),
      h('td', { class: 'wrap' }, t.createdBy),
      h('td', { class: 'nowrap' }, t.lastUsedAt ? time(t.lastUsedAt, ago(t.lastUsedAt)) : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'status' }, tokenStatus(t)),
      // Not .actions: that class is a flex box (the key details), which a
      // table cell must not be.
      h('td', { class: 'token-actions' }, actions, box),
    );
  }

  function render() {
    if (!tokens.length) replace(list, h('p', { class: 'empty' }, 'No tokens.'));
    else replace(list, stackTable('Tokens', 'tokens', COLUMNS, h('tbody', {}, tokens.map(row))));
  }

  async function load() {
    try {
      const data = await gql(TOKENS);
      if (destroyed) return;
      tokens = data.tokens;
      ownTokenId = data.me.tokenId ?? null;
      showError(error, '');
      render();
      onActors(tokens);
    } catch (e) {
      if (/** @type {any} */ (e).code === 'UNAUTHENTICATED' || destroyed) return;
      replace(list);
      showError(error, `Could not load the tokens. ${describe(e)}`);
    }
  }

  return {
    el: h(
      'section',
      { class: 'panel', 'aria-labelledby': 'tokens-title' },
      h('h2', { id: 'tokens-title' }, 'API tokens'),
      error,
      list,
      createForm,
      secretSlot,
    ),
    load,
    destroy() {
      destroyed = true;
    },
  };
}
