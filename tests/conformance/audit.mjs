// The GraphQL-over-HTTP audit (npm graphql-http's serverAudits) against a
// running clusterd.
//
// Usage: node audit.mjs URL        (URL: clusterd's /graphql endpoint)
// The API token comes from the environment, ELEKTRA_WEB_TOKEN, and goes on
// every request as "Authorization: Bearer TOKEN".
//
// Prints one JSON object on stdout:
//   {"audits": [{"id", "name", "status": "ok"|"notice"|"warn"|"error",
//                "reason"?, "response"?: {"status", "contentType", "body"}}]}
// and exits 0 whatever the audits found: the test decides what may fail.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const token = process.env.ELEKTRA_WEB_TOKEN;
if (!url || !token) {
  console.error('usage: ELEKTRA_WEB_TOKEN=TOKEN node audit.mjs URL');
  process.exit(2);
}

function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(30_000) });
}

async function describe(response) {
  if (!response) return undefined;
  let body;
  try {
    body = (await response.text()).slice(0, 2000);
  } catch {
    body = null; // the audit has read it already
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
  };
}

const audits = [];
// One at a time: the machine is shared, and the order is the audit's own.
for (const audit of serverAudits({ url, fetchFn: fetchWithToken })) {
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    // A fatal error of the audit itself (e.g. the server did not answer).
    result = { id: audit.id, name: audit.name, status: 'error', reason: `threw: ${error}` };
  }
  const entry = { id: audit.id, name: audit.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.response = await describe(result.response);
  }
  audits.push(entry);
}
process.stdout.write(JSON.stringify({ audits }) + '\n');
