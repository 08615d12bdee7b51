// Starting a worker thread on a module of ours, the same way wherever the code runs.
import { Worker } from 'node:worker_threads';

/**
 * A worker running module `name` beside the caller (`from`: the caller's import.meta.url). Where the caller
 * runs as TypeScript through tsx (tests, tsx scripts), the worker registers tsx's loader first, as a worker
 * does not inherit it on Node 20, then loads `<name>.ts`; elsewhere it runs the sibling `<name>.mjs` that
 * the CLI build and the Lambda bundle emit.
 */
export function spawnSiblingWorker(from: string, name: string): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.mjs`, from), { execArgv: [] });
  const entry = JSON.stringify(new URL(`./${name}.ts`, from).href);
  const source = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then((tsx) => { tsx.register(); return import(${entry}); })`;
  return new Worker(source, { eval: true, execArgv: [] });
}
