// `mltk train` (version → train → evaluate → register) and `mltk run` (the same, then the gate and
// the promotion decision): the main job, what `npm start` and the dev deploy run.
import type { Command } from 'commander';
import { loadModelConfig, type ModelConfig } from '../../config/index.ts';
import { InvalidInputError, MltkError } from '../../errors/index.ts';
import type { DataSource, TrainJobResult, PromotionDecision, RunOutcome } from '../../jobs/index.ts';
import { loadModelVersion } from '../../predict/index.ts';
import type { ModelVersion } from '../../registry/index.ts';
import { action, writeStepOutputs, writeStepSummary, type CliContext } from '../context.ts';
import { cliProofCache } from '../proofs.ts';

// Loaded when the command runs: the other commands (and --help) do not compile and evaluate its code.
const loadJobs = () => import('../../jobs/index.ts');
type Jobs = Awaited<ReturnType<typeof loadJobs>>;

interface TrainFlags {
  config: string;
  data?: string;
  dataFile?: string;
}
interface RunFlags extends TrainFlags {
  alias?: string;
}

function dataSource(flags: TrainFlags, synthesizeIfMissing: boolean): DataSource {
  if (flags.data && flags.dataFile)
    throw new InvalidInputError('give either --data NAME[@VERSION] or --data-file FILE, not both');
  if (flags.data) return { kind: 'version', ref: flags.data };
  if (flags.dataFile) return { kind: 'file', path: flags.dataFile };
  return { kind: 'default', synthesizeIfMissing };
}

function doc(r: TrainJobResult, promotion: PromotionDecision | null, store: string) {
  return {
    run_id: r.run_id,
    model: r.model,
    version: r.version,
    promoted: promotion?.promote ?? false,
    alias: promotion?.alias ?? null,
    promotion_reason: promotion?.reason ?? null,
    unchanged: r.unchanged,
    gate: promotion
      ? { passed: promotion.gate.passed, reason: promotion.gate.reason, checks: promotion.gate.checks }
      : null,
    holder: promotion?.holder ? { version: promotion.holder.version, metrics: promotion.holder.metrics } : null,
    metrics: r.metrics,
    undefined_metrics: r.undefined_metrics,
    metrics_by_band: r.metrics_by_band,
    dataset: r.dataset,
    trees: r.trees,
    artifact: r.manifest.artifact,
    loss_estimator: r.manifest.loss_estimator ?? null,
    store,
  };
}

const num = (v: number | null, digits: number): string => (v === null ? 'undefined' : v.toPrecision(digits));

function summary(jobs: Jobs, r: TrainJobResult, promotion: PromotionDecision | null, store: string): string[] {
  const m = r.metrics;
  const d = r.dataset;
  const lineage = jobs.describeLineage({ origin: d.origin, lineage: d });
  let promo = 'promotion  (not attempted: use `mltk run` or `mltk models promote`)';
  if (promotion) {
    const gate = `${promotion.gate.passed ? 'passed' : 'FAILED'}: ${promotion.gate.reason}`;
    promo =
      `promotion  ${promotion.promote ? `→ @${promotion.alias}` : `not promoted to @${promotion.alias}`}: ` +
      `${promotion.reason}\ngate       ${gate}`;
  }
  return [
    `model      ${r.model}@${r.version}  (run ` +
      `${r.run_id})${r.unchanged ? '  unchanged: the same model was already registered' : ''}`,
    `data       ${d.name}@${d.version.slice(0, 12)}  ${d.rows} rows (${lineage})`,
    `test       rmse ${num(m.rmse, 4)}  mae ${num(m.mae, 4)}  r2 ` +
      `${m.r2 === null ? 'undefined' : m.r2.toFixed(4)}${r.trees !== null ? `  trees ${r.trees}` : ''}`,
    ...Object.entries(r.undefined_metrics).map(([k, why]) => `undefined  ${k}: ${why}`),
    `by band    ${Object.entries(r.metrics_by_band)
      .map(([b, v]) => `${b}:${v.rmse.toPrecision(3)}(${v.rows})`)
      .join('  ')}`,
    promo,
    `stored in  ${store}  (models/${r.model}/versions/${r.version}.json, runs/${r.run_id}.json)`,
    `next       mltk predict --model ${r.model}@${r.version} --input FILE --output FILE`,
  ];
}

