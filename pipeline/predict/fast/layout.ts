// Every data layout of the fast evaluator, named once: bin codes, the per-tree table the kernel
// reads, the block of bins it scores and the instance memory that holds them.
//
// A feature's float32 value becomes a one-byte bin code: its rank among the sorted distinct
// thresholds the trees test it against, so every `x <= threshold` test becomes `code > cut` on bytes.
// A missing value (NaN) must follow each node's learned default direction; since both directions
// occur for one feature, a feature whose nodes send missing values right gets a second byte column
// (a "slot") in which missing codes compare above every cut, while its first slot codes them below.
// Codes are stored XOR BIN_BIAS so the kernel's signed byte compare orders them as unsigned.

/** Rows per SIMD vector (16 one-byte lanes). */
export const LANES = 16;
/** Rows scored per kernel call: a block's bins are slot-major, slot s of row r at byte s·BLOCK_ROWS + r. */
export const BLOCK_ROWS = 256;
/** Deepest tree the kernel evaluates (a leaf index must fit in a byte lane). */
export const MAX_DEPTH = 8;
/** Most distinct thresholds per feature: codes 0…255 hold the ranks plus the missing code. */
export const MAX_THRESHOLDS = 254;

/** Which copy of a feature a slot is: missing codes below every cut (left) or above (right). */
export const SLOT_MISSING_LEFT = 0;
export const SLOT_MISSING_RIGHT = 1;
/** Missing code in a left slot; present values are rank + 1 there (1…255). */
export const MISSING_CODE_LEFT = 0;
/** Missing code in a right slot; present values are their rank there (0…254). */
export const MISSING_CODE_RIGHT = 255;
/** The cut of a padding node: no code is above it, so its test always goes left. */
export const ALWAYS_LEFT_CUT = 255;
/** Codes and cuts are stored XOR this so a signed byte compare orders them as unsigned ones. */
export const BIN_BIAS = 0x80;

/**
 * A tree padded to a perfect binary tree of its depth d, nodes in breadth-first order (node n's
 * children are 2n+1 and 2n+2), 16-byte aligned:
 *   [slot byte offset (slot·BLOCK_ROWS) as i32, per node; padded to 16 bytes]
 *   [cut, biased and repeated in 16 lanes (v128), per node]
 *   [leaf value f32, per leaf (2^d)]
 */
export interface TreeTableLayout {
  depth: number;
  nodes: number;
  leaves: number;
  /** Byte offsets within the table. */
  cutsAt: number;
  leavesAt: number;
  bytes: number;
}

export const SLOT_OFFSET_BYTES = 4;
export const CUT_BYTES = 16;
export const LEAF_BYTES = 4;
const TABLE_ALIGN = 16;

const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export function treeTableLayout(depth: number): TreeTableLayout {
  const nodes = 2 ** depth - 1;
  const leaves = 2 ** depth;
  const cutsAt = alignUp(nodes * SLOT_OFFSET_BYTES, TABLE_ALIGN);
  const leavesAt = cutsAt + nodes * CUT_BYTES;
  return { depth, nodes, leaves, cutsAt, leavesAt, bytes: alignUp(leavesAt + leaves * LEAF_BYTES, TABLE_ALIGN) };
}

/**
 * The tree directory: per tree, in ensemble order (the order leaf values are summed in), its table's address and depth.
 */
export const DIRECTORY_ENTRY_BYTES = 8;
export const DIRECTORY_TABLE = 0;
export const DIRECTORY_DEPTH = 4;

/**
 * Instance memory: [directory][tree tables][block bins: slots × BLOCK_ROWS][accumulators: BLOCK_ROWS f32].
 * Everything before the block is written once at load; the block and accumulators per kernel call.
 */
export interface MemoryLayout {
  directoryAt: number;
  tablesAt: number;
  blockAt: number;
  accAt: number;
  bytes: number;
}

export const WASM_PAGE_BYTES = 65_536;

export function memoryLayout(trees: number, tableBytes: number, slots: number): MemoryLayout {
  const directoryAt = 0;
  const tablesAt = alignUp(trees * DIRECTORY_ENTRY_BYTES, TABLE_ALIGN);
  const blockAt = alignUp(tablesAt + tableBytes, TABLE_ALIGN);
  const accAt = alignUp(blockAt + Math.max(1, slots) * BLOCK_ROWS, TABLE_ALIGN);
  return { directoryAt, tablesAt, blockAt, accAt, bytes: accAt + BLOCK_ROWS * LEAF_BYTES };
}
