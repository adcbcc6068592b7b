// GraphiQL for clusterd: sign in once, then every request carries the token.
//
// The token is the web client's (same storage key, same "#token=..." sign-in
// link): signing in here signs in there and back. GraphiQL is only started once
// the token was accepted, so its first request (the schema) is never refused.
// HTTP requests carry "Authorization: Bearer TOKEN"; subscriptions go over one
// websocket (graphql-transport-ws) whose connection_init carries {token}.
//
// React, ReactDOM, GraphiQL and graphqlWs are the UMD globals of the vendored
// scripts, which run before this module (they are "defer", it is a module).

import { gql, getToken, setToken, takeTokenFromLocation } from '/static/api.js';

const { React, ReactDOM, GraphiQL, graphqlWs } = window;

const DEFAULT_QUERY = `# GraphiQL for Elektra Web (clusterd).
#
# Ctrl-Enter runs the operation under the cursor, Ctrl-Space completes, and the
# documentation explorer (book icon, top left) shows every type and field.
# Subscriptions run over the websocket: each event appears as it arrives.

query Overview {
  me { name role }
  version { api clusterd }
  instances { id name host status }
  clusters { id name }
}

subscription Changes {
  configChanged { op path value origin at }
}
`;

// graphql-transport-ws close codes that mean: this token is not (or no longer) accepted.
const REFUSED = new Set([4401, 4403]);

const form = document.getElementById('sign-in');
const input = document.getElementById('token-input');
const reason = document.getElementById('sign-in-reason');
const errorBox = document.getElementById('sign-in-error');
const host = document.getElementById('graphiql');
const who = document.getElementById('who');
const signOutButton = document.getElementById('sign-out');

/** The running GraphiQL: {root, ws}; null while signed out. */
let running = null;

function wsUrl() {
  const url = new URL('/graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** fetch() with the token, unless the Headers tab sets its own Authorization. */
async function authorizedFetch(url, init = {}) {
  const headers = new Headers(init.headers || {});
  const ours = !headers.has('Authorization');
  if (ours) headers.set('Authorization', `Bearer ${getToken()}`);
  const response = await fetch(url, { ...init, headers, cache: 'no-store' });
  if (ours && response.status === 401) {
    // Revoked while the page was open: sign in again (after GraphiQL saw the answer).
    setTimeout(() => signOut('Your token is no longer accepted (revoked?). Paste an access token to continue.'));
  }
  return response;
}

function start(me) {
  form.hidden = true;
  errorBox.hidden = true;
  who.textContent = me ? `${me.name} · ${me.role.toLowerCase()}` : '';
  signOutButton.hidden = false;
  const ws = graphqlWs.createClient({
    url: wsUrl(),
    // Read on every (re)connect: the current token.
    connectionParams: () => ({ token: getToken() }),
    lazy: true,
    retryAttempts: 3,
    shouldRetry: (event) => !(event && REFUSED.has(event.code)),
    on: {
      closed: (event) => {
        if (event && REFUSED.has(event.code)) {
          signOut('The websocket refused your token (revoked?). Paste an access token to continue.');
        }
      },
    },
  });
  const fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    wsClient: ws,
    fetch: authorizedFetch,
    // clusterd has no @defer/@stream: plain JSON answers.
    enableIncrementalDelivery: false,
  });
  host.replaceChildren();
  const root = ReactDOM.createRoot(host);
  root.render(React.createElement(GraphiQL, { fetcher, defaultQuery: DEFAULT_QUERY }));
  running = { root, ws };
}

function stop() {
  if (!running) return;
  running.root.unmount();
  running.ws.dispose();
  running = null;
  host.replaceChildren();
}

function showSignIn(message, error) {
  stop();
  who.textContent = '';
  signOutButton.hidden = true;
  reason.textContent = message || '';
  reason.hidden = !message;
  errorBox.textContent = error || '';
  errorBox.hidden = !error;
  form.hidden = false;
  input.value = '';
  input.focus();
}

function signOut(message) {
  if (!running) return;
  setToken(null);
  showSignIn(message);
}

/** Check the stored token ({ me }); start GraphiQL, or ask for another token. */
async function signIn() {
  let me;
  try {
    const data = await gql('{ me { name role } }');
    me = data.me;
  } catch (e) {
    if (e.code === 'UNAUTHENTICATED') {
      setToken(null);
      showSignIn(null, 'That token was not accepted. Check it and try again.');
    } else {
      showSignIn(null, `clusterd could not check the token: ${e.message}`);
    }
    return;
  }
  start(me);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = input.value.trim();
  if (!token) return;
  setToken(token);
  errorBox.hidden = true;
  signIn();
});

signOutButton.addEventListener('click', () => signOut('Signed out. Paste an access token to sign in again.'));

takeTokenFromLocation();
if (getToken()) signIn();
else showSignIn(null);
