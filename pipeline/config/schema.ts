// The model config contract: one JSON file per model in configs/, parsed once at the edge.
// Models differ by this file only; the pipeline code is the same for all of them.
import { z } from 'zod';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INSTANCES,
  instancesWithin,
  MAX_BODY_BYTES_LIMIT,
  widestRequestBytes,
} from './serving.ts';

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a column-style identifier (letters, digits, _)');
const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a full sha256 (64 lower-case hex digits), as `mltk data add` prints it');

export const featureSchema = z.discriminatedUnion('type', [
  z
    .object({
      name: identifier,
      type: z.literal('numeric'),
      nullable: z.boolean().default(false),
      min: z.number().optional(),
      max: z.number().optional(),
      description: z.string().optional(),
    })
    .strict(),
  z
    .object({
      name: identifier,
      type: z.literal('categorical'),
      nullable: z.boolean().default(false),
      values: z.array(z.string().min(1)).min(1, 'a categorical feature needs at least one allowed value'),
      description: z.string().optional(),
    })
    .strict(),
  z
    .object({
      name: identifier,
      type: z.literal('boolean'),
      nullable: z.boolean().default(false),
      description: z.string().optional(),
    })
    .strict(),
]);

/**
 * Per-model extra logic: derived numeric features computed from other numeric features.
 * They are declarative so the trainer computes them in TypeScript and the ONNX export
 * computes them inside the graph, with the same float semantics: no training/serving skew.
 */
export const derivedFeatureSchema = z
  .object({
    name: identifier,
    op: z.enum(['ratio', 'product', 'difference', 'sum']),
    inputs: z.tuple([identifier, identifier]),
    description: z.string().optional(),
  })
  .strict();

const gbdtParams = z
  .object({
    trees: z.number().int().min(1).max(10000),
    max_depth: z.number().int().min(1).max(16),
    learning_rate: z.number().positive().max(1),
    max_bins: z.number().int().min(2).max(256).default(256),
    min_samples_leaf: z.number().int().min(1).default(20),
    l2: z.number().min(0).default(1),
    min_split_gain: z.number().min(0).default(0),
    early_stopping_rounds: z.number().int().min(1).optional(),
    validation_fraction: z.number().gt(0).lt(0.5).default(0.1),
    threads: z.number().int().min(1).max(64).optional(),
  })
  .strict();

/**
 * How test metrics (and realized quality in production) are broken down: by bands of a numeric
 * feature (`edges` ascending, one more `labels` than edges; a value on an edge belongs to the band
 * above, as numpy.digitize), or by the values of a categorical or boolean feature.
 */
export const segmentSchema = z
  .object({
    name: identifier,
    column: identifier,
    edges: z.array(z.number()).min(1).optional(),
    labels: z.array(z.string().min(1)).optional(),
    description: z.string().optional(),
  })
  .strict();

const QUALITY_DEFAULTS = { rmse_ratio_warn: 1.1, rmse_ratio_alert: 1.25, min_label_coverage: 0.5 };

/**
 * Model quality in production against the version's test metrics: realized (from late labels) or
 * estimated RMSE at `rmse_ratio_warn`/`_alert` × the test RMSE warns/alerts; a labels batch joining
 * fewer than `min_label_coverage` of the batch's scored rows alerts (a broken label feed).
 */
const qualitySchema = z
  .object({
    rmse_ratio_warn: z.number().gt(1).default(QUALITY_DEFAULTS.rmse_ratio_warn),
    rmse_ratio_alert: z.number().gt(1).default(QUALITY_DEFAULTS.rmse_ratio_alert),
    min_label_coverage: z.number().min(0).max(1).default(QUALITY_DEFAULTS.min_label_coverage),
  })
  .strict();

const MIB = 2 ** 20;
/** Distributed Map's limit on parallel child executions. */
export const MAX_BATCH_CONCURRENCY = 10_000;
const BATCH_DEFAULTS = { shard_bytes: 256 * MIB, max_concurrency: 100 };

/**
 * Batch scoring of large objects: an object above `shard_bytes` is scored by the Step Functions
 * Distributed Map in shards of about that size (smaller ones by the predict Lambda alone), at most
 * `max_concurrency` shards at a time. Below 1 MiB a shard's Lambda start-up would outweigh its work.
 */
const batchSchema = z
  .object({
    shard_bytes: z.number().int().min(MIB).default(BATCH_DEFAULTS.shard_bytes),
    max_concurrency: z.number().int().min(1).max(MAX_BATCH_CONCURRENCY).default(BATCH_DEFAULTS.max_concurrency),
  })
  .strict();

