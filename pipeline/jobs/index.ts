// Jobs: the multi-step workflows the CLI and handlers drive (train → register → gate → promote).
export {
  runTrainJob,
  trainingColumns,
  describeLineage,
  type TrainJobOptions,
  type TrainJobResult,
} from './train-job.ts';
export { runPipelineJob, gateFailure, registeredContext, type RunJobOptions, type RunOutcome } from './run-job.ts';
export { decidePromotion, promoteIfBetter, PROMOTION_ATTEMPTS, type PromotionDecision } from './promote.ts';
export { checkGate, type GateResult, type GateCheck } from './gate.ts';
export { runSummaryMarkdown, runFailureMarkdown } from './summary.ts';
export { resolveTrainingData, SYNTH_GENERATOR, type DataSource, type DatasetLineage } from './dataset-source.ts';
export { splitRows } from './split.ts';
