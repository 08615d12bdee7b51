// Test support: runs one Lambda handler in a process of its own, as Lambda would, so a test can
// kill -9 it mid-invocation. `node --import tsx pipeline/testing/invoke.ts <handler module> '<event JSON>'`;
// the environment configures the handler; the result is printed as the last line, after RESULT_MARK.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const RESULT_MARK = 'mltk-invoke-result ';

async function main(): Promise<void> {
  const [modulePath, event] = process.argv.slice(2);
  if (!modulePath || event === undefined) throw new Error('usage: invoke.ts <handler module> <event JSON>');
  const { handler } = (await import(pathToFileURL(resolve(modulePath)).href)) as {
    handler: (e: unknown) => Promise<unknown>;
  };
  const result = await handler(JSON.parse(event));
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
