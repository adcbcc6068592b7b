// @ts-check
// Elektra Web: start-up, routing, the connection banner, sign-in and sign-out.

import { on, gql, takeTokenFromLocation, getToken, setToken } from './api.js';
import { LiveClient } from './ws.js';
import { whoAmI, atLeast, signInForm } from './auth.js';
import { h, replace } from './dom.js';
import { describe } from './errors.js';
import { mountOverview } from './overview.js';
import { mountTarget } from './target.js';
import { mountAccess } from './access.js';
import { mountCompare } from './compare.js';

takeTokenFromLocation();

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const who = document.getElementById('who');
const signOut = document.getElementById('sign-out');
const accessLink = document.getElementById('access-link');
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
const live = new LiveClient(wsUrl);
const reconnectHandlers = new Set();

const app = {
  live,
  me: null,
  canEdit: () => !!app.me && atLeast(app.me, 'EDITOR'),
  canManage: () => !!app.me && atLeast(app.me, 'ADMIN'),
  onReconnect(fn) {
    reconnectHandlers.add(fn);
    return () => reconnectHandlers.delete(fn);
  },
};

let view = null;
let signingIn = false;

// -- banner ---------------------------------------------------------------------

const banners = new Map(); // kind -> element

function setBanner(kind, ...content) {
  if (content.length) banners.set(kind, h('p', { class: `banner-${kind}`, dataset: { kind } }, content));
  else banners.delete(kind);
  replace(banner, [...banners.values()]);
  banner.hidden = banners.size === 0;
}

// The state of the live connection, for styles and for tests: open, reconnecting.
const liveState = (state) => (document.documentElement.dataset.live = state);
live.on('reconnecting', () => liveState('reconnecting'));
live.on('open', () => liveState('open'));
live.on('reconnecting', ({ delay }) => {
  if (!live.everConnected) return;
  setBanner('live', 'Live updates lost: reconnecting… ', h('span', { class: 'muted' }, `(next try in ${Math.ceil(delay / 1000)} s)`));
});
live.on('lost', () => setBanner('live', 'Live updates lost: reconnecting…'));
live.on('open', ({ reconnected }) => {
  setBanner('live');
  if (reconnected) for (const fn of reconnectHandlers) fn();
  // The socket is back, so clusterd likely is: check now, not at the next try.
  if (banners.has('http')) probe();
});

// Each message lasts only while its cause does: while "cannot be reached" is
// shown, clusterd is asked again (backing off to 10 s) until it answers, and
// any answer, to any request, takes the message away.
let probeTimer = 0;
let probeAttempt = 0;
on('unreachable', () => {
  setBanner(
    'http',
    'clusterd cannot be reached. ',
    h('button', { type: 'button', class: 'quiet small', onclick: retryNow }, 'Retry'),
  );
  clearTimeout(probeTimer);
  probeTimer = window.setTimeout(probe, Math.min(10000, 1000 * 2 ** probeAttempt++));
});
on('reachable', () => {
  clearTimeout(probeTimer);
  probeAttempt = 0;
  if (banners.has('http')) setBanner('http');
});

/** A small request whose answer (or failure) updates the banner. */
function probe() {
  clearTimeout(probeTimer);
  gql('{ version { api } }').catch(() => {});
}

/** Read the page again (clusterd is back, or the person asks). */
function retryNow() {
  if (!view) route();
  else for (const fn of reconnectHandlers) fn();
}
on('unauthenticated', () =>
  showSignIn(getToken() ? 'Your token is no longer accepted (revoked?). Paste an access token to continue.' : null),
);

// -- who is signed in -------------------------------------------------------------

function renderWho() {
  const me = app.me;
  // The role once, as the badge (a token named "alice (viewer)" does not say it twice).
  replace(
    who,
    me && me.known
      ? [
          h('span', { class: 'visually-hidden' }, 'Signed in as '),
          h('span', { class: 'who-name', title: me.name }, me.shown),
          ' ',
          h('span', { class: 'badge role' }, me.role.toLowerCase()),
        ]
      : '',
  );
  signOut.hidden = !(getToken() || (me && me.known));
  // Tokens and the audit log: for admins only (the server refuses others anyway).
  accessLink.hidden = !(me && me.known && me.role === 'ADMIN');
}

signOut.addEventListener('click', () => {
  setToken(null);
  app.me = null;
  live.stop();
  showSignIn('Signed out. Paste an access token to sign in again.');
});

function showSignIn(reason) {
  if (signingIn) return;
  signingIn = true;
  live.stop();
  if (view) view.destroy();
  view = null;
  app.me = null;
  renderWho();
  signOut.hidden = true;
  setBanner('live');
  main.replaceChildren(
    signInForm((me) => {
      signingIn = false;
      app.me = me;
      renderWho();
      live.restart();
      route();
    }, reason),
  );
}

// -- routing ------------------------------------------------------------------------

/**
 * The page the location's hash names.
 * @returns {{kind: 'overview' | 'access' | 'compare' | 'instance' | 'cluster', id?: string, params: URLSearchParams}}
 */
function parseHash() {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query || '');
  if (path === '/access') return { kind: 'access', params };
  if (path === '/compare') return { kind: 'compare', params };
  const m = /^\/(instance|cluster)\/([^/]+)$/.exec(path || '');
  if (!m) return { kind: 'overview', params };
  const kind = m[1] === 'cluster' ? 'cluster' : 'instance';
  return { kind, id: decodeURIComponent(m[2]), params };
}

let current = '';
let retry = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;

async function route() {
  if (signingIn) return;
  if (!app.me) {
    try {
      app.me = await whoAmI();
      retry = 0;
    } catch (e) {
      if (e.code === 'UNAUTHENTICATED') return; // the sign-in form is shown
      const wait = Math.min(8, 2 ** retry++);
      main.replaceChildren(
        h(
          'section',
          { class: 'panel unreachable' },
          h('h1', {}, 'clusterd cannot be reached'),
          h('p', {}, describe(e), `. Trying again in ${wait} s.`),
          h('button', { type: 'button', onclick: () => route() }, 'Try now'),
        ),
      );
      clearTimeout(retryTimer);
      retryTimer = setTimeout(route, wait * 1000);
      return;
    }
    renderWho();
    live.start();
  }
  const where = parseHash();
  const key = `${where.kind}/${where.id || ''}`;
  if (view && key === current) return; // same page, another key: the page selects it
  current = key;
  if (view) view.destroy();
  window.scrollTo(0, 0);
  if (where.kind === 'overview') view = mountOverview(main, app);
  else if (where.kind === 'access') view = mountAccess(main, app);
  else if (where.kind === 'compare') view = mountCompare(main, app, where.params);
  else view = mountTarget(main, app, where.kind, where.id, where.params);
  accessLink.classList.toggle('current', where.kind === 'access');
  if (where.kind === 'access') accessLink.setAttribute('aria-current', 'page');
  else accessLink.removeAttribute('aria-current');
  document.title =
    where.kind === 'overview'
      ? 'Elektra Web'
      : where.kind === 'access' || where.kind === 'compare'
        ? `Elektra Web: ${where.kind}`
        : `Elektra Web: ${where.kind} ${where.id}`;
}

window.addEventListener('hashchange', () => {
  if (takeTokenFromLocation()) {
    app.me = null;
    live.restart();
  }
  route();
});
route();
