// Serving: model versions loaded into ONNX Runtime, the online API, batch scoring of files and
// objects, the Lambda/serve handler, logs and metrics. This file is the module's whole public surface.
export {
  loadModel,
  loadModelVersion,
  ModelCache,
  RETRY_LOAD_MS,
  type LoadedModel,
  type ModelCacheOptions,
} from './model.ts';
export { instanceSchema, columnSpecs, type Instance, type InstanceSchemaOptions } from './signature.ts';
export { instancesToChunk } from './instances.ts';
export {
  buildFeeds,
  buildInputs,
  toFeeds,
  runFeeds,
  inputPlan,
  OUTPUT_NAME,
  type InputPlan,
  type InputColumn,
} from './score.ts';
export { startScoringWorker, warmUpScoringWorkers, defaultScoringWorkers, type Scorer } from './worker.ts';
export { loadTreeHeads, type TreeHeads, type TreeHeadsOptions } from './heads.ts';
export type { FastPathVerdict } from './fast-path.ts';
export { directoryProofCache, proofKey, type ProofCache, type KeptProof } from './proof-cache.ts';
export {
  scoreBatch,
  batchFormat,
  DEFAULT_CHUNK_ROWS,
  LINEAGE_COLUMNS,
  ERRORS_HEADER,
  predictionsHeader,
  type BatchFormat,
  type BatchResult,
  type BatchSinks,
  type BatchOptions,
} from './batch.ts';
export {
  outputKeys,
  OUTPUT_FILES,
  errorsPathFor,
  fileSinks,
  storeSinks,
  scoreObject,
  scoreFile,
  writeRejected,
  INCOMING_PREFIX,
  PREDICTIONS_PREFIX,
  type OutputKeys,
  type ObjectBatchResult,
} from './outputs.ts';
export { handleApiRequest, routeOf, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INSTANCES, type ApiOptions } from './api.ts';
export { parseEvent, type HttpEvent, type HttpResult, type S3ObjectRef } from './events.ts';
export { httpError, MethodNotAllowedError, RouteNotFoundError, ModelUnavailableError, MAX_DETAILS } from './errors.ts';
export {
  createPredictHandler,
  serviceOptionsFromEnv,
  type ServiceOptions,
  type PredictHandler,
  type BatchEventResult,
} from './service.ts';
export { startLocalServer, toHttpEvent, type LocalServer } from './http-server.ts';
export {
  handOffLarge,
  type LargeObjectRoute,
  type ObjectToHandOff,
  type HandedOff,
  type Skipped,
} from './handoff.ts';
export { emfLine, metricNamespace, METRICS } from './telemetry.ts';
export { shortestFloat32 } from './format.ts';
