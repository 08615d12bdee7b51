export { modelConfigSchema, featureSchema, derivedFeatureSchema, trainerSchema } from './schema.ts';
export type { ModelConfig, FeatureSpec, DerivedFeature, TrainerSpec, GbdtParams } from './schema.ts';
export { parseModelConfig, loadModelConfig } from './load.ts';
