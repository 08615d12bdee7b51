// Monitor: baseline profiles, drift statistics, the batch report, realized and estimated quality,
// their HTML rendering and CloudWatch publishing. This file is the module's whole public surface.
export {
  buildBaselineProfile,
  profileFromReference,
  parseBaselineProfile,
  baselineProfileSchema,
  PROFILE_FORMAT,
  SAMPLE_CAP,
  DEFAULT_BINS,
  type BaselineProfile,
  type FeatureProfile,
  type NumericProfile,
  type CategoryProfile,
} from './profile.ts';
export { psi, jensenShannon, quantileEdges, PSI_EPSILON } from './stats.ts';
export { ks2samp, ksPValue, type KsResult } from './ks.ts';
export { kolmogorovSf } from './kolmogorov.ts';
export { MISSING_BUCKET, UNSEEN_BUCKET, type FeatureStats } from './accumulate.ts';
export {
  monitorBatch,
  levelOf,
  type DriftReport,
  type FeatureDrift,
  type DriftLevel,
  type Thresholds,
  type MonitorBatchInput,
} from './report.ts';
export {
  publishDriftMetrics,
  publishMonitorFailure,
  driftMetricData,
  publishQualityMetrics,
  qualityMetricData,
  metricsClient,
  defaultNamespace,
  putMetricData,
  MetricsPublishError,
  METRIC,
  DIMENSION,
  FEATURE_DIMENSION_SETS,
  MODEL_DIMENSION_SETS,
  FAILURE_DIMENSION_SETS,
  MAX_DATUMS_PER_CALL,
  type MetricsSink,
  type PublishOptions,
  type FailureContext,
} from './metrics.ts';
export { renderReport, distributionChart, BASE_COLOUR, CUR_COLOUR } from './html.ts';
export { chunkPredictor, modelScorer, type ChunkScorer, type ChunkPredictor } from './scoring.ts';
export { runMonitor, loadBaseline, monitorColumnSpecs, type MonitorRun, type MonitorResult } from './run.ts';
export { monitorBatchObject, pendingBatches, type ObjectOutcome, type ObjectRunDeps } from './objects.ts';
export { monitorLabelsObject, unpublishedQuality, type QualityOutcome } from './quality-objects.ts';
export {
  lineageSchema,
  predictionPath,
  reportPath,
  labelsPath,
  qualityPath,
  BATCH_FILES,
  manifestKey,
  predictionsKey,
  labelsKey,
  qualityKey,
  qualityHtmlKey,
  qualityMetricsKey,
  qualityPublishedKey,
  reportKey,
  reportHtmlKey,
  metricsKey,
  publishedKey,
  INCOMING_PREFIX,
  LABELS_PREFIX,
  PREDICTIONS_PREFIX,
  REPORT_PREFIX,
  type Lineage,
} from './lineage.ts';
export {
  storedDriftReportSchema,
  listDriftReportPaths,
  listScoredBatchPaths,
  readDriftReport,
  readLineage,
  listQualityPaths,
  readQuality,
  storedQualitySchema,
  type StoredQuality,
  type StoredDriftReport,
  type StoredFeatureDrift,
} from './stored.ts';
export {
  openLossEstimator,
  qualityBand,
  SAMPLING_ERROR_RANGE,
  type EstimatedQuality,
  type BatchLossEstimator,
  type LossSums,
} from './estimate.ts';
export {
  LabelJoin,
  realizedQuality,
  qualityLevel,
  type RealizedQuality,
  type LabelCounts,
  type QualityLevel,
  type QualityThresholds,
  type SegmentQuality,
} from './quality.ts';
export { runQuality, type QualityRun, type QualityReport } from './quality-run.ts';
export { renderQualityReport, estimatedSection } from './quality-html.ts';
