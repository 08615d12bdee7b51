// Lambda entry point of the prediction service: API Gateway HTTP API requests (online), S3
// ObjectCreated notifications (batch) and the batch state machine's steps (events with `mltk_step`,
// handlers/scale.ts). Its settings are the MLTK_* environment variables that serviceOptionsFromEnv and
// scaleTriggerFromEnv parse (the service stack sets them: an object above MLTK_SHARD_BYTES goes to the
// state machine MLTK_BATCH_STATE_MACHINE_ARN); everything else is in pipeline/predict and pipeline/scale.
import { createPredictHandler, serviceOptionsFromEnv } from '../pipeline/predict/index.ts';
import { isScaleEvent, scaleTriggerFromEnv } from '../pipeline/scale/index.ts';
import { scaleStepsFromEnv } from './scale.ts';

const predict = createPredictHandler(() => ({
  ...serviceOptionsFromEnv(process.env),
  largeObjects: scaleTriggerFromEnv(process.env),
}));

// Load the model during Lambda's init phase (full CPU, not billed against the first request).
if (process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.MLTK_MODEL) void predict.warm();

const scale = scaleStepsFromEnv(process.env, predict);

export const handler = (event: unknown, context?: { awsRequestId?: string }) =>
  isScaleEvent(event) ? scale(event) : predict(event, context);
