// @ts-check
// GraphQL over HTTP (POST /graphql), with the caller's token.

import { Emitter } from './emitter.js';

export const TOKEN_KEY = 'elektra-web-token';

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** @param {string | null} token */
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
  /**
   * @param {string} message
   * @param {string} code
   * @param {Record<string, any>} [extensions]
   */
  constructor(message, code, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
    /** @type {any} */
    this.data = undefined;
  }
}

/** What the page learns of clusterd from each request: reachable, unreachable, unauthenticated. */
export const apiEvents = new Emitter();

/**
 * @param {string} event
 * @param {(detail: any) => void} fn
 * @returns {() => void} stops it
 */
export function on(event, fn) {
  return apiEvents.on(event, fn);
}

/**
 * @param {string} event
 * @param {any} [detail]
 */
export function emit(event, detail) {
  apiEvents.emit(event, detail);
}

/**
 * Run a query or mutation; its data, or an ApiError (the first GraphQL error).
 * @param {string} query
 * @param {Record<string, any>} [variables]
 * @returns {Promise<any>}
 */
export async function gql(query, variables = {}) {
  /** @type {Record<string, string>} */
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
