// Regression metrics for a test set, optionally broken down by a grouping (e.g. SAP band).

export interface GroupMetrics { rows: number; rmse: number; mae: number }
export interface Evaluation { rmse: number; mae: number; r2: number; by_group?: Record<string, GroupMetrics> }

/** Rows whose true value or prediction is NaN are left out. */
export function evaluate(yTrue: Float64Array, yPred: Float64Array, groups?: { name: string; labels: string[]; codes: Int32Array }): Evaluation {
  let n = 0, se = 0, ae = 0, sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i]!, p = yPred[i]!;
    if (Number.isNaN(y) || Number.isNaN(p)) continue;
    n++; se += (p - y) ** 2; ae += Math.abs(p - y); sum += y;
  }
  const mean = n ? sum / n : NaN;
  let ss = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i]!;
    if (!Number.isNaN(y) && !Number.isNaN(yPred[i]!)) ss += (y - mean) ** 2;
  }
  const out: Evaluation = { rmse: Math.sqrt(se / n), mae: ae / n, r2: ss > 0 ? 1 - se / ss : NaN };
  if (groups) {
    const k = groups.labels.length;
    const rows = new Float64Array(k), gse = new Float64Array(k), gae = new Float64Array(k);
    for (let i = 0; i < yTrue.length; i++) {
      const c = groups.codes[i]!;
      const y = yTrue[i]!, p = yPred[i]!;
      if (c < 0 || c >= k || Number.isNaN(y) || Number.isNaN(p)) continue;
      rows[c]!++; gse[c] += (p - y) ** 2; gae[c] += Math.abs(p - y);
    }
    out.by_group = {};
    groups.labels.forEach((label, c) => {
      if (rows[c]! > 0) out.by_group![label] = { rows: rows[c]!, rmse: Math.sqrt(gse[c]! / rows[c]!), mae: gae[c]! / rows[c]! };
    });
  }
  return out;
}

export type SapBand = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G';
export const SAP_BANDS: SapBand[] = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];

/** EPC energy efficiency band for a SAP rating: A 92+, B 81–91, C 69–80, D 55–68, E 39–54, F 21–38, G 1–20 (and below). */
export function sapBand(currentSap: number): SapBand {
  // Ratings are integers on the certificate; round so 91.6 falls in A as it would be printed.
  const s = Math.round(currentSap);
  if (s >= 92) return 'A';
  if (s >= 81) return 'B';
  if (s >= 69) return 'C';
  if (s >= 55) return 'D';
  if (s >= 39) return 'E';
  if (s >= 21) return 'F';
  return 'G';
}

/** Group codes by SAP band (index into SAP_BANDS; -1 where the rating is missing) for `evaluate`. */
export function sapBandGroups(currentSap: Float64Array): { name: string; labels: string[]; codes: Int32Array } {
  const codes = Int32Array.from(currentSap, (s) => (Number.isNaN(s) ? -1 : SAP_BANDS.indexOf(sapBand(s))));
  return { name: 'sap_band', labels: SAP_BANDS, codes };
}
