// Lambda entry point of the prediction service: API Gateway HTTP API requests (online) and S3
// ObjectCreated notifications (batch). Its settings are the MLTK_* environment variables that
// serviceOptionsFromEnv and scaleTriggerFromEnv parse (the service stack sets them: an object above
// MLTK_SHARD_BYTES goes to the state machine MLTK_BATCH_STATE_MACHINE_ARN); everything else is in
// pipeline/predict and pipeline/scale.
import { createPredictHandler, serviceOptionsFromEnv } from '../pipeline/predict/index.ts';
import { scaleTriggerFromEnv } from '../pipeline/scale/index.ts';

const predict = createPredictHandler(() => ({
  ...serviceOptionsFromEnv(process.env),
  largeObjects: scaleTriggerFromEnv(process.env),
}));

// Load the model during Lambda's init phase (full CPU, not billed against the first request).
if (process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.MLTK_MODEL) void predict.warm();

export const handler = (event: unknown, context?: { awsRequestId?: string }) => predict(event, context);
