#!/usr/bin/env node
// The `mltk` executable: runs the compiled CLI (build.js), rebuilding it first when a source changed
// since it was built. Where no build can be made (no esbuild, a read-only install) it runs the
// TypeScript sources through tsx instead: slower to start, never stale.
import { cliTarget, ensureBuilt } from './build.js';

const main = await ensureBuilt(cliTarget(), 'main');
if (main) {
  await import(main);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
