// The run manifest (MLflow-like): one JSON document per training run at runs/ID.json.
import { z } from 'zod';

/**
 * RUNNING, FINISHED and FAILED are written by the run's own process. ABANDONED is never written: it is
 * how a reader sees a RUNNING run whose process is gone or silent (liveness.ts).
 */
const runStatus = z.enum(['RUNNING', 'FINISHED', 'FAILED', 'ABANDONED']);

/** Why each metric that could not be computed is missing from `metrics` (e.g. r2 of a constant target). */
export const undefinedMetricsSchema = z.record(z.string(), z.string());

const LEGACY_NULL_REASON = 'it was not a finite number (an older mltk recorded it as null)';
type Raw = { metrics?: unknown; metric_history?: unknown; undefined_metrics?: unknown };

/**
 * Older manifests hold a metric that was NaN as null (JSON has no NaN), which the schema rejects:
 * such a manifest (and every listing that read it) failed for good. Read the null as an undefined
 * metric with its reason, and drop null steps of a metric's history, so those stores stay usable.
 */
export function liftNullMetrics(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object') return raw;
  const r = raw as Raw;
  const out: Record<string, unknown> = { ...r };
  if (r.metrics && typeof r.metrics === 'object') {
    const entries = Object.entries(r.metrics);
    const nulls = entries.filter(([, v]) => v === null).map(([k]) => k);
    if (nulls.length) {
      out.metrics = Object.fromEntries(entries.filter(([, v]) => v !== null));
      const known = r.undefined_metrics && typeof r.undefined_metrics === 'object' ? r.undefined_metrics : {};
      out.undefined_metrics = { ...Object.fromEntries(nulls.map((k) => [k, LEGACY_NULL_REASON])), ...known };
    }
  }
  if (r.metric_history && typeof r.metric_history === 'object') {
    out.metric_history = Object.fromEntries(
      Object.entries(r.metric_history).map(([k, steps]) => [
        k,
        Array.isArray(steps) ? steps.filter((p: { value?: unknown }) => p?.value !== null) : steps,
      ]),
    );
  }
  return out;
}

export const runManifestSchema = z.preprocess(
  liftNullMetrics,
  z.object({
    kind: z.literal('mltk.run'),
    id: z.string(),
    model: z.string(),
    status: runStatus,
    config: z.object({ source: z.string(), sha256: z.string(), copy: z.unknown() }),
    dataset: z
      .object({
        name: z.string(),
        version: z.string(),
        pinned: z.boolean().optional(),
        synthetic: z.boolean().optional(),
      })
      .nullable(),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    metrics: z.record(z.string(), z.number()),
    /** Absent in runs recorded before it existed. */
    undefined_metrics: undefinedMetricsSchema.optional(),
    metric_history: z.record(z.string(), z.array(z.object({ step: z.number().int(), value: z.number() }))),
    artifacts: z.record(z.string(), z.object({ sha256: z.string(), bytes: z.number().int() })),
    started_at: z.string(),
    ended_at: z.string().nullable(),
    error: z.string().nullable(),
    git: z.object({ commit: z.string(), dirty: z.boolean() }).nullable(),
    /** The process recording the run; absent in runs recorded before it existed. */
    writer: z.object({ host: z.string(), pid: z.number().int() }).optional(),
    /** Refreshed while the run is RUNNING (every HEARTBEAT_MS); absent in older runs. */
    heartbeat_at: z.string().optional(),
    /** Only in what readers return, with status ABANDONED: why the run is judged abandoned. */
    abandoned: z.string().optional(),
  }),
);

export type RunManifest = z.infer<typeof runManifestSchema>;
export type RunStatus = z.infer<typeof runStatus>;

export function runKey(id: string): string {
  return `runs/${id}.json`;
}
