// `mltk predict`: the batch path on local files: a registered model version scores a CSV or
// JSON-lines file, streaming; rows that fail validation go to an errors file. With --shards, the
// scale-out path instead (plan, shards in --workers processes, finalize: commands/scale.ts).
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { stat } from 'node:fs/promises';
import {
  defaultScoringWorkers,
  loadModel,
  scoreFile,
  warmUpScoringWorkers,
  DEFAULT_CHUNK_ROWS,
  type FastPathVerdict,
} from '../../predict/index.ts';
import { checkLocalFile, type ObjectStore } from '../../store/index.ts';
import { InvalidInputError } from '../../errors/index.ts';
import { action } from '../context.ts';
import { cliProofCache } from '../proofs.ts';
import { intOption, scorerOption, type ScorerChoice } from '../options.ts';
import { runShardedPredict } from './scale.ts';

export interface PredictFlags {
  model: string;
  input: string;
  output: string;
  errorsOutput?: string;
  chunkRows?: number;
  threads?: number;
  scorer?: ScorerChoice;
  shards?: number;
  workers?: number;
}

/**
 * Below this size an input is one block at most: this thread scores it with the model it loaded. A worker
 * would start, load its code and run it cold for one block (0.07 s of CPU on 100 rows), and only take CPU
 * from the model's load meanwhile.
 */
const IN_PROCESS_BYTES = 1 << 20;

async function runPredictCommand(store: ObjectStore, flags: PredictFlags) {
  const t0 = performance.now();
  // A file that cannot be read fails before the model loads.
  await checkLocalFile(flags.input, 'input file');
  const scoringThreads = (await stat(flags.input)).size < IN_PROCESS_BYTES ? 0 : defaultScoringWorkers();
  // The scoring workers load their code while this thread loads and proves the model.
  warmUpScoringWorkers(scoringThreads);
  const model = await loadModel(store, flags.model, {
    threads: flags.threads,
    fastPath: { enabled: flags.scorer !== 'onnxruntime' },
    proofs: cliProofCache(),
  });
  const loadS = (performance.now() - t0) / 1000;
  try {
    const res = await scoreFile(
      model,
      { input: flags.input, output: flags.output, errors: flags.errorsOutput },
      { chunkRows: flags.chunkRows, workers: scoringThreads },
    );
    return {
      rows: res.rows,
      scored: res.scored,
      errors: res.errors,
      issues: res.issues,
      model: { name: model.name, version: model.version, sha256: model.sha256 },
      scorer: model.fastPath.used ? 'fast' : 'onnxruntime',
      fast_path: model.fastPath,
      input: { path: flags.input, ...res.input },
      output: res.output,
      errors_output: res.errors_output,
      timings: { load_s: Math.round(loadS * 1000) / 1000, ...res.timings },
      workers: res.workers,
      rows_per_s: res.timings.total_s > 0 ? Math.round(res.rows / res.timings.total_s) : null,
    };
  } finally {
    model.retire();
  }
}

/** The human result's scorer: the fast evaluator with its proof (made now or kept from an earlier load), or ORT. */
function scorerLine(fast: FastPathVerdict): string {
  if (!fast.used) return 'ONNX Runtime';
  const kept = fast.kept ? ', a proof kept from an earlier load' : '';
  return `fast evaluator (proven equal to ONNX Runtime on ${fast.probe_rows} probe rows${kept})`;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('score a CSV or JSON-lines file with a registered model; bad rows go to an errors file')
    .requiredOption('--model <ref>', 'NAME@ALIAS, NAME@VERSION or NAME (latest)')
    .requiredOption(
      '--input <file>',
      'rows to score: .csv, .jsonl or .ndjson, with the id column and every feature (with --shards, also ' +
        's3://bucket/key)',
    )
    .requiredOption(
      '--output <file>',
      'predictions CSV: id, prediction, model_name, model_version (with --shards, also s3://bucket/key)',
    )
    .option(
      '--errors-output <file>',
      'rows that failed validation: row, field, reason (default: OUTPUT with .errors.csv)',
    )
    .option('--chunk-rows <n>', 'rows per scoring call', intOption('--chunk-rows'), DEFAULT_CHUNK_ROWS)
    .option(
      '--shards <n>',
      'score as the cloud scores large objects: cut the input into N shards of whole rows (about equal), score each ' +
        'in a shard process, assemble the outputs (byte-identical to one pass)',
      intOption('--shards'),
    )
    .option(
      '--workers <n>',
      'with --shards: shard processes at once (default 1); the cores are shared among them',
      intOption('--workers'),
    )
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', intOption('--threads'))
    .option(
      '--scorer <auto|onnxruntime>',
      'auto: the fast tree evaluator where it is proven equal to ONNX Runtime at load',
      scorerOption,
      'auto',
    )
    .action(
      action(async (ctx, flags: PredictFlags) => {
        ctx.say(`scoring ${flags.input} with ${flags.model}…`);
        if (flags.shards !== undefined) {
          const r = await runShardedPredict(ctx.store(), ctx.storeUrl, flags);
          const t = r.timings;
          ctx.result(r, [
            `${r.model.name} v${r.model.version}: ${r.rows} rows → ${r.scored} scored, ${r.errors} with errors`,
            `predictions ${r.output}`,
            `errors      ${r.errors_output}${
              r.errors ? ` (${r.issues} issue${r.issues === 1 ? '' : 's'})` : ' (none)'
            }`,
            `shards      ${r.shards} in ${r.workers} process${r.workers === 1 ? '' : 'es'} of ` +
              `${r.threads_per_worker} thread${r.threads_per_worker === 1 ? '' : 's'} ` +
              `(peak RSS ${r.worker_peak_rss_mb.join(', ')} MB)`,
            `time        ${t.total_s.toFixed(2)} s (plan ${t.plan_s.toFixed(2)}, shards ${t.shards_s.toFixed(2)}, ` +
              `finalize ${t.finalize_s.toFixed(2)}) · ${r.rows_per_s ?? '-'} rows/s`,
          ]);
          return;
        }
        if (flags.workers !== undefined) throw new InvalidInputError('--workers needs --shards');
        const r = await runPredictCommand(ctx.store(), flags);
        const t = r.timings;
        if (flags.scorer !== 'onnxruntime' && !r.fast_path.used)
          ctx.warn(
            `fast evaluator not used for ${r.model.name} v${r.model.version} (${
              r.fast_path.reason
            }); scoring with ONNX Runtime`,
          );
        ctx.result(r, [
          `${r.model.name} v${r.model.version}: ${r.rows} rows → ${r.scored} scored, ${r.errors} with errors`,
          `predictions ${r.output}`,
          `errors      ${r.errors_output}${r.errors ? ` (${r.issues} issue${r.issues === 1 ? '' : 's'})` : ' (none)'}`,
          `scorer      ${scorerLine(r.fast_path)}`,
          `time        ${t.total_s.toFixed(2)} s (load ${t.load_s.toFixed(2)}, parse ${t.parse_s.toFixed(2)}, ` +
            `score ${t.score_s.toFixed(2)}, write ${t.write_s.toFixed(2)}) · ${r.rows_per_s ?? '-'} rows/s`,
        ]);
      }),
    );
}
