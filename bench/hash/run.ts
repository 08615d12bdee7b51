// Hashing/upload benchmark: `mltk data add` (stream: sha256 + CSV profile + store as a blob)
// and our plain streaming sha256, side by side with `sha256sum` on the same file, in one run.
// Usage: npx tsx bench/hash/run.ts [--rows 8000000] (≈1 GB of synthetic EPC CSV)
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeSynthCsv } from '../../pipeline/data/index.ts';

const rows = Number(process.argv[process.argv.indexOf('--rows') + 1] || 8_000_000);
const work = resolve('bench/.work/hash');
await mkdir(work, { recursive: true });
const file = join(work, `epc-${rows}.csv`);
if (!existsSync(file)) {
  process.stderr.write(`generating ${rows} rows → ${file}\n`);
  const out = createWriteStream(file);
  await writeSynthCsv({ rows, seed: 1 }, out);
  await new Promise<void>((r) => out.end(() => r()));
}
const bytes = statSync(file).size;

/** Wall seconds and peak RSS (MB) of a whole process, from GNU time. */
function timed(cmd: string[], env: NodeJS.ProcessEnv = process.env): { wall: number; rssMb: number; out: string } {
  const res = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', ...cmd], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = /TIME ([\d.]+) (\d+)/.exec(res.stderr);
  if (res.status !== 0 || !m) throw new Error(`${cmd.join(' ')} failed: ${res.stderr.slice(-800)}`);
  return { wall: Number(m[1]), rssMb: Number(m[2]) / 1024, out: res.stdout };
}

const node = process.execPath;
const tsx = ['--import', 'tsx'];
const hashOnly = [
  node,
  ...tsx,
  '-e',
  `import('${resolve('pipeline/store/index.ts')}').then(m => m.hashFile('${file}')).then(r => console.log(r.sha256))`,
];
const results: Record<string, { wall: number; rssMb: number }> = {};
const repeats = 3;
for (let i = 0; i < repeats; i++) {
  const store = join(work, 'store');
  await rm(store, { recursive: true, force: true });
  const runs: [string, string[]][] = [
    ['sha256sum', ['sha256sum', file]],
    ['mltk hashFile (sha256 only)', hashOnly],
    [
      'mltk data add (sha256 + profile + store)',
      [node, resolve('pipeline/cli/bin.js'), '--store', store, 'data', 'add', file, '--dataset', 'bench', '--json'],
    ],
  ];
  for (const [name, cmd] of runs) {
    const r = timed(cmd);
    const best = results[name];
    if (!best || r.wall < best.wall) results[name] = { wall: r.wall, rssMb: r.rssMb };
  }
}
const ref = results.sha256sum!;
const mb = bytes / (1 << 20);
console.log(
  `file: ${file} (${mb.toFixed(0)} MiB, ${rows} rows); best of ${repeats}; ` +
    `${execFileSync('nproc').toString().trim()} cores`,
);
console.log(['what', 'wall s', 'MiB/s', 'vs sha256sum (time ratio)', 'peak RSS MiB'].join('\t'));
for (const [name, r] of Object.entries(results)) {
  console.log(
    [name, r.wall.toFixed(2), (mb / r.wall).toFixed(0), (r.wall / ref.wall).toFixed(2), r.rssMb.toFixed(0)].join('\t'),
  );
}
