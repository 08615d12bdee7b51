// Where values fall among a reference sample's sorted distinct values, in O(1) expected time: a
// uniform grid over the sample's range narrows each search to the few values of one cell. This is
// the monitor's hot loop: one lookup per value gives both the KS position counts and the PSI bin.

const MAX_CELLS = 1 << 16;

/**
 * Position slots of a value among distinct sorted values u[0..m-1]: slot 2j counts values strictly
 * between u[j-1] and u[j] (slot 0: below u[0], slot 2m: above u[m-1]), slot 2j+1 values equal to u[j].
 */
export interface ReferenceIndex {
  /** Distinct sorted reference values. */
  values: Float64Array;
  /** How many reference values sit at each distinct value. */
  counts: Float64Array;
  /** cellStart[g]: how many values lie in cells before g (g = 0..cells+1). */
  cellStart: Int32Array;
  cells: number;
  /** Cell of x is min(cells, floor((x − values[0]) · scale)): monotone in x, so cells never misorder values. */
  scale: number;
}

/** Reference sample (sorted, NaN-free) → its distinct values, their counts and the grid over them. */
export function referenceIndex(sorted: ArrayLike<number>): ReferenceIndex {
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (distinct.length && distinct[distinct.length - 1] === v) counts[counts.length - 1]! += 1;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const values = Float64Array.from(distinct);
  const m = values.length;
  let cells = 1;
  while (cells < 2 * m && cells < MAX_CELLS) cells *= 2;
  const scale = m > 1 ? cells / (values[m - 1]! - values[0]!) : 0;
  const cellStart = new Int32Array(cells + 2);
  for (let j = 0; j < m; j++) cellStart[cellOf(values[j]!, values[0]!, scale, cells) + 1]! += 1;
  for (let g = 1; g < cellStart.length; g++) cellStart[g]! += cellStart[g - 1]!;
  return { values, counts: Float64Array.from(counts), cellStart, cells, scale };
}

function cellOf(x: number, u0: number, scale: number, cells: number): number {
  // Math.floor, not `| 0`: a huge product (tiny range) must clamp to the last cell, not wrap. NaN
  // (∞ · 0 when the range overflows) goes to the last cell too, which keeps the map monotone.
  const c = Math.floor((x - u0) * scale);
  // biome-ignore lint/complexity/useMathMinMax: Math.min would pass NaN through; this sends it to the last cell
  return c < cells ? c : cells;
}

/** Slot of x (not NaN) among the reference values; see ReferenceIndex. */
export function slotOf(ix: ReferenceIndex, x: number): number {
  const u = ix.values;
  const m = u.length;
  if (m === 0) return 0;
  const u0 = u[0]!;
  if (x <= u0) return x === u0 ? 1 : 0;
  if (x > u[m - 1]!) return 2 * m;
  const g = cellOf(x, u0, ix.scale, ix.cells);
  let lo = ix.cellStart[g]!,
    hi = ix.cellStart[g + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (u[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return u[lo] === x ? 2 * lo + 1 : 2 * lo;
}

/** Slot counts for a sample against `ix` (NaN values are skipped). */
export function countSlots(ix: ReferenceIndex, sample: ArrayLike<number>): Float64Array {
  const slots = new Float64Array(2 * ix.values.length + 1);
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i]!;
    if (!Number.isNaN(x)) slots[slotOf(ix, x)]! += 1;
  }
  return slots;
}

/**
 * The PSI bin (number of `edges` strictly below x) of every value in each slot, or −1 where the
 * slot is a gap with an edge strictly inside it (its values need their own bin lookup).
 */
export function slotBins(ix: ReferenceIndex, edges: ArrayLike<number>): Int32Array {
  const u = ix.values;
  const m = u.length;
  const out = new Int32Array(2 * m + 1);
  let below = 0; // edges ≤ the current lower end
  for (let j = 0; j <= m; j++) {
    const a = j === 0 ? -Infinity : u[j - 1]!;
    const b = j === m ? Infinity : u[j]!;
    while (below < edges.length && edges[below]! <= a) below++;
    // Values in (a, b): an edge e with a < e < b splits them; with none, each has `below` edges under it.
    out[2 * j] = below < edges.length && edges[below]! < b ? -1 : below;
    if (j < m) {
      let under = below;
      while (under < edges.length && edges[under]! < b) under++;
      out[2 * j + 1] = under;
    }
  }
  return out;
}
