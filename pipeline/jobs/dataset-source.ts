// Where a training job's data comes from: a versioned dataset (NAME[@VERSION]), a file to
// version first, or the config's own choice — its pin (`dataset.version`), its default file, the
// latest stored version, or, where the config allows it, freshly synthesized rows.
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
  /** The config decides; `synthesizeIfMissing` lets `mltk run` honour `dataset.allow_synthetic`. */
  | { kind: 'default'; synthesizeIfMissing: boolean };

/** The data a model was trained on, as its run and version manifests record it. */
export interface DatasetLineage {
  name: string;
  version: string;
  /** The version is the config's pin (`dataset.version`). */
  pinned: boolean;
  /** The rows were synthesized by mltk. */
  synthetic: boolean;
}

export interface ResolvedData {
  version: DatasetVersion;
  /** How the data got there, for the summary. */
  origin: 'versioned' | 'added' | 'synthesized' | 'existing' | 'pinned';
  lineage: DatasetLineage;
}

/** The generator name recorded in a synthesized dataset version. */
export const SYNTH_GENERATOR = 'mltk data synth (EPC retrofit)';

function resolved(config: ModelConfig, version: DatasetVersion, origin: ResolvedData['origin']): ResolvedData {
  const lineage = {
    name: version.dataset,
    version: version.version,
    pinned: config.dataset.version === version.version,
    synthetic: version.synthetic !== undefined,
  };
  return { version, origin, lineage };
}

async function pinnedVersion(store: ObjectStore, config: ModelConfig, pin: string): Promise<DatasetVersion> {
  const name = config.dataset.name;
  try {
    return await resolveDatasetVersion(store, `${name}@${pin}`);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    throw new NotFoundError(
      `the config pins dataset ${name}@${pin} (dataset.version), which is not in ${store.url}; ` +
        `add that file first: mltk data add FILE --dataset ${name} --store ${store.url}`,
      { cause: e },
    );
  }
}

export async function resolveTrainingData(
  store: ObjectStore,
  config: ModelConfig,
  source: DataSource,
  say: (line: string) => void,
): Promise<ResolvedData> {
  if (source.kind === 'version') return resolved(config, await resolveDatasetVersion(store, source.ref), 'versioned');
  const pin = config.dataset.version;
  if (source.kind === 'default' && pin !== undefined)
    return resolved(config, await pinnedVersion(store, config, pin), 'pinned');
  const file = source.kind === 'file' ? source.path : config.dataset.file;
  if (file) {
    const { version, created } = await addDatasetVersion(store, config.dataset.name, file);
    return resolved(config, version, created ? 'added' : 'existing');
  }
  const existing = await listDatasetVersions(store, config.dataset.name);
  if (existing.length > 0) return resolved(config, existing[existing.length - 1]!, 'existing');
  const mayRun = source.kind === 'default' && source.synthesizeIfMissing;
  if (!mayRun || !config.dataset.allow_synthetic) {
    const hint = mayRun ? ' (or set dataset.allow_synthetic: true in the config to train on synthesized rows)' : '';
    throw new NotFoundError(
      `dataset "${config.dataset.name}" has no versions in ${store.url}; add one with ` +
        `mltk data add FILE --dataset ${config.dataset.name}, or pass --data-file FILE${hint}`,
    );
  }
  return resolved(config, await synthesize(store, config, say), 'synthesized');
}

async function synthesize(
  store: ObjectStore,
  config: ModelConfig,
  say: (line: string) => void,
): Promise<DatasetVersion> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-synth-'));
  try {
    const path = join(dir, `${config.dataset.name}.csv`);
    const { synth_rows: rows, synth_seed: seed } = config.dataset;
    say(
      `no data in the store: synthesizing ${rows} EPC-style rows (seed ${seed}; dataset.allow_synthetic) — the model ` +
        `is marked synthetic`,
    );
    const out = createWriteStream(path);
    await writeSynthCsv({ rows, seed }, out);
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
    const synthetic = { generator: SYNTH_GENERATOR, rows, seed };
    const label = `synthesized: ${rows} rows, seed ${seed}`;
    return (await addDatasetVersion(store, config.dataset.name, path, new Date(), { synthetic, source: label }))
      .version;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
