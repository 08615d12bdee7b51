// Recording a run: RUNNING when it starts, FINISHED or FAILED when it ends, never left RUNNING
// by an error that passes through `trackRun`; a heartbeat while it runs, so that readers can tell a
// run whose process was killed (liveness.ts) from one still running.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { InvalidInputError, NotFoundError, quoted } from '../errors/index.ts';
import {
  currentWriter,
  manifestJson,
  parseJson,
  putModelArtifact,
  readJsonEach,
  type MalformedEntry,
  type ObjectStore,
} from '../store/index.ts';
import { HEARTBEAT_MS, seenStatus } from './liveness.ts';
import { runKey, runManifestSchema, type RunManifest } from './manifest.ts';

/** Time-sortable ids: `20261125T153000Z-a1b2c3`. */
export function newRunId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

function gitState(): RunManifest['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() !== '';
    return { commit, dirty };
  } catch {
    return null; // not a git checkout (e.g. inside Lambda)
  }
}

export interface RunStart {
  model: string;
  configSource: string;
  config: unknown;
  dataset?: RunManifest['dataset'];
  /** Default HEARTBEAT_MS. */
  heartbeatMs?: number;
}

export class RunRecorder {
  /** Every write of the manifest, in order: a heartbeat never lands after the FINISHED it preceded. */
  private writes: Promise<unknown> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: ObjectStore,
    readonly manifest: RunManifest,
  ) {}

  get id(): string {
    return this.manifest.id;
  }

  static async start(store: ObjectStore, start: RunStart): Promise<RunRecorder> {
    const configText = JSON.stringify(start.config);
    const manifest: RunManifest = {
      kind: 'mltk.run',
      id: newRunId(),
      model: start.model,
      status: 'RUNNING',
      config: {
        source: start.configSource,
        sha256: createHash('sha256').update(configText).digest('hex'),
        copy: start.config,
      },
      dataset: start.dataset ?? null,
      params: {},
      metrics: {},
      metric_history: {},
      artifacts: {},
      started_at: new Date().toISOString(),
      ended_at: null,
      error: null,
      git: gitState(),
      writer: currentWriter(),
    };
    manifest.heartbeat_at = manifest.started_at;
    const rec = new RunRecorder(store, manifest);
    await store.putIfAbsent(runKey(manifest.id), rec.serialize());
    // unref: a heartbeat never keeps a finished command alive. A failed beat is dropped; the next one or the end
    // retries.
    rec.heartbeat = setInterval(() => {
      rec.manifest.heartbeat_at = new Date().toISOString();
      rec.save().catch(() => undefined);
    }, start.heartbeatMs ?? HEARTBEAT_MS).unref();
    return rec;
  }

  private serialize(): string {
    return manifestJson(this.manifest, `${this.store.url}/${runKey(this.id)}`);
  }

  setDataset(dataset: { name: string; version: string }): void {
    this.manifest.dataset = dataset;
  }

  logParams(params: Record<string, number | string | boolean>): void {
    Object.assign(this.manifest.params, params);
  }

  /**
   * Records a metric (with `step`, one point of its history). A value that is not a finite number
   * is never written (JSON cannot hold it): the metric is recorded as undefined, with `reason`.
   */
  logMetric(name: string, value: number, step?: number, reason?: string): void {
    if (!Number.isFinite(value)) {
      this.logUndefinedMetric(name, reason ?? `it is ${value}${step === undefined ? '' : ` at step ${step}`}`);
      return;
    }
    if (step !== undefined) {
      const history = this.manifest.metric_history[name] ?? [];
      history.push({ step, value });
      this.manifest.metric_history[name] = history;
    }
    this.manifest.metrics[name] = value;
  }

  /** A metric that cannot be computed, and why (kept in `undefined_metrics`, not in `metrics`). */
  logUndefinedMetric(name: string, reason: string): void {
    delete this.manifest.metrics[name];
    this.manifest.undefined_metrics = { ...this.manifest.undefined_metrics, [name]: reason };
  }

  /** Stores a file of the run's model (its ONNX, its baseline) under the model's artifacts prefix. */
  async logArtifact(name: string, body: Buffer | string): Promise<{ sha256: string; bytes: number }> {
    const ref = await putModelArtifact(this.store, this.manifest.model, body);
    this.manifest.artifacts[name] = ref;
    return ref;
  }

  /** Persists progress so far (status stays RUNNING), after any write already under way. */
  save(): Promise<void> {
    const body = this.serialize();
    const write = this.writes.then(() => this.store.put(runKey(this.id), body));
    this.writes = write.catch(() => undefined);
    return write.then(() => undefined);
  }

  async finish(): Promise<RunManifest> {
    clearInterval(this.heartbeat);
    this.manifest.status = 'FINISHED';
    this.manifest.ended_at = new Date().toISOString();
    await this.save();
    return this.manifest;
  }

  async fail(err: unknown): Promise<RunManifest> {
    clearInterval(this.heartbeat);
    this.manifest.status = 'FAILED';
    this.manifest.ended_at = new Date().toISOString();
    this.manifest.error = err instanceof Error ? err.message : String(err);
    await this.save();
    return this.manifest;
  }
}

