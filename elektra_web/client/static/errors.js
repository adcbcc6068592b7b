// @ts-check
// Readable messages for clusterd's error codes (extensions.code).
// The server's own message names the other instance or cluster; it is kept.

const LEADS = {
  INSTANCE_EXISTS: 'Already registered',
  ALREADY_IN_CLUSTER: 'Already in another cluster',
  KEY_LOCKED: 'Locked by a cluster',
  CLUSTER_CYCLE: 'A cluster cannot be inside itself',
  INVALID_KEY_NAME: 'Not a valid key name',
  INVALID_HOST: 'Not a URL clusterd may reach',
  VALIDATION_FAILED: 'The value breaks this key’s rules',
  FORBIDDEN: 'You are not allowed to do this',
  NOT_FOUND: 'Not found (deleted elsewhere?)',
  INSTANCE_UNREACHABLE: 'The instance cannot be reached right now',
  BAD_INPUT: 'Refused',
  UNAUTHENTICATED: 'Please sign in',
  UNREACHABLE: 'clusterd cannot be reached',
  SUBSCRIBER_TOO_SLOW: 'Live updates fell behind',
};

/**
 * "Lead: server message", e.g. "Not a URL clusterd may reach: invalid instance URL ...";
 * the server's message alone where it says what the lead says, e.g. "This elektrad is
 * already registered as web-01 (at http://...)".
 */
export function describe(error) {
  if (!error) return '';
  const code = error.code || (error.extensions && error.extensions.code);
  const lead = LEADS[code];
  let message = (error.message || '').trim();
  // A cluster write some members' rules refuse: name them, if the message does not.
  const members = (error.extensions && error.extensions.members) || [];
  const unnamed = members.filter((/** @type {string} */ m) => !message.includes(m));
  if (unnamed.length) message = `${message ? `${message} ` : ''}(refused by ${unnamed.join(', ')})`;
  if (!lead) return message || 'Something went wrong';
  if (!message || message === lead) return lead + '.';
  // A message that says what the lead says stands alone: "This elektrad is
  // already registered: this elektrad is already registered as web-01"
  // repeated itself.
  if (message.toLowerCase().includes(lead.toLowerCase())) {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(message) ? message : message.charAt(0).toUpperCase() + message.slice(1);
  }
  return `${lead}: ${message}`;
}

/**
 * A refusal decided in the page, before anything is sent: an Error with the
 * code the server would give, so that it is shown like the server's.
 * @param {string} [message]
 * @param {string} [code]
 */
export function refused(message = '', code = 'VALIDATION_FAILED') {
  return Object.assign(new Error(message), { code });
}
