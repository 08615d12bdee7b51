// Packs low-cardinality features (booleans, small categoricals) into shared byte columns: a bundle's
// code is a mixed-radix number of its members' bins, so one histogram update covers several
// features and each member's histogram is recovered by summing over the others' digits. On EPC-like
// data this turns 23 features into ~13 columns, nearly halving histogram work.
import type { BinnedFeatures } from './binning.ts';
import {
  BIN_CODES,
  HIST_CELL,
  LAYOUT_WIDTH,
  MEMBER_MISSING,
  MEMBER_STATES,
  MEMBER_STRIDE,
  MEMBER_WIDTH,
  MISSING_BIN,
  MISSING_CELL,
} from './layout.ts';

export interface BundledColumns {
  columns: number;
  /** rows × columns bytes, row-major. */
  bins: Uint8Array;
  /** Per column: [first member, member count]. */
  layout: Int32Array;
  members: Int32Array;
  /**
   * Per member, BIN_CODES entries: where each bundle code lands in the member's own histogram (its bin's cell, or
   * MISSING_CELL).
   */
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
    if (states[f]! > 128) {
      placed.push([f]);
      continue;
    }
    const g = groups.findIndex((_, i) => products[i]! * states[f]! <= BIN_CODES);
    if (g >= 0) {
      groups[g]!.push(f);
      products[g]! *= states[f]!;
      continue;
    }
    groups.push([f]);
    products.push(states[f]!);
    placed.push(groups[groups.length - 1]!);
  }
  const C = placed.length;
  const layout = new Int32Array(LAYOUT_WIDTH * C);
  const members: number[] = [];
  const bins = new Uint8Array(n * C);
  placed.forEach((group, c) => {
    layout[LAYOUT_WIDTH * c] = members.length / MEMBER_WIDTH;
    layout[LAYOUT_WIDTH * c + 1] = group.length;
    if (group.length === 1) {
      const f = group[0]!;
      members.push(f, 0, BIN_CODES, edges[f]!.length, hasMissing[f] ? MISSING_BIN : -1);
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
        bins[i * C + c]! += (b === MISSING_BIN ? nb : b) * stride;
      }
      stride *= states[f]!;
    }
  });
  const M = members.length / MEMBER_WIDTH;
  const codeBins = new Int32Array(M * BIN_CODES);
  for (let m = 0; m < M; m++) {
    const stride = members[MEMBER_WIDTH * m + MEMBER_STRIDE]!;
    if (stride === 0) continue;
    const states = members[MEMBER_WIDTH * m + MEMBER_STATES]!;
    const missingState = members[MEMBER_WIDTH * m + MEMBER_MISSING]!;
    for (let code = 0; code < BIN_CODES; code++) {
      const digit = Math.floor(code / stride) % states;
      codeBins[BIN_CODES * m + code] = digit === missingState ? MISSING_CELL : HIST_CELL * digit;
    }
  }
  return { columns: C, bins, layout, members: Int32Array.from(members), codeBins };
}
