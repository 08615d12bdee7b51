// A 50 MB line without a newline (the file of #17) through the JSON-lines reader, beside the CSV
// reader's refusal of the same bytes, in reads of the sizes a file (1 MiB) and S3 (16-64 KiB) give.
// Usage: npx tsx bench/data/long-line.ts [--mb 50]
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { openCsvBlocks } from '../../pipeline/data/csv.ts';
import { jsonLines } from '../../pipeline/data/read-jsonl.ts';

const at = process.argv.indexOf('--mb');
const mb = at > 0 ? Number(process.argv[at + 1]) : 50;
const line = Buffer.alloc(mb * 1_000_000, 'x');

function* reads(size: number): Generator<Buffer> {
  for (let at = 0; at < line.length; at += size) yield line.subarray(at, at + size);
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run().catch(() => undefined);
  return (performance.now() - t) / 1000;
}

const readers: Record<string, (size: number) => Promise<unknown>> = {
  'JSON lines (read to its end, one bad record)': async (size) => {
    for await (const _ of jsonLines(Readable.from(reads(size)), 'l.jsonl'));
  },
  'CSV (refused after the 1 MiB header bound)': (size) =>
    openCsvBlocks(Readable.from(reads(size)), { source: 'l.csv' }),
};
console.log(`a ${mb} MB line, best of 3 (seconds)`);
for (const size of [16 << 10, 64 << 10, 1 << 20]) {
  // Interleaved: each repeat runs both readers, so a change in the machine's load hits both.
  const best = Object.fromEntries(Object.keys(readers).map((name) => [name, Infinity]));
  for (let i = 0; i < 3; i++)
    for (const [name, read] of Object.entries(readers))
      best[name] = Math.min(best[name]!, await seconds(() => read(size)));
  console.log(
    `reads of ${size >> 10} KiB: ${Object.entries(best)
      .map(([n, s]) => `${n} ${s.toFixed(3)}`)
      .join('; ')}`,
  );
}
