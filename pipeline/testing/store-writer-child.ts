// Test support: a folder store writer caught mid-put, so a test can kill -9 it there or let it finish.
// Usage: node --import tsx store-writer-child.ts STORE_DIR KEY MARKER [GO]
// Streams 1 MiB of KEY's body into the store, writes MARKER, then waits for the file GO (forever
// without one) before streaming the second and last MiB.
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../store/index.ts';

const [dir, key, marker, go] = process.argv.slice(2) as [string, string, string, string | undefined];
const store = openStore(dir);
await store.putStream(
  key,
  (async function* () {
    yield Buffer.alloc(1 << 20, 'a');
    writeFileSync(marker, `${process.pid}\n`);
    while (!go || !existsSync(go)) await sleep(10);
    yield Buffer.alloc(1 << 20, 'b');
  })(),
);
