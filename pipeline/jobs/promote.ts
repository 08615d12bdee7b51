// Promotion policy: a new version takes the alias only if it passes the gate (the config's absolute
// limits) and beats the current holder on the configured metric by the configured margin; the
// first version that passes the gate always does. A lost race re-reads the holder and decides again.
import type { ModelConfig } from '../config/index.ts';
import { ConflictError } from '../errors/index.ts';
import { getAlias, getModelVersion, moveAlias, type ModelVersion } from '../registry/index.ts';
import { MalformedManifestError, type ObjectStore } from '../store/index.ts';
import { checkGate, type GateResult } from './gate.ts';

export interface PromotionDecision {
  promote: boolean;
  alias: string;
  metric: 'rmse' | 'mae' | 'r2';
  candidate: number;
  incumbent: { version: number; value: number } | null;
  reason: string;
  /** The absolute limits; a failed gate never promotes. */
  gate: GateResult;
  /** The holder the decision was taken against (its metrics, for the summary); null when none. */
  holder: ModelVersion | null;
  /** The candidate already held the alias: nothing to move. */
  already: boolean;
}

type Policy = ModelConfig['promotion'];

/** How often a promotion that lost a race decides again before giving up. */
export const PROMOTION_ATTEMPTS = 5;
const RETRY_BASE_MS = 20;

/**
 * Pure decision on the metric. For error metrics (rmse, mae) the candidate must be at most
 * incumbent × (1 − min_improvement); for r2 it must exceed incumbent + min_improvement.
 */
export function decidePromotion(
  policy: Policy,
  candidate: number,
  incumbent: { version: number; value: number } | null,
): Omit<PromotionDecision, 'gate' | 'holder' | 'already'> {
  const base = { alias: policy.alias, metric: policy.metric, candidate, incumbent };
  if (!Number.isFinite(candidate))
    return { ...base, promote: false, reason: `candidate ${policy.metric} is not a number` };
  if (!incumbent) return { ...base, promote: true, reason: `first version for @${policy.alias}` };
  if (!Number.isFinite(incumbent.value)) {
    // The holder's metric is undefined (e.g. r2 of a constant test target): nothing to beat.
    const reason =
      `version ${incumbent.version} has no ${policy.metric}; the candidate's is ` + `${candidate.toPrecision(5)}`;
    return { ...base, promote: true, reason };
  }
  const m = policy.min_improvement;
  const better = policy.metric === 'r2' ? candidate > incumbent.value + m : candidate <= incumbent.value * (1 - m);
  const cmp =
    `${policy.metric} ${candidate.toPrecision(5)} vs ${incumbent.value.toPrecision(5)} of version ` +
    `${incumbent.version}`;
  return better
    ? { ...base, promote: true, reason: `${cmp}: beats it by the required margin (${m})` }
    : { ...base, promote: false, reason: `${cmp}: does not beat it by the required margin (${m})` };
}

/** One decision against the alias as it is now; moves it (compare-and-swap) when the candidate wins. */
async function decideOnce(
  store: ObjectStore,
  policy: Policy,
  candidate: ModelVersion,
  gate: GateResult,
): Promise<PromotionDecision> {
  const alias = await getAlias(store, candidate.name, policy.alias);
  const value = candidate.metrics[policy.metric] ?? NaN;
  let holder: ModelVersion | null;
  try {
    holder = alias ? await getModelVersion(store, candidate.name, alias.version) : null;
  } catch (e) {
    // An unreadable holder cannot be compared against: a person decides (`mltk models promote`).
    if (!(e instanceof MalformedManifestError) || !alias) throw e;
    const reason =
      `the holder of @${policy.alias}, version ${alias.version}, cannot be read (${e.message}); promote ` +
      `with mltk models promote`;
    const incumbent = { version: alias.version, value: NaN };
    return {
      alias: policy.alias,
      metric: policy.metric,
      candidate: value,
      incumbent,
      promote: false,
      reason,
      gate,
      holder: null,
      already: false,
    };
  }
  const incumbent = holder ? { version: holder.version, value: holder.metrics[policy.metric] ?? NaN } : null;
  if (holder?.version === candidate.version) {
    const base = { alias: policy.alias, metric: policy.metric, candidate: value, incumbent, gate, holder };
    return {
      ...base,
      promote: false,
      already: true,
      reason: `version ${candidate.version} already holds @${policy.alias}`,
    };
  }
  const decision: PromotionDecision = { ...decidePromotion(policy, value, incumbent), gate, holder, already: false };
  const why = candidate.undefined_metrics?.[policy.metric];
  if (why && !decision.promote) decision.reason = `candidate ${policy.metric} is undefined: ${why}`;
  if (!gate.passed) return { ...decision, promote: false, reason: `gate failed: ${gate.reason}` };
  if (!decision.promote) return decision;
  // expected: the holder we compared against; if someone moved the alias meanwhile, this conflicts.
  await moveAlias(store, candidate.name, policy.alias, candidate.version, {
    reason: decision.reason,
    expected: alias?.version ?? null,
  });
  return decision;
}

/**
 * Gate, then promote if better. A move that loses a race (another promotion, a rollback) is not
 * retried blindly: the holder is read again and the decision taken again, up to PROMOTION_ATTEMPTS.
 */
export async function promoteIfBetter(
  store: ObjectStore,
  config: ModelConfig,
  candidate: ModelVersion,
  opts: { alias?: string } = {},
): Promise<PromotionDecision> {
  const policy = { ...config.promotion, alias: opts.alias ?? config.promotion.alias };
  const gate = checkGate(policy, candidate.metrics, candidate.metrics_by_band);
  for (let attempt = 1; ; attempt++) {
    try {
      return await decideOnce(store, policy, candidate, gate);
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= PROMOTION_ATTEMPTS) throw e;
      // Jittered backoff: racers that collided do not collide again in lockstep.
      await new Promise((r) => setTimeout(r, RETRY_BASE_MS * attempt * (1 + Math.random())));
    }
  }
}
