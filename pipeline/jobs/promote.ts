// Promotion policy: a new version takes the config's alias only if it beats the current
// holder on the configured metric by the configured relative margin; the first version always does.
import type { ModelConfig } from '../config/index.ts';
import { getAlias, getModelVersion, moveAlias, type ModelVersion } from '../registry/index.ts';
import type { ObjectStore } from '../store/index.ts';

export interface PromotionDecision {
  promote: boolean;
  alias: string;
  metric: 'rmse' | 'mae' | 'r2';
  candidate: number;
  incumbent: { version: number; value: number } | null;
  reason: string;
}

/**
 * Pure decision. For error metrics (rmse, mae) the candidate must be at most
 * incumbent × (1 − min_improvement); for r2 it must exceed incumbent + min_improvement.
 */
export function decidePromotion(policy: ModelConfig['promotion'], candidate: number, incumbent: { version: number; value: number } | null): PromotionDecision {
  const base = { alias: policy.alias, metric: policy.metric, candidate, incumbent };
  if (!Number.isFinite(candidate)) return { ...base, promote: false, reason: `candidate ${policy.metric} is not a number` };
  if (!incumbent) return { ...base, promote: true, reason: `first version for @${policy.alias}` };
  const m = policy.min_improvement;
  const better = policy.metric === 'r2' ? candidate > incumbent.value + m : candidate <= incumbent.value * (1 - m);
  const cmp = `${policy.metric} ${candidate.toPrecision(5)} vs ${incumbent.value.toPrecision(5)} of version ${incumbent.version}`;
  return better
    ? { ...base, promote: true, reason: `${cmp}: beats it by the required margin (${m})` }
    : { ...base, promote: false, reason: `${cmp}: does not beat it by the required margin (${m})` };
}

export async function promoteIfBetter(store: ObjectStore, config: ModelConfig, candidate: ModelVersion): Promise<PromotionDecision> {
  const policy = config.promotion;
  const alias = await getAlias(store, candidate.name, policy.alias);
  const holder = alias ? await getModelVersion(store, candidate.name, alias.version) : null;
  const incumbent = holder ? { version: holder.version, value: holder.metrics[policy.metric] ?? NaN } : null;
  const decision = decidePromotion(policy, candidate.metrics[policy.metric] ?? NaN, incumbent);
  if (decision.promote) {
    // expected: the holder we compared against; if someone moved the alias meanwhile, this conflicts.
    await moveAlias(store, candidate.name, policy.alias, candidate.version, { reason: decision.reason, expected: alias?.version ?? null });
  }
  return decision;
}