/** Step outputs for the deploy workflow: this run's version and what the alias serves now. */
function outputs(o: RunOutcome): Record<string, string | number | boolean> {
  const { train: t, promotion: p } = o;
  const serving = p.promote || p.already ? t.manifest : p.holder;
  return {
    model: t.model,
    version: t.version,
    sha256: t.manifest.artifact.sha256,
    run_id: t.run_id,
    promoted: p.promote,
    unchanged: t.unchanged,
    alias: p.alias,
    alias_version: serving?.version ?? '',
    alias_sha256: serving?.artifact.sha256 ?? '',
  };
}

/**
 * Proves the fast path of the version just registered and keeps the proof (predict/proof-cache.ts), so
 * the first `mltk predict` of it with this build reads it instead of proving at its load. A load that
 * fails here is only a warning: the version is registered, and predict reports the same failure.
 */
async function keepProofOf(ctx: CliContext, manifest: ModelVersion): Promise<void> {
  const proofs = cliProofCache();
  if (!proofs) return;
  try {
    (await loadModelVersion(ctx.store(), manifest, { proofs })).retire();
  } catch (e) {
    ctx.warn(`${manifest.name} v${manifest.version} did not load for its proof: ${(e as Error).message}`);
  }
}

async function runCommand(ctx: CliContext, config: ModelConfig, flags: RunFlags): Promise<void> {
  const jobs = await loadJobs();
  const { runPipelineJob, runFailureMarkdown, runSummaryMarkdown, gateFailure } = jobs;
  let outcome: RunOutcome;
  try {
    outcome = await runPipelineJob({
      store: ctx.store(),
      config,
      configSource: flags.config,
      data: dataSource(flags, true),
      alias: flags.alias,
      say: ctx.say,
      progress: ctx.progress,
    });
  } catch (e) {
    writeStepSummary(
      runFailureMarkdown(
        config.name,
        e instanceof Error ? e.message : String(e),
        e instanceof MltkError ? e.context : undefined,
      ),
    );
    throw e;
  }
  await keepProofOf(ctx, outcome.train.manifest);
  writeStepSummary(runSummaryMarkdown(outcome, ctx.storeUrl));
  writeStepOutputs(outputs(outcome));
  const failed = gateFailure(outcome);
  if (failed) throw failed;
  ctx.result(
    doc(outcome.train, outcome.promotion, ctx.storeUrl),
    summary(jobs, outcome.train, outcome.promotion, ctx.storeUrl),
  );
}

export function registerTrain(program: Command): void {
  const withData = (cmd: Command) =>
    cmd
      .requiredOption('--config <file>', 'model config (configs/NAME.json)')
      .option(
        '--data <ref>',
        "a versioned dataset NAME[@VERSION] (default: the config's pin dataset.version, else the latest)",
      )
      .option('--data-file <file>', 'a CSV file to version and train on');

  withData(
    program.command('train').description('version data, train, evaluate and register a model version (no promotion)'),
  ).action(
    action(async (ctx, flags: TrainFlags) => {
      const jobs = await loadJobs();
      const r = await jobs.runTrainJob({
        store: ctx.store(),
        config: await loadModelConfig(flags.config),
        configSource: flags.config,
        data: dataSource(flags, false),
        say: ctx.say,
        progress: ctx.progress,
      });
      await keepProofOf(ctx, r.manifest);
      ctx.result(doc(r, null, ctx.storeUrl), summary(jobs, r, null, ctx.storeUrl));
    }),
  );

  withData(
    program
      .command('run')
      .description(
        "the main job: data (the config's pin; synthesized only if dataset.allow_synthetic) → train → evaluate → " +
          'register → gate → promote if better',
      ),
  )
    .option('--alias <alias>', "alias to promote (default: the config's promotion.alias)")
    .action(action(async (ctx, flags: RunFlags) => runCommand(ctx, await loadModelConfig(flags.config), flags)));
}
