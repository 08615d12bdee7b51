// What a store key may be, on every backend: '/'-separated segments, none empty, `.` or `..`. A key
// from outside (an S3 event, a CLI argument) never walks out of its prefix: `incoming/../../x` could
// otherwise map to an output key outside `predictions/`, and a local key out of the store folder.
import { InvalidInputError } from '../errors/index.ts';

/** Quoted for a one-line message: JSON-escaped (no raw newlines or control bytes), and bounded. */
function shown(key: string): string {
  const q = JSON.stringify(key);
  return q.length > 200 ? `${q.slice(0, 200)}…"` : q;
}

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
    throw new InvalidInputError(`invalid store key ${shown(key)}: ${problem}`, [{ field: 'key', issue: problem }]);
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
    throw new InvalidInputError(`invalid ${what} ${shown(name)}: ${problem}`, [{ field: what, issue: problem }]);
  return name;
}
