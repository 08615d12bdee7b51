// JSON-lines files → validated chunks, the same shape the CSV reader yields. One record per
// non-blank line; a line that is not JSON is a bad row, not a failed file.
import { jsonLines, notJsonIssue, type TableChunk } from '../data/index.ts';
import type { LoadedModel } from './model.ts';
import { instancesToChunk } from './instances.ts';

/** Chunks of up to `chunkRows` records, rows numbered from 1 (blank lines are skipped, as in CSV). */
export async function* jsonlChunks(
  input: AsyncIterable<Buffer>,
  model: LoadedModel,
  chunkRows: number,
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
  for await (const raw of jsonLines(input)) {
    const line = raw.trim();
    if (line === '') continue;
    try {
      records.push(JSON.parse(line));
      notJson.push(undefined);
    } catch (e) {
      records.push(undefined);
      notJson.push(notJsonIssue(e));
    }
    if (records.length >= chunkRows) yield flush();
  }
  if (records.length) yield flush();
}
