export {
  runManifestSchema,
  runKey,
  liftNullMetrics,
  undefinedMetricsSchema,
  type RunManifest,
  type RunStatus,
} from './manifest.ts';
export {
  RunRecorder,
  trackRun,
  getRun,
  listRunIds,
  listRuns,
  compareRuns,
  newRunId,
  type RunStart,
  type RunComparison,
  type RunListing,
} from './tracker.ts';
export { HEARTBEAT_MS, ABANDONED_AFTER_MS, abandonedBecause, seenStatus } from './liveness.ts';