export const trainerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('gbdt'), params: gbdtParams }).strict(),
  z
    .object({
      type: z.literal('linear'),
      params: z
        .object({ alpha: z.number().min(0).default(1) })
        .strict()
        .default({ alpha: 1 }),
    })
    .strict(),
  z
    .object({
      type: z.literal('command'),
      params: z
        .object({
          // argv, not a shell string; {train}, {test}, {output}, {config} are substituted with file paths.
          command: z.array(z.string().min(1)).min(1),
          timeout_s: z.number().int().min(1).default(3600),
        })
        .strict(),
    })
    .strict(),
]);

export const modelConfigSchema = z
  .object({
    name: identifier,
    description: z.string().optional(),
    dataset: z
      .object({
        name: identifier,
        /** The pin: the dataset version (sha256) `mltk run` trains on; `mltk data add … --pin CONFIG` writes it. */
        version: sha256.optional(),
        /** With no pin and no version in the store, `mltk run` may train on synthesized rows (marked synthetic). */
        allow_synthetic: z.boolean().default(false),
        file: z.string().optional(),
        synth_rows: z.number().int().min(100).default(20000),
        synth_seed: z.number().int().default(42),
      })
      .strict(),
    id_column: identifier,
    features: z.array(featureSchema).min(1, 'at least one feature is required'),
    derived: z.array(derivedFeatureSchema).default([]),
    target: z.object({ column: identifier, unit: z.string().min(1) }).strict(),
    output: z.object({ column: identifier }).strict(),
    split: z
      .object({
        test_fraction: z.number().gt(0).lt(1).default(0.2),
        seed: z.number().int().default(7),
      })
      .strict(),
    trainer: trainerSchema,
    promotion: z
      .object({
        alias: identifier.default('champion'),
        metric: z.enum(['rmse', 'mae', 'r2']).default('rmse'),
        min_improvement: z.number().min(0).default(0),
        // Absolute limits (the gate): a model past one is registered but never promoted.
        max_rmse: z.number().positive().optional(),
        min_r2: z.number().max(1).optional(),
        // Keyed by the labels of evaluation.segment (e.g. SAP band A–G).
        max_rmse_by_band: z.record(z.string(), z.number().positive()).optional(),
      })
      .strict(),
    evaluation: z.object({ segment: segmentSchema.optional() }).strict().default({}),
    monitoring: z
      .object({
        psi_warn: z.number().positive().default(0.1),
        psi_alert: z.number().positive().default(0.25),
        drift_share: z.number().gt(0).max(1).default(0.3),
        quality: qualitySchema.default(QUALITY_DEFAULTS),
      })
      .strict()
      .default({ psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3, quality: QUALITY_DEFAULTS }),
    serving: z
      .object({
        alias: identifier.default('prod'),
        memory_mb: z.number().int().min(128).max(10240).default(1024),
        timeout_s: z.number().int().min(1).max(900).default(60),
        alias_ttl_s: z.number().int().min(0).default(60),
        max_body_bytes: z
          .number()
          .int()
          .min(1024)
          .max(MAX_BODY_BYTES_LIMIT, {
            error: `at most ${MAX_BODY_BYTES_LIMIT} bytes: Lambda takes 6 MB for the whole API Gateway event`,
          })
          .default(DEFAULT_MAX_BODY_BYTES),
        max_instances: z.number().int().min(1).default(DEFAULT_MAX_INSTANCES),
        batch: batchSchema.default(BATCH_DEFAULTS),
      })
      .strict()
      .default({
        alias: 'prod',
        memory_mb: 1024,
        timeout_s: 60,
        alias_ttl_s: 60,
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        max_instances: DEFAULT_MAX_INSTANCES,
        batch: BATCH_DEFAULTS,
      }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    const all = [...cfg.features.map((f) => f.name), ...cfg.derived.map((d) => d.name)];
    all.forEach((name, i) => {
      if (seen.has(name))
        ctx.addIssue({
          code: 'custom',
          path: i < cfg.features.length ? ['features', i, 'name'] : ['derived', i - cfg.features.length, 'name'],
          message: `duplicate feature name "${name}"`,
        });
      seen.add(name);
    });
    const numeric = new Set(cfg.features.filter((f) => f.type !== 'categorical').map((f) => f.name));
    for (const [i, d] of cfg.derived.entries()) {
      for (const [j, input] of d.inputs.entries()) {
        if (!numeric.has(input))
          ctx.addIssue({
            code: 'custom',
            path: ['derived', i, 'inputs', j],
            message: `"${input}" is not a numeric or boolean feature of this config`,
          });
      }
    }
    for (const col of [cfg.id_column, cfg.target.column]) {
      if (seen.has(col))
        ctx.addIssue({
          code: 'custom',
          path: ['features'],
          message: `"${col}" is the id or target column and cannot also be a feature`,
        });
    }
    checkSegment(cfg.evaluation.segment, cfg.features, ctx);
    checkBandLimits(cfg.promotion.max_rmse_by_band, cfg.evaluation.segment, cfg.features, ctx);
    if (cfg.dataset.version !== undefined && cfg.dataset.file !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dataset', 'file'],
        message: 'give either dataset.file or the pin dataset.version, not both (a pin names the data by its hash)',
      });
    }
    if (cfg.monitoring.quality.rmse_ratio_warn > cfg.monitoring.quality.rmse_ratio_alert) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'quality', 'rmse_ratio_warn'],
        message: 'rmse_ratio_warn must not exceed rmse_ratio_alert',
      });
    }
    if (cfg.monitoring.psi_warn > cfg.monitoring.psi_alert)
      ctx.addIssue({ code: 'custom', path: ['monitoring', 'psi_warn'], message: 'psi_warn must not exceed psi_alert' });
    checkRequestLimits(cfg.serving, cfg.features, ctx);
  });

