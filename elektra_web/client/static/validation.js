// @ts-check
// Client-side checks from a key's check/* metadata, the same rules elektrad
// enforces (check/type, check/enum, check/range), so a bad value is refused
// before it is sent. The server still decides.
//
// check/validation is left to the server: its pattern comes from whoever may
// write metadata, and the browser's backtracking RegExp would freeze the page
// on a pattern like ^(a+)+$ (elektrad runs it on RE2, in linear time). The
// hint says so, and a refusal arrives as the server's answer.

const INTEGERS = {
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  unsigned_short: [0n, 2n ** 16n - 1n],
  long: [-(2n ** 31n), 2n ** 31n - 1n],
  unsigned_long: [0n, 2n ** 32n - 1n],
  long_long: [-(2n ** 63n), 2n ** 63n - 1n],
  unsigned_long_long: [0n, 2n ** 64n - 1n],
};
const FLOATS = { float: 3.4028234663852886e38, double: Number.MAX_VALUE, long_double: null };
const BOOLEANS = new Set([
  '1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', 'enable', 'disable', 'enabled', 'disabled',
]);
const NUMBER = '(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?';
const DECIMAL = new RegExp(`^[+-]?${NUMBER}$`);
const INTEGER = /^-?(?:0|[1-9][0-9]{0,24})$/;
const RANGE = new RegExp(`^\\s*(-?${NUMBER})\\s*(?:-\\s*(-?${NUMBER})\\s*)?$`);
const ARRAY_INDEX = /^#(_*)(0|[1-9][0-9]*)$/;

function show(text) {
  return JSON.stringify(text.length > 60 ? text.slice(0, 59) + '…' : text);
}

function isArrayIndex(text) {
  const m = ARRAY_INDEX.exec(text);
  return !!m && m[1].length === m[2].length - 1;
}

function hasType(value, kind, checks) {
  if (kind in INTEGERS) {
    if (!INTEGER.test(value) || value === '-0') return false;
    const n = BigInt(value);
    const [lo, hi] = INTEGERS[kind];
    return lo <= n && n <= hi;
  }
  if (kind in FLOATS) {
    const limit = FLOATS[kind];
    return DECIMAL.test(value) && (limit === null || Math.abs(Number(value)) <= limit);
  }
  if (kind === 'char' || kind === 'wchar' || kind === 'octet') return [...value].length === 1;
  if (kind === 'boolean') {
    if ('check/boolean/true' in checks) {
      const pair = [checks['check/boolean/true'], checks['check/boolean/false'] || ''];
      return value === '1' || value === '0' || pair.some((p) => p.toLowerCase() === value.toLowerCase());
    }
    return BOOLEANS.has(value.toLowerCase());
  }
  return true;
}

/** The allowed values of check/enum/#N (and check/enum = 'a', 'b'), or null. */
export function enumValues(checks) {
  const values = [];
  for (const [k, v] of Object.entries(checks)) {
    if (k.startsWith('check/enum/') && isArrayIndex(k.slice('check/enum/'.length))) values.push(v);
  }
  const listed = checks['check/enum'] || '';
  if (/^\s*'[^']*'\s*(?:,\s*'[^']*'\s*)*$/.test(listed)) {
    for (const m of listed.matchAll(/'([^']*)'/g)) values.push(m[1]);
  }
  return values.length ? values : null;
}

function ranges(text) {
  const found = [];
  for (const item of text.split(',')) {
    const m = RANGE.exec(item);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    found.push([Math.min(lo, hi), Math.max(lo, hi)]);
  }
  return found;
}

/**
 * Why ``value`` breaks the rules in ``meta`` (a {name: value} object), or null.
 */
export function validate(value, meta) {
  const checks = {};
  for (const [k, v] of Object.entries(meta || {})) if (k.startsWith('check/')) checks[k] = v;
  const refuse = (what, rule) => `${show(value)} ${what} (${rule})`;
  const kind = checks['check/type'];
  if (kind !== undefined && !hasType(value, kind, checks)) {
    return refuse(`is not ${'aeiou'.includes(kind[0]) ? 'an' : 'a'} ${kind}`, 'check/type');
  }
  let allowed = enumValues(checks);
  if (allowed !== null || kind === 'enum') {
    allowed = allowed || [];
    const sep = checks['check/enum/delimiter'] || checks['check/enum/multi'];
    const pieces = sep ? value.split(sep).filter(Boolean) : [];
    if ((pieces.length ? pieces : [value]).some((p) => !allowed.includes(p))) {
      const listed = allowed.map(show).join(', ') || 'nothing';
      return refuse(`is not one of ${listed}`, 'check/enum');
    }
  }
  if ('check/range' in checks) {
    const rs = ranges(checks['check/range']);
    if (rs !== null) {
      if (!DECIMAL.test(value)) return refuse('is not a number', 'check/range');
      const n = Number(value);
      if (!rs.some(([lo, hi]) => lo <= n && n <= hi)) {
        return refuse(`is not within ${checks['check/range']}`, 'check/range');
      }
    }
  }
  return null;
}

/** A hint for the value field: what the rules allow. */
export function describeRules(meta) {
  const parts = [];
  if (meta['check/type']) parts.push(`type ${meta['check/type']}`);
  const values = enumValues(meta);
  if (values) parts.push(`one of ${values.join(', ')}`);
  if (meta['check/range']) parts.push(`range ${meta['check/range']}`);
  if (meta['check/validation']) {
    parts.push(`matches ${meta['check/validation']} (checked by the server)`);
  }
  return parts.join('; ');
}
