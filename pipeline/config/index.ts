export { modelConfigSchema, featureSchema, derivedFeatureSchema, trainerSchema, segmentSchema } from './schema.ts';
export type { ModelConfig, FeatureSpec, DerivedFeature, TrainerSpec, GbdtParams, Segment } from './schema.ts';
export { parseModelConfig, loadModelConfig } from './load.ts';
