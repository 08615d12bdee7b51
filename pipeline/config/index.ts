export {
  modelConfigSchema,
  featureSchema,
  derivedFeatureSchema,
  trainerSchema,
  segmentSchema,
  segmentLabels,
  BOOLEAN_SEGMENTS,
  MAX_BATCH_CONCURRENCY,
} from './schema.ts';
export type { ModelConfig, FeatureSpec, DerivedFeature, TrainerSpec, GbdtParams, Segment } from './schema.ts';
export { parseModelConfig, loadModelConfig } from './load.ts';
export { pinDatasetVersion, withDatasetPin, type PinResult } from './pin.ts';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INSTANCES,
  MAX_BODY_BYTES_LIMIT,
  widestInstanceBytes,
  widestRequestBytes,
  instancesWithin,
} from './serving.ts';
