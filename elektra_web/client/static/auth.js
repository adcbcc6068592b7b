// @ts-check
// Who is signed in, and the sign-in form (paste a token).

import { gql, getToken, setToken } from './api.js';
import { h, errorBox, showError } from './dom.js';
import { describe } from './errors.js';

export const ROLES = ['VIEWER', 'EDITOR', 'ADMIN'];

/**
 * {name, role}. A server without ``me`` (or any other failure but a refused
 * token or an unreachable clusterd) means: role unknown, treated as ADMIN;
 * the server still refuses what the caller may not do.
 */
export async function whoAmI() {
  try {
    const data = await gql('{ me { name role tokenId } }');
    if (data && data.me) {
      const { name, role, tokenId } = data.me;
      return { name, role, known: true, shown: shownName(name, role, tokenId) };
    }
    return { name: null, role: 'ADMIN', known: false };
  } catch (e) {
    if (e.code === 'UNAUTHENTICATED' || e.code === 'UNREACHABLE') throw e;
    return { name: null, role: 'ADMIN', known: false };
  }
}

/**
 * The name to show next to the role badge: the token's name, without the
 * token's id (Me.name is "alice (token 2)") nor a role the name repeats
 * ("alice (viewer)"): the badge says it once.
 * @param {string} name
 * @param {string} role
 * @param {string | null} tokenId
 */
export function shownName(name, role, tokenId) {
  let shown = tokenId ? name.replace(new RegExp(`\\s*\\(token ${tokenId}\\)$`), '') : name;
  const repeated = new RegExp(`\\s*[(\\[]${role}[)\\]]$`, 'i');
  if (repeated.test(shown) && shown.replace(repeated, '')) shown = shown.replace(repeated, '');
  return shown;
}

export function atLeast(me, role) {
  return ROLES.indexOf(me.role) >= ROLES.indexOf(role);
}

/** The sign-in screen; ``onSignedIn`` after a token was accepted. */
export function signInForm(onSignedIn, reason) {
  const box = errorBox();
  const input = h('input', {
    id: 'token-input',
    name: 'token',
    type: 'password',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const form = h(
    'form',
    { class: 'sign-in panel', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in to Elektra Web'),
    h(
      'p',
      {},
      reason || 'Paste the access token an administrator gave you (or the one ',
      reason ? '' : h('code', {}, 'elektra-web token'),
      reason ? '' : ' printed).',
    ),
    h('label', { for: 'token-input' }, 'Access token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    box,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(box, '');
    const previous = getToken();
    setToken(input.value.trim());
    try {
      const me = await whoAmI();
      onSignedIn(me);
    } catch (e) {
      setToken(previous && previous !== input.value.trim() ? previous : null);
      showError(
        box,
        e.code === 'UNAUTHENTICATED' ? 'That token was not accepted. Check it and try again.' : describe(e),
      );
      input.select();
    }
  });
  setTimeout(() => input.focus(), 0);
  return form;
}