/** Runs `body` inside a recorded run; any error marks the run FAILED (with its message) and is rethrown. */
export async function trackRun<T>(
  store: ObjectStore,
  start: RunStart,
  body: (run: RunRecorder) => Promise<T>,
): Promise<{ result: T; run: RunManifest }> {
  const run = await RunRecorder.start(store, start);
  try {
    const result = await body(run);
    return { result, run: await run.finish() };
  } catch (e) {
    await run.fail(e);
    throw e;
  }
}

const RUN_ID_RE = /^[A-Za-z0-9_.-]+$/;

export async function getRun(store: ObjectStore, id: string): Promise<RunManifest> {
  if (!RUN_ID_RE.test(id)) throw new InvalidInputError(`invalid run id ${quoted(id)}`);
  const key = runKey(id);
  // One read, not head + get: the UI opens hundreds of runs per page and S3 bills both.
  const body = await store.get(key).catch((e: unknown) => {
    throw e instanceof NotFoundError ? new NotFoundError(`no run ${quoted(id)} in ${store.url}`, { cause: e }) : e;
  });
  return seenStatus(parseJson(body, runManifestSchema, `${store.url}/${key}`));
}

/**
 * Ids of the stored runs, newest first, from one listing and without reading a manifest (ids are
 * time-sortable). Keys under runs/ that cannot be a run's (nested, or not a valid id) are left out.
 */
export async function listRunIds(store: ObjectStore): Promise<string[]> {
  const ids = (await store.list('runs/')).map((k) => /^runs\/([^/]+)\.json$/.exec(k)?.[1]);
  return ids
    .filter((id): id is string => id !== undefined && RUN_ID_RE.test(id))
    .sort()
    .reverse();
}

export interface RunListing {
  /** Newest first. */
  runs: RunManifest[];
  /** Run manifests that could not be read: reported, and the rest still listed. */
  malformed: MalformedEntry[];
}

/** Runs, newest first, optionally of one model. */
export async function listRuns(store: ObjectStore, filter: { model?: string } = {}): Promise<RunListing> {
  const keys = (await store.list('runs/')).filter((k) => k.endsWith('.json'));
  const { items, malformed } = await readJsonEach(store, keys, runManifestSchema);
  const runs = items
    .filter((r) => !filter.model || r.model === filter.model)
    .map((r) => seenStatus(r))
    .sort((a, b) => b.id.localeCompare(a.id));
  return { runs, malformed };
}

export interface RunComparison {
  runs: string[];
  params: Record<string, (number | string | boolean | null)[]>;
  metrics: Record<string, (number | null)[]>;
}

/** Params and metrics side by side: one row per key, one column per run (null where absent). */
export function compareRuns(runs: RunManifest[]): RunComparison {
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  return {
    runs: runs.map((r) => r.id),
    params: Object.fromEntries(paramKeys.map((k) => [k, runs.map((r) => r.params[k] ?? null)])),
    metrics: Object.fromEntries(metricKeys.map((k) => [k, runs.map((r) => r.metrics[k] ?? null)])),
  };
}
