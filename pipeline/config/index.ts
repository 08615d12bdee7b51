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
