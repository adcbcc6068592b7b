// @ts-check
// Readable messages for clusterd's error codes (extensions.code).
// The server's own message names the other instance or cluster; it is kept.

const LEADS = {
  INSTANCE_EXISTS: 'This elektrad is already registered',
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

/** "Lead: server message", e.g. "This elektrad is already registered: http://... is already registered as web-01". */
export function describe(error) {
  if (!error) return '';
  const code = error.code || (error.extensions && error.extensions.code);
  const lead = LEADS[code];
  const message = (error.message || '').trim();
  if (!lead) return message || 'Something went wrong';
  if (!message || message === lead) return lead + '.';
  return `${lead}: ${message}`;
}
