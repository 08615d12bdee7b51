// The main job (`mltk run`): train → evaluate → register (steps 1–4, the training job), then the
// gate and the promotion decision (step 5). Once a version is registered, every later failure
// names it, so a retry never trains a twin of what is already in the registry.
import { GateFailedError, MltkError } from '../errors/index.ts';
import { checkAlias } from '../registry/index.ts';
import { promoteIfBetter, type PromotionDecision } from './promote.ts';
import { runTrainJob, type TrainJobOptions, type TrainJobResult } from './train-job.ts';

export interface RunJobOptions extends Omit<TrainJobOptions, 'totalSteps'> {
  /** Overrides the config's promotion.alias (the dev deploy passes `dev`). */
  alias?: string;
}

export interface RunOutcome {
  train: TrainJobResult;
  promotion: PromotionDecision;
}

/** What was registered, for error documents and messages after step 4. */
export function registeredContext(r: TrainJobResult): Record<string, unknown> {
  return {
    run_id: r.run_id,
    model: r.model,
    version: r.version,
    unchanged: r.unchanged,
    artifact: r.manifest.artifact,
  };
}

export async function runPipelineJob(opts: RunJobOptions): Promise<RunOutcome> {
  const alias = opts.alias ?? opts.config.promotion.alias;
  checkAlias(alias); // before training: a typo must not cost a training run
  const train = await runTrainJob({ ...opts, totalSteps: 5 });
  opts.say(`[5/5] gate and promotion to @${alias}`);
  let promotion: PromotionDecision;
  try {
    promotion = await promoteIfBetter(opts.store, opts.config, train.manifest, { alias });
  } catch (e) {
    const cause = e instanceof Error ? e.message : String(e);
    const what = `${train.model}@${train.version} (run ${train.run_id})`;
    const rerun = `rerun \`mltk run\`: it reuses version ${train.version} instead of registering another`;
    const err = new MltkError(
      e instanceof MltkError ? e.code : 'INTERNAL',
      `${train.unchanged ? 'reused' : 'registered'} ${what}, but promoting it to @${alias} failed: ${cause}; ${rerun}`,
    );
    err.context = { ...registeredContext(train), promoted: false, alias };
    err.cause = e;
    throw err;
  }
  opts.say(
    promotion.promote
      ? `promoted ${train.model}@${train.version} to @${alias}: ${promotion.reason}`
      : `not promoted to @${alias}: ${promotion.reason}`,
  );
  return { train, promotion };
}

/** The exit-11 error of a run whose model failed the gate (registered, not promoted). */
export function gateFailure(outcome: RunOutcome): GateFailedError | undefined {
  const { train, promotion } = outcome;
  if (promotion.gate.passed) return undefined;
  const details = promotion.gate.checks
    .filter((c) => !c.passed)
    .map((c) => ({ field: `promotion.${c.limit}`, issue: `${c.value} vs limit ${c.threshold}` }));
  const err = new GateFailedError(
    `${train.model}@${train.version} (run ${train.run_id}) is registered but not promoted to @${promotion.alias}: ` +
      `${promotion.gate.reason}`,
    details,
  );
  err.context = { ...registeredContext(train), promoted: false, alias: promotion.alias, gate: promotion.gate };
  return err;
}
