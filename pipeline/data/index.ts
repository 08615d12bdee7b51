export type {
  Table,
  Column,
  NumericColumn,
  CategoricalColumn,
  TextColumn,
  ColumnSpec,
  ColumnType,
  RowIssue,
  TableChunk,
} from './table.ts';
export { numericColumn, takeRows, ROW_FIELD } from './table.ts';
export {
  openCsv,
  openCsvBlocks,
  BlockBuffers,
  parseNumberBytes,
  fieldText,
  DEFAULT_CHUNK_ROWS,
  type CsvChunk,
  type CsvBlocks,
} from './csv.ts';
export { planTable, parseTableBlock, rowsShifted, type TablePlan } from './parse-block.ts';
export {
  openCsvTables,
  tableChunks,
  readCsvTable,
  concatTables,
  type CsvTableReader,
  type ReadTableOptions,
} from './read-table.ts';
export {
  openJsonlTables,
  jsonLines,
  notJsonIssue,
  inputFormat,
  RECORD_FIELD,
  LINE_TOO_LONG,
  LINE_TOO_LONG_ISSUE,
  type InputFormat,
} from './read-jsonl.ts';
export { summarizeCsvFile, type FileSummary, type ColumnSummary } from './inspect.ts';
export {
  addDatasetVersion,
  addDatasetVersionFromObject,
  datasetVersionKey,
  listDatasetNames,
  listDatasetVersions,
  listDatasetVersionIds,
  readDatasetVersion,
  resolveDatasetVersion,
  getDatasetVersion,
  checkDatasetName,
  datasetVersionSchema,
  type DatasetVersion,
  type SyntheticOrigin,
} from './versions.ts';
export { writeSynthCsv, parseSynthOptions, SYNTH_COLUMNS, type SynthOptions } from './synth.ts';
