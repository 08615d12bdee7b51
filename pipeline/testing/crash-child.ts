// Test support: the real `mltk` CLI in a process that stops dead at one store call, so a test can
// kill -9 it exactly there. Usage:
//   node --import tsx crash-child.ts MARKER BACKEND METHOD KEY_REGEX -- MLTK_ARGS…
// BACKEND is S3Store or LocalStore; when METHOD (e.g. move, putIfAbsent) is called with a first key
// matching KEY_REGEX, the process writes MARKER and hangs instead of making the call. Everything
// before that point ran through the real code.
import { writeFileSync } from 'node:fs';

const [marker, backend, method, pattern, dashes, ...args] = process.argv.slice(2) as string[];
if (!marker || !backend || !method || !pattern || dashes !== '--') {
  process.stderr.write('usage: crash-child.ts MARKER BACKEND METHOD KEY_REGEX -- MLTK_ARGS…\n');
  process.exit(2);
}
const stores = await import('../store/index.ts');
const cls = backend === 'S3Store' ? stores.S3Store : stores.LocalStore;
const proto = cls.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
const original = proto[method];
if (typeof original !== 'function') throw new Error(`${backend} has no method ${method}`);
const match = new RegExp(pattern);
proto[method] = function (this: unknown, ...a: unknown[]) {
  if (typeof a[0] === 'string' && match.test(a[0])) {
    writeFileSync(marker, `${process.pid}\n`);
    setInterval(() => undefined, 1 << 30);
    return new Promise<never>(() => undefined);
  }
  return original.apply(this, a);
};
process.argv = [process.argv[0]!, 'mltk', ...args];
await import('../cli/main.ts');
// Reaching here means the crash point was never hit: the test must fail, not pass vacuously.
process.exit(3);
