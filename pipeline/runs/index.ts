export { runManifestSchema, runKey, type RunManifest, type RunStatus } from './manifest.ts';
export { RunRecorder, trackRun, getRun, listRuns, compareRuns, newRunId, type RunStart, type RunComparison } from './tracker.ts';
