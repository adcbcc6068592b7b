// The reference graphql-transport-ws client (npm graphql-ws, on npm ws)
// against a running clusterd.
//
// Usage: node ws-client.mjs SCENARIO URL [ARG]
//   URL: clusterd's /graphql endpoint over HTTP (http://HOST:PORT/graphql);
//        the websocket is the same URL with ws://.
//   The API token comes from the environment, ELEKTRA_WEB_TOKEN.
// Scenarios:
//   query                  a query over the socket: its results, and whether
//                          the server completed it
//   subscription INSTANCE  configChanged of INSTANCE while this script writes
//                          a key on it through the HTTP API (setKey), then
//                          unsubscribes; then REPEAT (env WS_REPEAT, default 5)
//                          subscribe/unsubscribe cycles and a last query on
//                          the same socket
//   refused                sockets signed in with a wrong token and with no
//                          token: how each one ends
// Prints one JSON object (the scenario's observations) on stdout; exits 0
// unless the script itself failed. The test decides what is right.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [scenario, url, arg] = process.argv.slice(2);
const token = process.env.ELEKTRA_WEB_TOKEN;
if (!scenario || !url || !token) {
  console.error('usage: ELEKTRA_WEB_TOKEN=TOKEN node ws-client.mjs SCENARIO URL [ARG]');
  process.exit(2);
}
const wsUrl = url.replace(/^http/, 'ws');
const TIMEOUT_MS = 15_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A graphql-ws client that records its sockets: how many were signed in
 * (connected), and how each one closed. Not lazy: one socket from the start
 * until close(), which disposes of the client and waits for the socket's end. */
function client(connectionParams, { lazy = false } = {}) {
  const closes = [];
  let connected = 0;
  let closed;
  const ended = new Promise((resolve) => (closed = resolve));
  const instance = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0, // a refused socket must show its own close code
    lazy,
    on: {
      connected: () => connected++,
      closed: (event) => {
        closes.push({ code: event.code, reason: String(event.reason ?? '') });
        closed();
      },
    },
  });
  const close = async () => {
    await instance.dispose();
    await Promise.race([ended, sleep(2_000)]);
    return { connected, closes };
  };
  return { instance, close };
}

/** Run one operation to its end: {results, completed, error}. */
function run(instance, payload) {
  return new Promise((resolve) => {
    const results = [];
    instance.subscribe(payload, {
      next: (value) => results.push(value),
      error: (error) => resolve({ results, completed: false, error: describeError(error) }),
      complete: () => resolve({ results, completed: true, error: null }),
    });
  });
}

function describeError(error) {
  if (error && typeof error.code === 'number') {
    return { closeCode: error.code, reason: String(error.reason ?? '') };
  }
  if (Array.isArray(error)) return { graphqlErrors: error };
  return { message: String(error?.message ?? error) };
}

async function http(query, variables) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return response.json();
}

const QUERY = '{ __typename version { api } }';
const CHANGES = `subscription($i: ID) {
  configChanged(instanceId: $i) { operationId op path value origin instance { name } }
}`;
const SET_KEY = `mutation($t: Target!, $p: String!, $v: String!) {
  setKey(target: $t, path: $p, value: $v) { operationId }
}`;

async function queryScenario() {
  const { instance, close } = client({ token });
  const outcome = await withTimeout(run(instance, { query: QUERY }), TIMEOUT_MS, 'query');
  return { ...outcome, ...(await close()) };
}

async function subscriptionScenario(instanceId) {
  const repeat = Number(process.env.WS_REPEAT ?? 5);
  const { instance, close } = client({ token });
  const events = [];
  let completed = false;
  let error = null;
  let arrived;
  const firstEvent = new Promise((resolve) => (arrived = resolve));
  const unsubscribe = instance.subscribe(
    { query: CHANGES, variables: { i: instanceId } },
    {
      next: (value) => {
        events.push(value);
        arrived();
      },
      error: (e) => {
        error = describeError(e);
        arrived();
      },
      complete: () => {
        completed = true;
        arrived();
      },
    },
  );
  // The client cannot tell when the server has subscribed: write until an
  // event arrives (each write a new value), at most TIMEOUT_MS.
  const operationIds = [];
  const deadline = Date.now() + TIMEOUT_MS;
  let gotOne = false;
  firstEvent.then(() => (gotOne = true));
  for (let n = 1; !gotOne && Date.now() < deadline; n++) {
    const written = await http(SET_KEY, {
      t: { instanceId },
      p: 'user:/conformance/value',
      v: String(n),
    });
    operationIds.push(written?.data?.setKey?.operationId ?? null);
    if (written.errors) return { writeErrors: written.errors };
    await Promise.race([firstEvent, sleep(1_000)]);
  }
  // Unsubscribing sends `complete`; the client then completes the sink.
  unsubscribe();
  await sleep(100);
  const eventsBeforeUnsubscribe = events.length;
  const completedByUnsubscribe = completed;
  // A write after the unsubscribe must not arrive.
  await http(SET_KEY, { t: { instanceId }, p: 'user:/conformance/after', v: 'after' });
  await sleep(1_000);
  const eventsAfterUnsubscribe = events.length - eventsBeforeUnsubscribe;
  // Subscribing and unsubscribing again and again on the same socket: the
  // server frees each one (its per-socket limit would close the socket).
  const cycles = [];
  for (let n = 0; n < repeat; n++) {
    const done = new Promise((resolve) => {
      const stop = instance.subscribe(
        { query: CHANGES, variables: { i: instanceId } },
        {
          next: () => {},
          error: (e) => resolve({ completed: false, error: describeError(e) }),
          complete: () => resolve({ completed: true, error: null }),
        },
      );
      setTimeout(stop, 50);
    });
    cycles.push(await withTimeout(done, TIMEOUT_MS, `cycle ${n}`));
  }
  const last = await withTimeout(run(instance, { query: QUERY }), TIMEOUT_MS, 'last query');
  const sockets = await close();
  return {
    events,
    operationIds,
    error,
    completedByUnsubscribe,
    eventsAfterUnsubscribe,
    cycles,
    lastQuery: last,
    ...sockets,
  };
}

async function refusedScenario() {
  const outcomes = {};
  for (const [name, params] of [
    ['wrongToken', { token: 'ewt_not-a-token-of-this-clusterd' }],
    ['noToken', undefined],
  ]) {
    // Lazy: the refusal reaches the operation that opened the socket.
    const { instance, close } = client(params, { lazy: true });
    const outcome = await withTimeout(run(instance, { query: QUERY }), TIMEOUT_MS, name);
    outcomes[name] = { ...outcome, ...(await close()) };
  }
  return outcomes;
}

const scenarios = {
  query: queryScenario,
  subscription: () => subscriptionScenario(arg),
  refused: refusedScenario,
};
if (!scenarios[scenario]) {
  console.error(`unknown scenario: ${scenario}`);
  process.exit(2);
}
try {
  const result = await scenarios[scenario]();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