/** The instance limit is reachable: that many of the widest instances fit in the body limit (serving.ts). */
function checkRequestLimits(
  serving: { max_body_bytes: number; max_instances: number },
  features: z.infer<typeof featureSchema>[],
  ctx: z.RefinementCtx,
): void {
  const needed = widestRequestBytes(features, serving.max_instances);
  if (needed <= serving.max_body_bytes) return;
  const fits = instancesWithin(features, serving.max_body_bytes);
  ctx.addIssue({
    code: 'custom',
    path: ['serving', 'max_instances'],
    message:
      `${serving.max_instances} instances can take ${needed} bytes (every feature at its widest, compact JSON), ` +
      `over serving.max_body_bytes ${serving.max_body_bytes}: allow at most ${fits} instances, or more bytes`,
  });
}

function checkSegment(
  segment: z.infer<typeof segmentSchema> | undefined,
  features: z.infer<typeof featureSchema>[],
  ctx: z.RefinementCtx,
): void {
  if (!segment) return;
  const at = (key: string) => ['evaluation', 'segment', key];
  const feature = features.find((f) => f.name === segment.column);
  if (!feature) {
    ctx.addIssue({
      code: 'custom',
      path: at('column'),
      message: `"${segment.column}" is not a feature of this config`,
    });
    return;
  }
  const { edges, labels } = segment;
  if (feature.type !== 'numeric') {
    if (edges || labels)
      ctx.addIssue({
        code: 'custom',
        path: at(edges ? 'edges' : 'labels'),
        message: `"${segment.column}" is ${feature.type}: its segments are its values, no edges or labels`,
      });
    return;
  }
  if (!edges || !labels) {
    ctx.addIssue({
      code: 'custom',
      path: at(edges ? 'labels' : 'edges'),
      message: 'a numeric column is segmented by edges (ascending) and one more labels than edges',
    });
    return;
  }
  if (edges.some((e, i) => i > 0 && e <= edges[i - 1]!))
    ctx.addIssue({ code: 'custom', path: at('edges'), message: 'edges must increase strictly' });
  if (labels.length !== edges.length + 1)
    ctx.addIssue({
      code: 'custom',
      path: at('labels'),
      message: `${edges.length} edges need ${edges.length + 1} labels, got ${labels.length}`,
    });
  if (new Set(labels).size !== labels.length)
    ctx.addIssue({ code: 'custom', path: at('labels'), message: 'labels must be distinct' });
}

/** Labels of a boolean feature's two segments, as the drift profile names them. */
export const BOOLEAN_SEGMENTS = ['false', 'true'];

/** The labels a segment's groups are named by: its own labels (numeric), or the feature's values. */
export function segmentLabels(
  segment: z.infer<typeof segmentSchema>,
  feature: z.infer<typeof featureSchema> | undefined,
): string[] {
  if (segment.labels) return segment.labels;
  if (feature?.type === 'categorical') return feature.values;
  return feature?.type === 'boolean' ? BOOLEAN_SEGMENTS : [];
}

function checkBandLimits(
  limits: Record<string, number> | undefined,
  segment: z.infer<typeof segmentSchema> | undefined,
  features: z.infer<typeof featureSchema>[],
  ctx: z.RefinementCtx,
): void {
  if (!limits) return;
  const path = ['promotion', 'max_rmse_by_band'];
  if (!segment) {
    ctx.addIssue({ code: 'custom', path, message: 'needs evaluation.segment: the bands are its groups' });
    return;
  }
  const labels = segmentLabels(
    segment,
    features.find((f) => f.name === segment.column),
  );
  for (const band of Object.keys(limits)) {
    if (!labels.includes(band))
      ctx.addIssue({
        code: 'custom',
        path: [...path, band],
        message: `"${band}" is not a group of evaluation.segment "${segment.name}" (${labels.join(', ')})`,
      });
  }
}

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type Segment = z.infer<typeof segmentSchema>;
export type FeatureSpec = z.infer<typeof featureSchema>;
export type DerivedFeature = z.infer<typeof derivedFeatureSchema>;
export type TrainerSpec = z.infer<typeof trainerSchema>;
export type GbdtParams = z.infer<typeof gbdtParams>;
