// Test support: runs the store migration and stops dead after its first copy, so a test can kill -9
// it there. Usage: node --import tsx migrate-crash-child.ts STORE_URL MARKER
import { writeFileSync } from 'node:fs';
import { openStore, type ObjectStore } from '../store/index.ts';
import { migrateRegistryArtifacts } from '../registry/index.ts';

const [storeUrl, marker] = process.argv.slice(2) as [string, string];
const store = openStore(storeUrl);
const stopping: ObjectStore = new Proxy(store, {
  get(obj, prop, receiver) {
    const value = Reflect.get(obj, prop, receiver) as unknown;
    if (prop !== 'put' || typeof value !== 'function') return typeof value === 'function' ? value.bind(obj) : value;
    return async (key: string, body: Buffer | string) => {
      const res = await (value as ObjectStore['put']).call(obj, key, body);
      writeFileSync(marker, `${process.pid}\n`);
      setInterval(() => undefined, 1 << 30);
      await new Promise<never>(() => undefined);
      return res;
    };
  },
});
await migrateRegistryArtifacts(stopping);
process.exit(3); // never reached the crash point: the test must fail, not pass vacuously
