// Where a training job's data comes from: a versioned dataset (NAME[@VERSION]), a file to
// version first, the config's default file, or — for the demo run — freshly synthesized data.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from '../config/index.ts';
import { NotFoundError } from '../errors/index.ts';
import { addDatasetVersion, resolveDatasetVersion, listDatasetVersions, type DatasetVersion } from '../data/index.ts';
import { writeSynthCsv } from '../data/index.ts';
import type { ObjectStore } from '../store/index.ts';

export type DataSource =
  | { kind: 'version'; ref: string }
  | { kind: 'file'; path: string }
  | { kind: 'default'; synthesizeIfMissing: boolean };

export interface ResolvedData {
  version: DatasetVersion;
  /** How the data got there, for the summary. */
  origin: 'versioned' | 'added' | 'synthesized' | 'existing';
}

export async function resolveTrainingData(store: ObjectStore, config: ModelConfig, source: DataSource, say: (line: string) => void): Promise<ResolvedData> {
  if (source.kind === 'version') {
    return { version: await resolveDatasetVersion(store, source.ref), origin: 'versioned' };
  }
  const file = source.kind === 'file' ? source.path : config.dataset.file;
  if (file) {
    const { version, created } = await addDatasetVersion(store, config.dataset.name, file);
    return { version, origin: created ? 'added' : 'existing' };
  }
  const existing = await listDatasetVersions(store, config.dataset.name);
  if (existing.length > 0) return { version: existing[existing.length - 1]!, origin: 'existing' };
  if (source.kind === 'file' || !source.synthesizeIfMissing) {
    throw new NotFoundError(`dataset "${config.dataset.name}" has no versions in ${store.url}; pass --data-file FILE or --data NAME@VERSION`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'mltk-synth-'));
  try {
    const path = join(dir, `${config.dataset.name}.csv`);
    say(`no data given: synthesizing ${config.dataset.synth_rows} EPC-style rows (seed ${config.dataset.synth_seed})`);
    const out = createWriteStream(path);
    await writeSynthCsv({ rows: config.dataset.synth_rows, seed: config.dataset.synth_seed }, out);
    await new Promise<void>((resolve, reject) => { out.once('error', reject); out.end(() => resolve()); });
    const { version } = await addDatasetVersion(store, config.dataset.name, path);
    return { version, origin: 'synthesized' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
