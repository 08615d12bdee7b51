// Writes a Table as CSV for external trainers: header row, empty cell for missing, RFC 4180 quoting.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Table } from '../data/index.ts';

function cell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export async function writeTableCsv(table: Table, path: string): Promise<void> {
  const out = createWriteStream(path);
  const cols = [...table.columns.entries()];
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write(`${cols.map(([name]) => cell(name)).join(',')}\n`);
  for (let r = 0; r < table.rows; r++) {
    const fields = cols.map(([, col]) => {
      if (col.kind === 'numeric') return Number.isNaN(col.values[r]!) ? '' : String(col.values[r]);
      if (col.kind === 'categorical') return col.codes[r]! < 0 ? '' : cell(col.categories[col.codes[r]!]!);
      return cell(col.values[r] ?? '');
    });
    await write(`${fields.join(',')}\n`);
  }
  out.end();
  await once(out, 'finish');
}
