// The gate: the absolute limits of a config's `promotion` (max_rmse, min_r2, max_rmse_by_band).
// A model past one is registered (its run is evidence) but never promoted, whatever the holder.
import type { ModelConfig } from '../config/index.ts';

export interface GateCheck {
  /** The config key of the limit, e.g. `max_rmse` or `max_rmse_by_band.F`. */
  limit: string;
  threshold: number;
  /** The candidate's value; null where it cannot be measured (no test rows in the band). */
  value: number | null;
  passed: boolean;
}

export interface GateResult {
  passed: boolean;
  checks: GateCheck[];
  /** One line: every failing limit, or that all passed. */
  reason: string;
}

type Policy = ModelConfig['promotion'];
type BandMetrics = Record<string, { rows: number; rmse: number }>;

const BAND_LIMIT = 'max_rmse_by_band.';
const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(5) : String(v));

/** Pure: a non-finite metric never passes a limit (an undefined r2 is not "above" anything). */
export function checkGate(policy: Policy, metrics: Record<string, number>, byBand: BandMetrics = {}): GateResult {
  const checks: GateCheck[] = [];
  const upTo = (limit: string, value: number, max: number) =>
    checks.push({ limit, threshold: max, value, passed: Number.isFinite(value) && value <= max });
  if (policy.max_rmse !== undefined) upTo('max_rmse', metrics.rmse ?? NaN, policy.max_rmse);
  if (policy.min_r2 !== undefined) {
    const r2 = metrics.r2 ?? NaN;
    checks.push({
      limit: 'min_r2',
      threshold: policy.min_r2,
      value: r2,
      passed: Number.isFinite(r2) && r2 >= policy.min_r2,
    });
  }
  // The bands are the groups of the config's evaluation.segment (the config checks the keys).
  for (const [band, max] of Object.entries(policy.max_rmse_by_band ?? {})) {
    const m = byBand[band];
    // No held-out row in the band: nothing contradicts the limit, and the summary says it was not measured.
    if (!m || m.rows === 0) checks.push({ limit: `${BAND_LIMIT}${band}`, threshold: max, value: null, passed: true });
    else upTo(`${BAND_LIMIT}${band}`, m.rmse, max);
  }
  const failed = checks.filter((c) => !c.passed);
  const describe = (c: GateCheck) => {
    const band = c.limit.startsWith(BAND_LIMIT) ? c.limit.slice(BAND_LIMIT.length) : undefined;
    const what = band !== undefined ? `band ${band} rmse` : c.limit === 'min_r2' ? 'r2' : 'rmse';
    const cmp = c.limit === 'min_r2' ? 'is below' : 'exceeds';
    return `${what} ${c.value === null ? 'n/a' : fmt(c.value)} ${cmp} promotion.${c.limit} ${c.threshold}`;
  };
  let reason: string;
  if (checks.length === 0) reason = 'no absolute limits set (promotion.max_rmse, min_r2, max_rmse_by_band)';
  else if (failed.length) reason = failed.map(describe).join('; ');
  else reason = `within every absolute limit (${checks.map((c) => `${c.limit} ${c.threshold}`).join(', ')})`;
  return { passed: failed.length === 0, checks, reason };
}
