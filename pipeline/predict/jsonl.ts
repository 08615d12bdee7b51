// JSON-lines files → validated chunks, the same shape the CSV reader yields. One record per
// non-blank line; a line that is not JSON is a bad row, not a failed file.
import { jsonLines, LINE_TOO_LONG, LINE_TOO_LONG_ISSUE, notJsonIssue, type TableChunk } from '../data/index.ts';
import type { LoadedModel } from './model.ts';
import { instancesToChunk } from './instances.ts';

/** Chunks of up to `chunkRows` records, rows numbered from 1 (blank lines are skipped, as in CSV). */
export async function* jsonlChunks(
  input: AsyncIterable<Buffer>,
  model: LoadedModel,
  chunkRows: number,
  source: string,
): AsyncGenerator<TableChunk> {
  let records: unknown[] = [];
  let notJson: (string | undefined)[] = [];
  let firstRow = 1;
  const flush = (): TableChunk => {
    const chunk = instancesToChunk(model.signature, model.recordSchema, records, firstRow, { withId: true, notJson });
    firstRow += records.length;
    records = [];
    notJson = [];
    return chunk;
  };
  for await (const raw of jsonLines(input, source)) {
    const line = raw === LINE_TOO_LONG ? raw : raw.trim();
    if (line === '') continue;
    if (line === LINE_TOO_LONG) {
      records.push(undefined);
      notJson.push(LINE_TOO_LONG_ISSUE);
    } else {
      try {
        records.push(JSON.parse(line));
        notJson.push(undefined);
      } catch (e) {
        records.push(undefined);
        notJson.push(notJsonIssue(e));
      }
    }
    if (records.length >= chunkRows) yield flush();
  }
  if (records.length) yield flush();
}
