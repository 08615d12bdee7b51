// The UI's reads of the store, only through the public surfaces of runs/, registry/, data/ and
// monitor/. Manifests that never change once written (model versions, dataset versions, alias
// history entries, runs once FINISHED or FAILED) are kept in a ManifestCache across requests;
// everything that can change (listings, aliases, RUNNING runs, batches and their reports) is read
// at most once per view: one page on the server, the whole export in static mode.
import { MltkError } from '../errors/index.ts';
import { listDatasetNames, listDatasetVersionIds, readDatasetVersion, type DatasetVersion } from '../data/index.ts';
import {
  listDriftReportPaths,
  listScoredBatchPaths,
  readDriftReport,
  readLineage,
  readQuality,
  type Lineage,
  type StoredDriftReport,
  type StoredQuality,
} from '../monitor/index.ts';
import {
  appliedMoves,
  getAliasMove,
  getModelVersion,
  listAliases,
  listModelNames,
  listVersionNumbers,
  type Alias,
  type AliasMove,
  type ModelVersion,
} from '../registry/index.ts';
import { getRun, listRunIds, type RunManifest } from '../runs/index.ts';
import type { ObjectStore } from '../store/index.ts';

/** Whole run manifests (with their metric histories) kept across requests; summaries are kept for every run. */
const RUNS_KEPT_WHOLE = 256;
/** Store reads in flight at once for one view: enough to hide S3 latency, few enough for its request rate. */
const READS_IN_FLIGHT = 16;
/** A failed run's error as the tables show it; the run page shows all of it. */
const SUMMARY_ERROR_CHARS = 300;
/** Runs read per step while scanning for one model's runs, newest first. */
const SCAN_STEP = 64;

export interface UiStores {
  /** The registry store: runs/, models/, datasets/, blobs/. */
  store: ObjectStore;
  /** Where batch scoring writes predictions/ and the monitor monitoring/ (often its own bucket). */
  predictions: ObjectStore;
}

/** What a runs table shows of a run: small enough to keep for every run in the store. */
export interface RunSummary {
  id: string;
  model: string;
  status: RunManifest['status'];
  started_at: string;
  ended_at: string | null;
  dataset: RunManifest['dataset'];
  params: RunManifest['params'];
  metrics: RunManifest['metrics'];
  error: string | null;
}

/** A row of a runs table: the summary, or why the manifest could not be read. */
export type RunRow =
  | { id: string; summary: RunSummary; problem?: undefined }
  | { id: string; summary?: undefined; problem: string };

export interface Batch {
  path: string;
  lineage?: Lineage;
  report?: StoredDriftReport;
  /** The realized quality of its latest labels, once they arrived. */
  quality?: StoredQuality;
  /** Why the lineage manifest or a report could not be read. */
  problems: string[];
}

function summarize(run: RunManifest): RunSummary {
  const { id, model, status, started_at, ended_at, dataset, params, metrics, error } = run;
  return {
    id,
    model,
    status,
    started_at,
    ended_at,
    dataset,
    params,
    metrics,
    error: error?.slice(0, SUMMARY_ERROR_CHARS) ?? null,
  };
}

/** A Map that forgets its least recently used entry past `capacity`. */
class LruMap<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly capacity: number) {}
  get(key: K): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }
}

/** Immutable manifests, shared by every view of one store. */
export class ManifestCache {
  readonly summaries = new Map<string, RunSummary>();
  readonly runs = new LruMap<string, RunManifest>(RUNS_KEPT_WHOLE);
  readonly versions = new Map<string, ModelVersion>();
  readonly datasets = new Map<string, DatasetVersion>();
  readonly moves = new Map<string, AliasMove>();
}

class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class StoreView {
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly limiter = new Limiter(READS_IN_FLIGHT);
  /** Manifests left out of a list because they could not be read (malformed, vanished): pages say so. */
  readonly problems: string[] = [];

