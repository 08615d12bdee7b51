// A batch's drift counts: one accumulator per monitored feature, per derived feature the baseline
// profiles and for the predictions, fed chunk by chunk. The same code counts on the monitor's thread
// or in its counting workers (counting-worker.ts), whose counts merge into one set exactly.
import type { DerivedFeature, FeatureSpec } from '../config/index.ts';
import type { Column, Table } from '../data/index.ts';
// Its own module, not train's index: the counting worker loads this file (see counting-worker.ts).
import { derivedValues } from '../train/features.ts';
import { featureAccumulator, numericAccumulator, type FeatureCounts, type FeatureStats } from './accumulate.ts';
import type { BaselineProfile } from './profile.ts';

/** What to count: plain data, so a worker can be given it. */
export interface CountingPlan {
  features: readonly FeatureSpec[];
  /** Derived features the baseline profiles as numeric (the others are not monitored). */
  derived: readonly DerivedFeature[];
  baseline: BaselineProfile;
}

/** Every accumulator's counts, in the plan's order. */
export interface DriftCounts {
  features: FeatureCounts[];
  derived: FeatureCounts[];
  prediction: FeatureCounts | null;
}

export interface DriftCounter {
  /** Columns a chunk must have: the features and the inputs of the derived ones. */
  needed: string[];
  /** Whether the baseline profiles predictions (then each chunk's predictions are counted too). */
  predictions: boolean;
  /** Counts a chunk's features and derived features; its first row is at `at` in the input. */
  addFeatures(chunk: Table, source: string, at: number): void;
  addPredictions(column: Column, source: string, at: number): void;
  counts(): DriftCounts;
  merge(counts: DriftCounts): void;
  /** Per feature (features, then derived ones) and for the predictions, the statistics. */
  finish(): { features: FeatureStats[]; derived: FeatureStats[]; prediction: FeatureStats | null };
}

/** The derived features a baseline can be compared on: those it profiles as numeric. */
export function monitoredDerived(baseline: BaselineProfile, derived: readonly DerivedFeature[]): DerivedFeature[] {
  return derived.filter((d) => baseline.features.find((p) => p.name === d.name)?.type === 'numeric');
}

/** Counters for `plan`; every feature of it must have a profile in the baseline (monitorBatch checks first). */
export function driftCounter(plan: CountingPlan): DriftCounter {
  const profiles = new Map(plan.baseline.features.map((p) => [p.name, p]));
  const accs = plan.features.map((f) => [f.name, featureAccumulator(profiles.get(f.name)!, f)] as const);
  const derivedAccs = plan.derived.map((d) => [d.name, featureAccumulator(profiles.get(d.name)!)] as const);
  const predAcc = plan.baseline.prediction ? numericAccumulator(plan.baseline.prediction) : null;
  return {
    needed: [...new Set([...accs.map(([name]) => name), ...plan.derived.flatMap((d) => d.inputs)])],
    predictions: predAcc !== null,
    addFeatures(chunk, source, at) {
      for (const [name, acc] of accs) acc.add(chunk.columns.get(name)!, source, at);
      if (!plan.derived.length) return;
      const values = derivedValues(plan.derived, chunk);
      for (const [name, acc] of derivedAccs) acc.add({ kind: 'numeric', values: values.get(name)! }, source, at);
    },
    addPredictions(column, source, at) {
      predAcc?.add(column, source, at);
    },
    counts: () => ({
      features: accs.map(([, acc]) => acc.counts()),
      derived: derivedAccs.map(([, acc]) => acc.counts()),
      prediction: predAcc?.counts() ?? null,
    }),
    merge(c) {
      for (let i = 0; i < accs.length; i++) accs[i]![1].merge(c.features[i]!);
      for (let i = 0; i < derivedAccs.length; i++) derivedAccs[i]![1].merge(c.derived[i]!);
      if (predAcc && c.prediction) predAcc.merge(c.prediction);
    },
    finish: () => ({
      features: accs.map(([, acc]) => acc.finish()),
      derived: derivedAccs.map(([, acc]) => acc.finish()),
      prediction: predAcc?.finish() ?? null,
    }),
  };
}
