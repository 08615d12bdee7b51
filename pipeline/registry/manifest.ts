// Model registry manifests: immutable versions at models/NAME/versions/N.json, movable
// aliases at models/NAME/aliases/ALIAS.json, and each alias's append-only history at
// models/NAME/aliases/ALIAS/history/SEQ.json (how the two relate: registry.ts).
import { z } from 'zod';
import { featureSchema, derivedFeatureSchema, segmentSchema } from '../config/index.ts';
import { liftNullMetrics, undefinedMetricsSchema } from '../runs/index.ts';

const blobRef = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() });

export const signatureSchema = z.object({
  id_column: z.string(),
  features: z.array(featureSchema),
  derived: z.array(derivedFeatureSchema),
  target: z.object({ column: z.string(), unit: z.string() }),
  output: z.object({ column: z.string(), unit: z.string() }),
});

/**
 * The data a version was trained on. `pinned` and `synthetic` are absent in manifests written before
 * they existed: such a lineage is unproven, which is what a release check refuses.
 */
export const datasetLineageSchema = z.object({
  name: z.string(),
  version: z.string(),
  pinned: z.boolean().optional(),
  synthetic: z.boolean().optional(),
});

/** Where a copied version came from (`mltk models copy`). */
export const versionSourceSchema = z.object({
  store: z.string(),
  name: z.string(),
  version: z.number().int().positive(),
  artifact_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  copied_at: z.string(),
});

/** Mirrors pipeline/train's LossCalibration: what the band of an estimated RMSE or MAE is built from. */
export const lossCalibrationSchema = z.object({
  rows: z.number().int().positive(),
  folds: z.number().int().positive(),
  squared_error: z.object({ mean: z.number(), std: z.number() }),
  absolute_error: z.object({ mean: z.number(), std: z.number() }),
  held_out: z.object({ rmse: z.number(), rmse_estimated: z.number(), mae: z.number(), mae_estimated: z.number() }),
  rmse_relative_error: z.number().min(0),
  mae_relative_error: z.number().min(0),
});

const qualityThresholds = z.object({
  rmse_ratio_warn: z.number(),
  rmse_ratio_alert: z.number(),
  min_label_coverage: z.number(),
});

export const modelVersionSchema = z.preprocess(
  liftNullMetrics,
  z.object({
    kind: z.literal('mltk.model_version'),
    name: z.string(),
    version: z.number().int().positive(),
    created_at: z.string(),
    run_id: z.string().nullable(),
    dataset: datasetLineageSchema.nullable(),
    trainer: z.string(),
    artifact: blobRef.extend({ format: z.literal('onnx') }),
    baseline: blobRef.nullable(),
    /**
     * The loss estimator (Direct Loss Estimation): ONNX over the raw features and the prediction, fit on
     * the held-out rows; null when there were too few, absent for versions registered before it existed.
     */
    loss_estimator: z
      .object({ artifact: blobRef.extend({ format: z.literal('onnx') }), calibration: lossCalibrationSchema })
      .nullable()
      .optional(),
    signature: signatureSchema,
    metrics: z.record(z.string(), z.number()),
    /** Why each metric that could not be computed is missing from `metrics` (absent before it existed). */
    undefined_metrics: undefinedMetricsSchema.optional(),
    metrics_by_band: z
      .record(
        z.string(),
        z.object({ rows: z.number(), rmse: z.number(), mae: z.number(), bias: z.number().optional() }),
      )
      .optional(),
    /**
     * The config's evaluation segment `metrics_by_band` was cut by (absent in versions registered before it existed).
     */
    segment: segmentSchema.nullable().optional(),
    monitoring: z.object({
      psi_warn: z.number(),
      psi_alert: z.number(),
      drift_share: z.number(),
      quality: qualityThresholds.optional(),
    }),
    config_sha256: z.string().nullable(),
    source: versionSourceSchema.optional(),
  }),
);

export const aliasSchema = z.object({
  kind: z.literal('mltk.alias'),
  name: z.string(),
  alias: z.string(),
  version: z.number().int().positive(),
  /** The version this alias pointed at before its latest move (null for the first). */
  previous: z.number().int().positive().nullable(),
  /**
   * The history entry of the move that set this alias (its latest applied move). The applied
   * moves are that entry and the chain of entries its `after` links lead back to.
   */
  seq: z.number().int().positive(),
  updated_at: z.string(),
  reason: z.string(),
  /** Who moved it last (absent in moves recorded before this field existed). */
  by: z.string().optional(),
});

export const aliasMoveSchema = z.object({
  kind: z.literal('mltk.alias_move'),
  seq: z.number().int().positive(),
  /**
   * The applied move this one follows (the alias's seq when it was claimed; null for the first).
   * When it is not seq − 1, the entries in between were claimed by moves that never applied.
   * Absent in entries written before mltk recorded it: they always follow seq − 1.
   */
  after: z.number().int().positive().nullable().optional(),
  from: z.number().int().positive().nullable(),
  to: z.number().int().positive(),
  at: z.string(),
  reason: z.string(),
  /** Who moved it: MLTK_ACTOR, else GITHUB_ACTOR in Actions, else the OS user (absent in older entries). */
  by: z.string().optional(),
});

export type Signature = z.infer<typeof signatureSchema>;
export type DatasetLineage = z.infer<typeof datasetLineageSchema>;
export type VersionSource = z.infer<typeof versionSourceSchema>;
export type ModelVersion = z.infer<typeof modelVersionSchema>;
export type LossCalibrationManifest = z.infer<typeof lossCalibrationSchema>;
export type Alias = z.infer<typeof aliasSchema>;
export type AliasMove = z.infer<typeof aliasMoveSchema>;

export const keys = {
  versions: (name: string) => `models/${name}/versions/`,
  version: (name: string, v: number) => `models/${name}/versions/${v}.json`,
  aliases: (name: string) => `models/${name}/aliases/`,
  alias: (name: string, alias: string) => `models/${name}/aliases/${alias}.json`,
  history: (name: string, alias: string) => `models/${name}/aliases/${alias}/history/`,
  move: (name: string, alias: string, seq: number) =>
    `models/${name}/aliases/${alias}/history/${String(seq).padStart(6, '0')}.json`,
};
