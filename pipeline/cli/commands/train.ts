// `mltk train` (version → train → evaluate → register) and `mltk run` (the same, then promote):
// the main job, what `npm start` runs.
import type { Command } from 'commander';
import { loadModelConfig, type ModelConfig } from '../../config/index.ts';
import { InvalidInputError } from '../../errors/index.ts';
import { runTrainJob, promoteIfBetter, type DataSource, type TrainJobResult, type PromotionDecision } from '../../jobs/index.ts';
import { action, type CliContext } from '../context.ts';

interface TrainFlags { config: string; data?: string; dataFile?: string }

function dataSource(flags: TrainFlags, synthesizeIfMissing: boolean): DataSource {
  if (flags.data && flags.dataFile) throw new InvalidInputError('give either --data NAME[@VERSION] or --data-file FILE, not both');
  if (flags.data) return { kind: 'version', ref: flags.data };
  if (flags.dataFile) return { kind: 'file', path: flags.dataFile };
  return { kind: 'default', synthesizeIfMissing };
}

async function train(ctx: CliContext, config: ModelConfig, flags: TrainFlags, synthesizeIfMissing: boolean): Promise<TrainJobResult> {
  return runTrainJob({ store: ctx.store(), config, configSource: flags.config, data: dataSource(flags, synthesizeIfMissing), say: ctx.say, progress: ctx.progress });
}

function doc(r: TrainJobResult, promotion: PromotionDecision | null, store: string) {
  return {
    run_id: r.run_id,
    model: r.model,
    version: r.version,
    promoted: promotion?.promote ?? false,
    alias: promotion?.alias ?? null,
    promotion_reason: promotion?.reason ?? null,
    metrics: r.metrics,
    metrics_by_band: r.metrics_by_band,
    dataset: r.dataset,
    trees: r.trees,
    artifact: r.manifest.artifact,
    store,
  };
}

function summary(r: TrainJobResult, promotion: PromotionDecision | null, store: string): string[] {
  const m = r.metrics;
  return [
    `model      ${r.model}@${r.version}  (run ${r.run_id})`,
    `data       ${r.dataset.name}@${r.dataset.version.slice(0, 12)}  ${r.dataset.rows} rows (${r.dataset.origin})`,
    `test       rmse ${m.rmse.toPrecision(4)}  mae ${m.mae.toPrecision(4)}  r2 ${m.r2.toFixed(4)}${r.trees !== null ? `  trees ${r.trees}` : ''}`,
    `by band    ${Object.entries(r.metrics_by_band).map(([b, v]) => `${b}:${v.rmse.toPrecision(3)}(${v.rows})`).join('  ')}`,
    promotion ? `promotion  ${promotion.promote ? `→ @${promotion.alias}` : `not promoted to @${promotion.alias}`}: ${promotion.reason}` : 'promotion  (not attempted: use `mltk run` or `mltk models promote`)',
    `stored in  ${store}  (models/${r.model}/versions/${r.version}.json, runs/${r.run_id}.json)`,
    `next       mltk predict --model ${r.model}@${r.version} --input FILE --output FILE`,
  ];
}

export function registerTrain(program: Command): void {
  const withData = (cmd: Command) => cmd
    .requiredOption('--config <file>', 'model config (configs/NAME.json)')
    .option('--data <ref>', 'a versioned dataset NAME[@VERSION]')
    .option('--data-file <file>', 'a CSV file to version and train on');

  withData(program.command('train').description('version data, train, evaluate and register a model version (no promotion)'))
    .action(action(async (ctx, flags: TrainFlags) => {
      const r = await train(ctx, await loadModelConfig(flags.config), flags, false);
      ctx.result(doc(r, null, ctx.storeUrl), summary(r, null, ctx.storeUrl));
    }));

  withData(program.command('run').description('the main job: version data (synthesized if none) → train → evaluate → register → promote if better'))
    .action(action(async (ctx, flags: TrainFlags) => {
      const config = await loadModelConfig(flags.config);
      const r = await train(ctx, config, flags, true);
      const promotion = await promoteIfBetter(ctx.store(), config, r.manifest);
      ctx.result(doc(r, promotion, ctx.storeUrl), summary(r, promotion, ctx.storeUrl));
    }));
}
