// What a store key may be, on every backend: '/'-separated segments, none empty, `.` or `..`. A key
// from outside (an S3 event, a CLI argument) never walks out of its prefix: `incoming/../../x` could
// otherwise map to an output key outside `predictions/`, and a local key out of the store folder.
import { InvalidInputError, quoted } from '../errors/index.ts';

/** Why `key` is not a valid store key, or undefined when it is. */
export function keyProblem(key: string): string | undefined {
  if (key === '') return 'it is empty';
  if (key.startsWith('/')) return 'it starts with "/"';
  const segments = key.split('/');
  if (segments.some((s) => s === '')) return 'it has an empty segment ("//" or a trailing "/")';
  if (segments.some((s) => s === '.' || s === '..')) return 'it has a "." or ".." segment';
  if ([...key].some((c) => c.charCodeAt(0) < 0x20)) return 'it has a control character';
  return undefined;
}

export function checkKey(key: string): string {
  const problem = keyProblem(key);
  if (problem)
    throw new InvalidInputError(`invalid store key ${quoted(key)}: ${problem}`, [{ field: 'key', issue: problem }]);
  return key;
}

/** A listing prefix: '' (everything) or a key, optionally ending in '/'. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** A name used as one key segment (a model or dataset name): no '/', and a valid key on its own. */
export function checkSegment(name: string, what: string): string {
  const problem = name.includes('/') ? 'it contains "/"' : keyProblem(name);
  if (problem)
    throw new InvalidInputError(`invalid ${what} ${quoted(name)}: ${problem}`, [{ field: what, issue: problem }]);
  return name;
}

/**
 * A key as an S3 event notification sends it (URL-encoded, `+` for a space), decoded and checked: a
 * forged event's `incoming/%2E%2E/x.csv` is refused here, like any other invalid key.
 */
export function decodeEventKey(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    const issue = 'malformed URL encoding (S3 events URL-encode keys)';
    throw new InvalidInputError(`S3 event key ${quoted(raw)}: ${issue}`, [{ field: 'key', issue }]);
  }
  return checkKey(key);
}
