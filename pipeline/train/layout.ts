// The binary layouts the trainer's threads share, named once. The kernels (kernel.ts) read these
// names; worker threads run the kernels' source text, so threads.ts defines the same names in the
// worker from KERNEL_CONSTANTS. Bins and bundles (binning.ts, bundles.ts) write what they describe.

/** Bin codes per feature: value bins 0…254 and MISSING_BIN; a code is one byte. */
export const BIN_CODES = 256;
export const MISSING_BIN = 255;

/** A histogram cell: (gradient sum, row count), two float64s. */
export const HIST_CELL = 2;
/**
 * Histograms: per slot (one per node being split), per column, BIN_CODES cells in code order; slot s,
 * column c starts at (s · columns + c) · COLUMN_STRIDE.
 */
export const COLUMN_STRIDE = BIN_CODES * HIST_CELL;
/** Where the missing bin's cell starts inside a column's histogram. */
export const MISSING_CELL = MISSING_BIN * HIST_CELL;

/** Per column of the bundled matrix: (first member, member count). */
export const LAYOUT_WIDTH = 2;
/** Per bundle member: feature, stride, states, value bins, missing state (−1 without missing values). */
export const MEMBER_WIDTH = 5;
export const MEMBER_FEATURE = 0;
export const MEMBER_STRIDE = 1;
export const MEMBER_STATES = 2;
export const MEMBER_BINS = 3;
export const MEMBER_MISSING = 4;

/**
 * Level task: [builds, subtractions, splits], then TASK_BUILD_WIDTH per build (start, end, slot),
 * TASK_SUB_WIDTH per subtraction (parent slot, smaller child's slot), TASK_SPLIT_WIDTH per split (slot, count).
 */
export const TASK_HEADER = 3;
export const TASK_BUILD_WIDTH = 3;
export const TASK_SUB_WIDTH = 2;
export const TASK_SPLIT_WIDTH = 2;
/** Level parameters: [lambda, min leaf size]. */
export const PARAM_LAMBDA = 0;
export const PARAM_MIN_LEAF = 1;

/** Per split entry and thread, the best split found: gain, feature, bin, defaultLeft, leftGrad, leftCount. */
export const RESULT_WIDTH = 6;
export const RESULT_GAIN = 0;
export const RESULT_FEATURE = 1;
export const RESULT_BIN = 2;
export const RESULT_DEFAULT_LEFT = 3;
export const RESULT_LEFT_GRAD = 4;
export const RESULT_LEFT_COUNT = 5;

/**
 * Partition task: [entries, chunks (PARTITION_CHUNKS), threads arrived (PARTITION_ARRIVED)], then per entry: start,
 * end, feature, bin, missingLeft.
 */
export const PARTITION_HEADER = 3;
export const PARTITION_WIDTH = 5;
/** Index of the partition header's chunk count (threads taking part). */
export const PARTITION_CHUNKS = 1;
/** Index of the partition header's arrival counter (the barrier between scatter and copy). */
export const PARTITION_ARRIVED = 2;

/**
 * Leaf task: [entries, chunks], then per entry: start, end, feature (−1 for a leaf), bin, missingLeft, left value,
 * right value.
 */
export const LEAF_HEADER = 2;
export const LEAF_WIDTH = 7;
/** Fields of a partition or leaf entry (a leaf entry adds the two values). */
export const ENTRY_START = 0;
export const ENTRY_END = 1;
export const ENTRY_FEATURE = 2;
export const ENTRY_BIN = 3;
export const ENTRY_MISSING_LEFT = 4;
export const ENTRY_LEFT_VALUE = 5;
export const ENTRY_RIGHT_VALUE = 6;

/** Every name the kernels read, for the worker's prelude. */
export const KERNEL_CONSTANTS: Readonly<Record<string, number>> = {
  BIN_CODES,
  MISSING_BIN,
  HIST_CELL,
  COLUMN_STRIDE,
  MISSING_CELL,
  LAYOUT_WIDTH,
  MEMBER_WIDTH,
  MEMBER_FEATURE,
  MEMBER_STRIDE,
  MEMBER_STATES,
  MEMBER_BINS,
  MEMBER_MISSING,
  TASK_HEADER,
  TASK_BUILD_WIDTH,
  TASK_SUB_WIDTH,
  TASK_SPLIT_WIDTH,
  PARAM_LAMBDA,
  PARAM_MIN_LEAF,
  RESULT_WIDTH,
  RESULT_GAIN,
  RESULT_FEATURE,
  RESULT_BIN,
  RESULT_DEFAULT_LEFT,
  RESULT_LEFT_GRAD,
  RESULT_LEFT_COUNT,
  PARTITION_HEADER,
  PARTITION_WIDTH,
  PARTITION_ARRIVED,
  PARTITION_CHUNKS,
  LEAF_HEADER,
  LEAF_WIDTH,
  ENTRY_START,
  ENTRY_END,
  ENTRY_FEATURE,
  ENTRY_BIN,
  ENTRY_MISSING_LEFT,
  ENTRY_LEFT_VALUE,
  ENTRY_RIGHT_VALUE,
};
