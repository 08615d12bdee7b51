// The run manifest (MLflow-like): one JSON document per training run at runs/ID.json.
import { z } from 'zod';

export const runStatus = z.enum(['RUNNING', 'FINISHED', 'FAILED']);

export const runManifestSchema = z.object({
  kind: z.literal('mltk.run'),
  id: z.string(),
  model: z.string(),
  status: runStatus,
  config: z.object({ source: z.string(), sha256: z.string(), copy: z.unknown() }),
  dataset: z.object({ name: z.string(), version: z.string(), pinned: z.boolean().optional(), synthetic: z.boolean().optional() }).nullable(),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  metrics: z.record(z.string(), z.number()),
  metric_history: z.record(z.string(), z.array(z.object({ step: z.number().int(), value: z.number() }))),
  artifacts: z.record(z.string(), z.object({ sha256: z.string(), bytes: z.number().int() })),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  error: z.string().nullable(),
  git: z.object({ commit: z.string(), dirty: z.boolean() }).nullable(),
});

export type RunManifest = z.infer<typeof runManifestSchema>;
export type RunStatus = z.infer<typeof runStatus>;

export function runKey(id: string): string {
  return `runs/${id}.json`;
}
