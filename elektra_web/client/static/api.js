// GraphQL over HTTP (POST /graphql), with the caller's token.

export const TOKEN_KEY = 'elektra-web-token';

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives only in this page */
  }
}

/** On load: "#token=XYZ" is stored and removed from the address bar. */
export function takeTokenFromLocation() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return false;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
  return true;
}

export class ApiError extends Error {
  constructor(message, code, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

export function emit(event, detail) {
  for (const fn of listeners.get(event) || []) fn(detail);
}

/** Run a query or mutation; its data, or an ApiError (the first GraphQL error). */
export async function gql(query, variables = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      cache: 'no-store',
    });
  } catch {
    emit('unreachable');
    throw new ApiError('clusterd cannot be reached', 'UNREACHABLE');
  }
  if (response.status === 401) {
    emit('unauthenticated');
    throw new ApiError('Please sign in', 'UNAUTHENTICATED');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    if (response.status >= 500) emit('unreachable');
    throw new ApiError(`clusterd answered HTTP ${response.status}`, 'HTTP');
  }
  emit('reachable');
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const extensions = first.extensions || {};
    const code = extensions.code || (response.status === 403 ? 'FORBIDDEN' : 'ERROR');
    if (code === 'UNAUTHENTICATED') emit('unauthenticated');
    const error = new ApiError(first.message, code, extensions);
    error.data = body.data;
    throw error;
  }
  return body.data;
}
