// Scale-out batch scoring: one large input split into shards (plan), each scored by the batch scorer
// of pipeline/predict on its byte range (shard), assembled into the usual outputs (finalize). The
// same modules run under Step Functions (Distributed Map) and in `mltk predict --shards N`.
export {
  SCALE_STATES,
  SCALE_METRICS,
  SCALE_STEPS,
  SCALE_TMP_PREFIX,
  STEP_FIELD,
  NON_RETRYABLE_ERRORS,
  RUN_ID_PATTERN,
  inputObjectSchema,
  executionInputSchema,
  planEventSchema,
  planResultSchema,
  shardEventSchema,
  shardResultSchema,
  finalizeEventSchema,
  finalizeResultSchema,
  scaleEventSchema,
  isScaleEvent,
  needsShards,
  runIdFor,
  runPrefix,
  runKeys,
  type ScaleStep,
  type InputObject,
  type ExecutionInput,
  type PlanEvent,
  type PlanResult,
  type ShardEvent,
  type ShardResult,
  type FinalizeEvent,
  type FinalizeResult,
  type ScaleEvent,
} from './contract.ts';
export { scaleTrigger, scaleTriggerFromEnv, executionArnOf, type ScaleTriggerOptions } from './trigger.ts';
export { rowCutter, type ShardRange } from './cuts.ts';
export { planRun, cutInput, MAX_HEADER_BYTES, type PlanOptions } from './plan.ts';
export { runShard, shardResult, checkModel, type ShardOptions, type ModelFor } from './shard.ts';
export { finalizeRun, deleteRun, type FinalizeOptions, type RunOutputs, type OutputRef } from './finalize.ts';
export { storedInput, pinnedInput, type InputSource } from './source.ts';
export { readPlan, planRecordSchema, shardRecordSchema, type PlanRecord, type ShardRecord } from './records.ts';
export { createScaleSteps, shardEmfLine, type ScaleStepsOptions, type ScaleStepResult } from './steps.ts';
export { runLocally, runShardsHere, type LocalRunOptions, type LocalRunResult, type ShardProcess } from './local.ts';
