// Test support: a Lambda handler in a process of its own that stops dead at one store call, so a test
// can kill -9 it exactly there. Usage:
//   node --import tsx handler-crash-child.ts MARKER BACKEND METHOD KEY_REGEX -- HANDLER_MODULE EVENT_JSON
// BACKEND is S3Store or LocalStore; when METHOD (put, compose, delete, …) is called with a first key
// matching KEY_REGEX, the process writes MARKER and hangs instead of making the call. The environment
// configures the handler, as in Lambda; everything before the crash point ran through the real code.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [marker, backend, method, pattern, dashes, modulePath, event] = process.argv.slice(2) as string[];
if (!marker || !backend || !method || !pattern || dashes !== '--' || !modulePath || event === undefined) {
  process.stderr.write('usage: handler-crash-child.ts MARKER BACKEND METHOD KEY_REGEX -- HANDLER_MODULE EVENT_JSON\n');
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
const { handler } = (await import(pathToFileURL(resolve(modulePath)).href)) as {
  handler: (e: unknown) => Promise<unknown>;
};
await handler(JSON.parse(event));
// Reaching here means the crash point was never hit: the test must fail, not pass vacuously.
process.exit(3);
