// Packs low-cardinality features (booleans, small categoricals) into shared byte columns: a bundle's
// code is a mixed-radix number of its members' bins, so one histogram update covers several
// features and each member's histogram is recovered by summing over the others' digits. On EPC-like
// data this turns 23 features into ~13 columns, nearly halving histogram work.
import { MISSING_BIN, type BinnedFeatures } from './binning.ts';

/** Per member of a column: feature, stride (0 = the column is the feature's own bins), states, value bins, missing state (-1 = none). */
export const MEMBER_WIDTH = 5;

export interface BundledColumns {
  columns: number;
  /** rows × columns bytes, row-major. */
  bins: Uint8Array;
  /** Per column: [first member, member count]. */
  layout: Int32Array;
  members: Int32Array;
  /** Per member, 256 entries: where each bundle code lands in the member's own histogram (2·bin, or 510 if missing). */
  codeBins: Int32Array;
}

export function bundleColumns(data: BinnedFeatures): BundledColumns {
  const { rows: n, features: F, byFeature, hasMissing, edges } = data;
  const states = edges.map((e, f) => e.length + hasMissing[f]!);
  // Greedy first fit in feature order; a feature with more than 128 states can never share a byte.
  const groups: number[][] = [];
  const products: number[] = [];
  const placed: number[][] = [];
  for (let f = 0; f < F; f++) {
    if (states[f]! > 128) { placed.push([f]); continue; }
    const g = groups.findIndex((_, i) => products[i]! * states[f]! <= 256);
    if (g >= 0) { groups[g]!.push(f); products[g]! *= states[f]!; continue; }
    groups.push([f]);
    products.push(states[f]!);
    placed.push(groups[groups.length - 1]!);
  }
  const C = placed.length;
  const layout = new Int32Array(2 * C);
  const members: number[] = [];
  const bins = new Uint8Array(n * C);
  placed.forEach((group, c) => {
    layout[2 * c] = members.length / MEMBER_WIDTH;
    layout[2 * c + 1] = group.length;
    if (group.length === 1) {
      const f = group[0]!;
      members.push(f, 0, 256, edges[f]!.length, hasMissing[f] ? MISSING_BIN : -1);
      const src = byFeature.subarray(f * n, (f + 1) * n);
      for (let i = 0; i < n; i++) bins[i * C + c] = src[i]!;
      return;
    }
    let stride = 1;
    for (const f of group) {
      const nb = edges[f]!.length;
      members.push(f, stride, states[f]!, nb, hasMissing[f] ? nb : -1);
      const src = byFeature.subarray(f * n, (f + 1) * n);
      for (let i = 0; i < n; i++) {
        const b = src[i]!;
        bins[i * C + c] += (b === MISSING_BIN ? nb : b) * stride;
      }
      stride *= states[f]!;
    }
  });
  const M = members.length / MEMBER_WIDTH;
  const codeBins = new Int32Array(M * 256);
  for (let m = 0; m < M; m++) {
    const stride = members[MEMBER_WIDTH * m + 1]!;
    if (stride === 0) continue;
    const states = members[MEMBER_WIDTH * m + 2]!;
    const missingState = members[MEMBER_WIDTH * m + 4]!;
    for (let code = 0; code < 256; code++) {
      const digit = Math.floor(code / stride) % states;
      codeBins[256 * m + code] = digit === missingState ? 510 : 2 * digit;
    }
  }
  return { columns: C, bins, layout, members: Int32Array.from(members), codeBins };
}
