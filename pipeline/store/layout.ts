// The key layout of the stores and buckets, named once: the code that writes and reads them and the
// IAM policies that scope each role (deployment/infra) are built from these same names.
//
// Model store (a folder, or the model bucket):
//   blobs/sha256/ab/cdef…                       dataset bytes, content-addressed (and, in stores written
//                                               before model artifacts had their own prefix, models' too)
//   datasets/NAME/versions/SHA256.json          dataset versions
//   runs/ID.json                                training runs
//   models/NAME/…                               everything serving model NAME reads, and nothing else:
//     models/NAME/artifacts/sha256/ab/cdef…     its artifacts (ONNX, baseline profiles), content-addressed
//     models/NAME/versions/N.json, aliases/…    its registry manifests
// Data bucket: incoming/<path> (inputs to score: .csv, .jsonl, .ndjson), labels/<path> (the late labels
// of the batch incoming/<path>: its id and target columns, CSV or JSON lines as the input). Predictions
// bucket, one folder per input (<path> keeps its extension): predictions/<path>/… (outputs and lineage),
// monitoring/<path>/… (drift and quality reports and their CloudWatch datums), tmp/scale/<run_id>/… (a sharded
// scoring run's plan, items and parts: temporary, deleted by its finalize; see pipeline/scale/contract.ts).

export const BLOBS_PREFIX = 'blobs/sha256/';
export const MODELS_PREFIX = 'models/';
export const INCOMING_PREFIX = 'incoming/';
export const LABELS_PREFIX = 'labels/';
export const PREDICTIONS_PREFIX = 'predictions/';
export const MONITORING_PREFIX = 'monitoring/';
/** Sharded scoring runs' temporary objects in the predictions bucket, one folder per run id. */
export const SCALE_TMP_PREFIX = 'tmp/scale/';
const ARTIFACTS_DIR = 'artifacts/sha256/';

/** Every key of model `name`: a role given `models/NAME/*` can serve it and read nothing else. */
export const modelPrefix = (name: string): string => `${MODELS_PREFIX}${name}/`;
export const modelArtifactsPrefix = (name: string): string => `${modelPrefix(name)}${ARTIFACTS_DIR}`;

/** `ab/cdef…`: the first byte of the digest as a folder, as DVC's cache, so no folder grows past 1/256 of the blobs. */
export const shardedDigest = (sha256: string): string => `${sha256.slice(0, 2)}/${sha256.slice(2)}`;
