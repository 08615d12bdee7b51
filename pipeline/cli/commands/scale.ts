// `mltk predict --shards N [--workers W]`: the scale-out path on one machine (pipeline/scale runs it),
// each shard process being this CLI again, as the hidden command `scale-shard`.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { MltkError, type ErrorCode } from '../../errors/index.ts';
import { loadModel } from '../../predict/index.ts';
import type { ShardProcess } from '../../scale/index.ts';
import type { ObjectStore } from '../../store/index.ts';
import { action } from '../context.ts';
import { intOption } from '../options.ts';

// Loaded when the command runs: the other commands (and --help) do not compile and evaluate its code.
const loadScale = () => import('../../scale/index.ts');
import type { PredictFlags } from './predict.ts';

/** A shard process: this CLI (same executable, same loader flags) running `scale-shard`; its JSON answer parsed. */
function shardProcess(storeUrl: string): ShardProcess {
  return (job) =>
    new Promise((resolve, reject) => {
      const args = [
        ...process.execArgv,
        process.argv[1]!,
        '--json',
        '--store',
        storeUrl,
        'scale-shard',
        '--tmp',
        job.tmp,
        '--run',
        job.runId,
        '--index',
        job.indices.join(','),
        '--threads',
        String(job.threads),
      ];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        err = (err + String(d)).slice(-4096);
      });
      child.once('error', reject);
      child.once('exit', (code) => {
        let doc: { records?: unknown; max_rss_bytes?: number; error?: { code: ErrorCode; message: string } } = {};
        try {
          doc = JSON.parse(Buffer.concat(out).toString());
        } catch {
          /* no document: the process died; its stderr says why */
        }
        if (code === 0 && doc.records) {
          resolve({ records: doc.records as never, maxRssBytes: doc.max_rss_bytes ?? 0 });
          return;
        }
        const why = doc.error?.message ?? (err.trim().split('\n').at(-1) || `exit code ${code}`);
        const message = `shard process for shards ${job.indices.join(',')} of run ${job.runId} failed: ${why}`;
        reject(doc.error ? new MltkError(doc.error.code, message) : new Error(message));
      });
    });
}

export async function runShardedPredict(store: ObjectStore, storeUrl: string, flags: PredictFlags) {
  const model = await loadModel(store, flags.model, {
    threads: flags.threads,
    fastPath: { enabled: flags.scorer !== 'onnxruntime' },
  });
  try {
    const { runLocally } = await loadScale();
    const res = await runLocally({
      model,
      input: flags.input,
      output: flags.output,
      errorsOutput: flags.errorsOutput,
      shards: flags.shards ?? 1,
      workers: flags.workers ?? 1,
      cores: availableParallelism(),
      startShards: shardProcess(storeUrl),
    });
    return {
      ...res,
      model: { name: model.name, version: model.version, sha256: model.sha256 },
      rows_per_s: res.timings.total_s > 0 ? Math.round(res.rows / res.timings.total_s) : null,
      /** This process's own peak (plan and finalize), apart from the shard processes'. */
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    model.retire();
  }
}

interface ShardFlags {
  tmp: string;
  run: string;
  index: string;
  threads: number;
}

export function registerScaleShard(program: Command): void {
  program
    .command('scale-shard', { hidden: true })
    .description('one shard process of `mltk predict --shards` (started by it)')
    .requiredOption('--tmp <url>', "the run's temporary store")
    .requiredOption('--run <id>', 'the run id')
    .requiredOption('--index <list>', 'shard indices, comma-separated')
    .option('--threads <n>', 'scoring threads', intOption('--threads'), 1)
    .action(
      action(async (ctx, flags: ShardFlags) => {
        const indices = flags.index.split(',').map((s) => Number(s));
        const { runShardsHere } = await loadScale();
        const records = await runShardsHere(ctx.store(), {
          tmp: flags.tmp,
          runId: flags.run,
          indices,
          threads: flags.threads,
        });
        const max_rss_bytes = process.resourceUsage().maxRSS * 1024;
        ctx.result({ records, max_rss_bytes }, `${records.length} shards of run ${flags.run} scored`);
      }),
    );
}