  constructor(
    readonly stores: UiStores,
    private readonly cache = new ManifestCache(),
  ) {}

  /** Reads `key` at most once in this view; a failed read is not remembered. */
  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = this.limiter.run(read);
      p.catch(() => this.memo.delete(key));
      this.memo.set(key, p);
    }
    return p;
  }

  /** An immutable manifest: from `cache` when kept, else read once and kept. */
  private async immutable<T>(cache: Map<string, T>, key: string, read: () => Promise<T>): Promise<T> {
    const kept = cache.get(key);
    if (kept) return kept;
    const value = await this.once(key, read);
    cache.set(key, value);
    return value;
  }

  /** One unreadable manifest in a list is reported, not fatal: the rest of the list still shows. */
  private async tolerant<T>(read: Promise<T>): Promise<T | undefined> {
    try {
      return await read;
    } catch (e) {
      if (!(e instanceof MltkError)) throw e;
      this.problems.push(message(e));
      return undefined;
    }
  }

  private get store(): ObjectStore {
    return this.stores.store;
  }

  runIds(): Promise<string[]> {
    return this.once('run-ids', () => listRunIds(this.store));
  }

  async run(id: string): Promise<RunManifest> {
    const kept = this.cache.runs.get(id);
    if (kept) return kept;
    const run = await this.once(`run:${id}`, () => getRun(this.store, id));
    // A RUNNING run may still end; one judged ABANDONED by its silence too (a paused process on another host).
    if (run.status !== 'RUNNING' && run.status !== 'ABANDONED') {
      this.cache.runs.set(id, run);
      this.cache.summaries.set(id, summarize(run));
    }
    return run;
  }

  async runRow(id: string): Promise<RunRow> {
    const kept = this.cache.summaries.get(id);
    if (kept) return { id, summary: kept };
    try {
      return { id, summary: summarize(await this.run(id)) };
    } catch (e) {
      if (!(e instanceof MltkError)) throw e;
      return { id, problem: message(e) };
    }
  }

  runRows(ids: readonly string[]): Promise<RunRow[]> {
    return Promise.all(ids.map((id) => this.runRow(id)));
  }

  /**
   * The newest runs of `model`, at least `wanted` of them when there are that many: runs are
   * scanned newest first, so the first pages of a model's table read only as far back as they show.
   */
  async modelRuns(model: string, wanted: number): Promise<{ rows: RunRow[]; complete: boolean }> {
    const ids = await this.runIds();
    const rows: RunRow[] = [];
    for (let at = 0; at < ids.length; at += SCAN_STEP) {
      for (const row of await this.runRows(ids.slice(at, at + SCAN_STEP)))
        if (row.summary?.model === model) rows.push(row);
      if (rows.length >= wanted) return { rows, complete: at + SCAN_STEP >= ids.length };
    }
    return { rows, complete: true };
  }

  /** The newest run of `model` older than run `id`, if any (scans back from `id`). */
  async previousRun(model: string, id: string): Promise<RunSummary | undefined> {
    const ids = await this.runIds();
    const older = ids.slice(ids.indexOf(id) + 1);
    for (let at = 0; at < older.length; at += SCAN_STEP) {
      const hit = (await this.runRows(older.slice(at, at + SCAN_STEP))).find((r) => r.summary?.model === model);
      if (hit?.summary) return hit.summary;
    }
    return undefined;
  }

  /**
   * A model is known when it has versions, aliases, runs or scored batches (a model whose only runs failed has no
   * versions).
   */
  async modelKnown(name: string): Promise<boolean> {
    if ((await this.versionNumbers(name)).length || (await this.aliases(name)).length) return true;
    if ((await this.modelRuns(name, 1)).rows.length) return true;
    return (await this.batches()).some((b) => batchModel(b)?.name === name);
  }

  /** Every readable run summary, newest first (reads every run not cached yet). */
  async allRuns(): Promise<RunSummary[]> {
    return (await this.runRows(await this.runIds())).flatMap((r) => (r.summary ? [r.summary] : []));
  }

  modelNames(): Promise<string[]> {
    return this.once('models', () => listModelNames(this.store));
  }

  versionNumbers(model: string): Promise<number[]> {
    return this.once(`version-numbers:${model}`, () => listVersionNumbers(this.store, model));
  }

  version(model: string, version: number): Promise<ModelVersion> {
    return this.immutable(this.cache.versions, `version:${model}/${version}`, () =>
      getModelVersion(this.store, model, version),
    );
  }

  async versions(model: string): Promise<ModelVersion[]> {
    const versions = await Promise.all(
      (await this.versionNumbers(model)).map((v) => this.tolerant(this.version(model, v))),
    );
    return versions.filter((v): v is ModelVersion => v !== undefined);
  }

  async aliases(model: string): Promise<Alias[]> {
    const { aliases, malformed } = await this.once(`aliases:${model}`, () => listAliases(this.store, model));
    for (const m of malformed) this.problems.push(m.error);
    return aliases;
  }

  /**
   * The applied moves of an alias, oldest first, along the chain from its latest entry: one read per
   * move not seen before (entries never change), none for a listing. An unreadable chain is reported.
   */
  async history(alias: Alias): Promise<AliasMove[]> {
    const moves = await this.tolerant(
      appliedMoves(alias, (seq) =>
        this.immutable(this.cache.moves, `move:${alias.name}/${alias.alias}/${seq}`, () =>
          getAliasMove(this.store, alias.name, alias.alias, seq),
        ),
      ),
    );
    return moves ?? [];
  }

  datasetNames(): Promise<string[]> {
    return this.once('datasets', () => listDatasetNames(this.store));
  }

  datasetVersion(name: string, version: string): Promise<DatasetVersion> {
    return this.immutable(this.cache.datasets, `dataset:${name}/${version}`, () =>
      readDatasetVersion(this.store, name, version),
    );
  }

  /** A dataset's versions, oldest first. */
  async datasetVersions(name: string): Promise<DatasetVersion[]> {
    const ids = await this.once(`dataset-ids:${name}`, () => listDatasetVersionIds(this.store, name));
    const read = await Promise.all(ids.map((id) => this.tolerant(this.datasetVersion(name, id))));
    const versions = read.filter((v): v is DatasetVersion => v !== undefined);
    return versions.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.version.localeCompare(b.version));
  }

  /** Paths of the scored or monitored batches, in key order. */
  batchPaths(): Promise<string[]> {
    return this.once('batch-paths', async () => {
      const [scored, reported] = await Promise.all([
        listScoredBatchPaths(this.stores.predictions),
        listDriftReportPaths(this.stores.predictions),
      ]);
      return [...new Set([...scored, ...reported])].sort();
    });
  }

  batch(path: string): Promise<Batch> {
    return this.once(`batch:${path}`, async () => {
      const problems: string[] = [];
      const read = <T>(p: Promise<T>) =>
        p.catch((e: unknown) => {
          if (!(e instanceof MltkError)) throw e;
          problems.push(message(e));
          return undefined;
        });
      const [lineage, report, quality] = await Promise.all([
        read(readLineage(this.stores.predictions, path)),
        read(readDriftReport(this.stores.predictions, path)),
        read(readQuality(this.stores.predictions, path)),
      ]);
      return { path, lineage, report, quality, problems };
    });
  }

  async batches(): Promise<Batch[]> {
    return Promise.all((await this.batchPaths()).map((p) => this.batch(p)));
  }
}

/** The model a batch belongs to: its lineage's, else its report's. */
export function batchModel(b: Batch): { name: string; version: number | string } | undefined {
  return b.lineage?.model ?? b.report?.model;
}

/** When a batch was scored (else monitored), for ordering batches in time. */
export function batchTime(b: Batch): string {
  return b.lineage?.scored_at ?? b.report?.lineage?.scored_at ?? b.report?.generated_at ?? '';
}
