export type { Table, Column, NumericColumn, CategoricalColumn, TextColumn } from './table.ts';
export { numericColumn, categoricalColumn, takeRows } from './table.ts';
export { openCsv, parseNumberBytes, fieldText, type CsvChunk } from './csv.ts';
export { openCsvTables, readCsvTable, concatTables, type ColumnSpec, type ColumnType, type RowIssue, type TableChunk, type ReadTableOptions } from './read-table.ts';
export { openJsonlTables, jsonLines, inputFormat, RECORD_FIELD, type InputFormat } from './read-jsonl.ts';
export { summarizeCsvFile, type FileSummary, type ColumnSummary } from './inspect.ts';
export {
  addDatasetVersion, listDatasetNames, listDatasetVersions, resolveDatasetVersion, getDatasetVersion,
  checkDatasetName, datasetVersionSchema, type DatasetVersion,
} from './versions.ts';
export { writeSynthCsv, parseSynthOptions, SYNTH_COLUMNS, type SynthOptions } from './synth.ts';
