// Test support: a process that moves an alias and stops dead at a chosen point of the move, so a
// test can kill -9 it exactly there. Usage:
//   node --import tsx alias-crash-child.ts STORE_URL NAME ALIAS VERSION (after-claim|inside-swap) MARKER
// after-claim: the history entry is claimed, the alias not yet swapped (any backend).
// inside-swap: the local backend holds the alias's lock and is about to rename the new alias into
//   place. Both points are reached through the real code; the process writes MARKER and hangs there.
import { writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const [storeUrl, name, alias, version, point, marker] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const hang = (): Promise<never> => {
  writeFileSync(marker, `${process.pid}\n`);
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
};

if (point === 'inside-swap') {
  // Patch fs/promises before the store module binds it: the ESM named imports follow the CommonJS object.
  const fsp = createRequire(import.meta.url)('node:fs/promises') as { rename: (a: string, b: string) => Promise<void> };
  const rename = fsp.rename;
  fsp.rename = (from, to) => (to.endsWith(`/aliases/${alias}.json`) ? hang() : rename(from, to));
  syncBuiltinESMExports();
}

const { openStore } = await import('../store/index.ts');
const { moveAlias } = await import('../registry/index.ts');
const store = openStore(storeUrl);
const target =
  point === 'after-claim'
    ? new Proxy(store, {
        get(obj, prop, receiver) {
          const value = Reflect.get(obj, prop, receiver) as unknown;
          if (prop !== 'putIfAbsent' || typeof value !== 'function')
            return typeof value === 'function' ? value.bind(obj) : value;
          return async (key: string, body: Buffer | string) => {
            const res = await (value as typeof store.putIfAbsent).call(obj, key, body);
            if (key.includes(`/aliases/${alias}/history/`)) await hang();
            return res;
          };
        },
      })
    : store;
await moveAlias(target, name, alias, Number(version), { reason: `crash test (${point})` });
// Reaching here means the crash point was never hit: the test must fail, not pass vacuously.
process.exit(3);
