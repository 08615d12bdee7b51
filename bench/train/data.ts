// Bench data: the synthetic EPC-like CSV (pipeline/data/synth.ts), written once per {rows, seed}
// and shared by our trainer and XGBoost so both read the very same rows.
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeSynthCsv } from '../../pipeline/data/index.ts';
import { readCsvTable, type ColumnSpec, type Table } from '../../pipeline/data/index.ts';
import type { ModelConfig } from '../../pipeline/config/index.ts';

const BENCH_DIR = join(tmpdir(), 'mltk-bench-train');

export async function synthCsv(rows: number, seed: number): Promise<string> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const path = join(BENCH_DIR, `synth-${rows}-${seed}.csv`);
  if (existsSync(path)) return path;
  const out = createWriteStream(`${path}.part`);
  await writeSynthCsv({ rows, seed }, out);
  out.end();
  await once(out, 'finish');
  renameSync(`${path}.part`, path);
  return path;
}

/** Every feature column of the configs plus the three targets, typed as the configs say. */
function benchSpecs(configs: ModelConfig[]): ColumnSpec[] {
  const specs = new Map<string, ColumnSpec>();
  for (const c of configs) {
    for (const f of c.features)
      specs.set(
        f.name,
        f.type === 'categorical'
          ? { name: f.name, type: 'categorical', nullable: f.nullable, values: f.values }
          : { name: f.name, type: f.type, nullable: f.nullable },
      );
    specs.set(c.target.column, { name: c.target.column, type: 'numeric' });
  }
  return [...specs.values()];
}

export function readBenchTable(path: string, configs: ModelConfig[]): Promise<Table> {
  return readCsvTable(createReadStream(path), benchSpecs(configs), { source: path });
}
