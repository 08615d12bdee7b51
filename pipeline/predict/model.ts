// A registry model version loaded into an ONNX Runtime session (hash-verified blob), and the
// per-container cache that keeps one session warm and follows alias moves within a TTL.
import type ort from 'onnxruntime-node';
import type { z } from 'zod';
import type { Table } from '../data/index.ts';
import {
  getAlias,
  getModelVersion,
  resolveModel,
  type DatasetLineage,
  type ModelVersion,
  type Signature,
  formatModelRef,
  parseModelRef,
  type ModelRef,
} from '../registry/index.ts';
import { getModelArtifact, type ObjectStore } from '../store/index.ts';
import { onnxRuntime } from '../train/index.ts';
import { ModelUnavailableError } from './errors.ts';
import {
  keptFastPath,
  prepareFastPath,
  referenceSample,
  type FastPath,
  type FastPathOptions,
  type FastPathVerdict,
} from './fast-path.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import { proofKey, type ProofCache } from './proof-cache.ts';
import {
  buildInputs,
  inputPlan,
  OUTPUT_NAME,
  runFeeds,
  signaturePlan,
  toFeeds,
  type InputColumn,
  type InputPlan,
  type TensorCtor,
} from './score.ts';
import { instanceSchema, type Instance } from './signature.ts';
import { jsonLogger, type Logger } from '../log/index.ts';

export interface LoadedModel {
  name: string;
  version: number;
  sha256: string;
  /** The alias it was loaded through, if any. */
  alias: string | null;
  /** The data it was trained on (pinned? synthetic?), as its version manifest records it. */
  dataset: DatasetLineage | null;
  loadedAt: string;
  signature: Signature;
  /** Request instances: unknown fields rejected. */
  requestSchema: z.ZodType<Instance>;
  /** File records (JSON lines): id required, extra fields ignored as extra CSV columns are. */
  recordSchema: z.ZodType<Instance>;
  plan: InputPlan[];
  /** Null when a kept proof spared ONNX Runtime (the fast evaluator then serves: proof-cache.ts). */
  session: ort.InferenceSession | null;
  /** The verified ONNX bytes and session options (a batch scoring worker opens its own session). */
  onnx: Uint8Array;
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** Whether the fast evaluator serves this model, and why not when it does not. */
  fastPath: FastPathVerdict;
  /** The proven evaluator's program (a batch scoring worker builds its own evaluator from it); null on ONNX Runtime. */
  fastProgram: EvaluatorProgram | null;
  /** Predictions for the rows of `table` not flagged in `bad`, in order. */
  score(table: Table, bad?: Uint8Array): Promise<Float32Array>;
  /** Predictions for prebuilt input columns (built from `plan`). */
  scoreInputs(inputs: InputColumn[], rows: number): Promise<Float32Array>;
  /** Releases the session once no run is in flight (after a swap). */
  retire(): void;
}

export interface LoadOptions {
  /** ORT intra-op threads; default: ORT's (one per physical core). */
  threads?: number;
  alias?: string | null;
  fastPath?: FastPathOptions;
  /** Where the fast path's verdict is logged (a disabled fast path is a warning with its reason). */
  log?: Logger;
  /** Proofs kept from earlier loads (the CLI's, inside its build): a kept proof of this model spares ONNX Runtime. */
  proofs?: ProofCache;
}

/** A model's session (null when a kept proof spared it), checked inputs and fast path. */
interface Proven {
  session: ort.InferenceSession | null;
  plan: InputPlan[];
  fast: FastPath;
}

/**
 * Opens the reference session, checks the ONNX contract and proves the fast path against it; keeps a
 * passed proof in `proofs` under `key` when the probe had everything the key says it had.
 */
async function proveAtLoad(
  store: ObjectStore,
  mv: ModelVersion,
  bytes: Uint8Array,
  sessionOptions: ort.InferenceSession.SessionOptions,
  opts: LoadOptions,
  key: string | undefined,
): Promise<Proven> {
  // First a session that sums each row's trees in order (one intra-op thread): it checks the contract
  // and is the fast path's reference. It serves too when the fast path does, or when one thread was asked for.
  const ort = onnxRuntime();
  const reference = await ort.InferenceSession.create(bytes, { ...sessionOptions, intraOpNumThreads: 1 });
  try {
    const plan = inputPlan(mv.signature, reference, `${mv.name} v${mv.version} (${mv.artifact.sha256.slice(0, 12)})`);
    const baseline = mv.baseline
      ? await getModelArtifact(store, mv.name, mv.baseline.sha256).catch(() => undefined)
      : undefined;
    const fast = await prepareFastPath(bytes, mv.signature, referenceSample(baseline), reference, opts.fastPath);
    // A baseline that could not be read made a weaker probe than its key names: not kept.
    if (key && fast.program && fast.verdict.used && (baseline || !mv.baseline))
      opts.proofs!.put(key, { verdict: fast.verdict, program: fast.program });
    if (fast.verdict.used || opts.threads === 1) return { session: reference, plan, fast };
    const session = await ort.InferenceSession.create(bytes, sessionOptions);
    await reference.release();
    return { session, plan, fast };
  } catch (e) {
    await reference.release();
    throw e;
  }
}

/** The key of this load's proof in `opts.proofs`; undefined when there is no cache or the load adjusts its proof. */
function keptProofKey(mv: ModelVersion, opts: LoadOptions): string | undefined {
  const f = opts.fastPath ?? {};
  if (!opts.proofs || f.enabled === false || f.adjustGraph || f.adjustProgram) return undefined;
  return proofKey({
    model: mv.artifact.sha256,
    baseline: mv.baseline?.sha256 ?? null,
    signature: mv.signature,
    output: f.output ?? OUTPUT_NAME,
  });
}

/** Loads `mv`'s artifact (hash-verified: IntegrityError on a mismatch) into a new session. */
export async function loadModelVersion(
  store: ObjectStore,
  mv: ModelVersion,
  opts: LoadOptions = {},
): Promise<LoadedModel> {
  const bytes = await getModelArtifact(store, mv.name, mv.artifact.sha256);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    graphOptimizationLevel: 'all',
  };
  const key = keptProofKey(mv, opts);
  const kept = key ? opts.proofs!.get(key) : undefined;
  // A kept proof passed the contract check against these bytes and this signature when it was made.
  const { session, plan, fast } = kept
    ? { session: null, plan: signaturePlan(mv.signature), fast: keptFastPath(kept) }
    : await proveAtLoad(store, mv, bytes, sessionOptions, opts, key);
  const fields = {
    model: mv.name,
    version: mv.version,
    sha256: mv.artifact.sha256,
    probe_rows: fast.verdict.probe_rows,
  };
  if (fast.verdict.used)
    opts.log?.log('info', 'fast evaluator proven equal to ONNX Runtime', {
      ...fields,
      max_difference: fast.verdict.max_difference,
      kept: fast.verdict.kept,
    });
  else
    opts.log?.log('warn', 'fast evaluator not used; scoring with ONNX Runtime', {
      ...fields,
      reason: fast.verdict.reason,
    });
  let inflight = 0;
  let retired = false;
  const release = () => {
    void session?.release().catch(() => undefined);
  };
  const scoreInputs = async (inputs: InputColumn[], rows: number): Promise<Float32Array> => {
    if (fast.evaluator) return fast.evaluator.score(inputs, rows);
    inflight++;
    try {
      return await runFeeds(session!, toFeeds(onnxRuntime().Tensor as unknown as TensorCtor, inputs, rows), rows);
    } finally {
      if (--inflight === 0 && retired) release();
    }
  };
  return {
    name: mv.name,
    version: mv.version,
    sha256: mv.artifact.sha256,
    alias: opts.alias ?? null,
    dataset: mv.dataset,
    loadedAt: new Date().toISOString(),
    signature: mv.signature,
    requestSchema: instanceSchema(mv.signature, { unknown: 'reject' }),
    recordSchema: instanceSchema(mv.signature, { unknown: 'ignore', requireId: true }),
    plan,
    session,
    onnx: bytes,
    sessionOptions,
    fastPath: fast.verdict,
    fastProgram: fast.program,
    score(table, bad) {
      const { inputs, rows } = buildInputs(plan, table, bad);
      return scoreInputs(inputs, rows);
    },
    scoreInputs,
    retire() {
      if (retired) return;
      retired = true;
      if (inflight === 0) release();
    },
  };
}

/** Resolves `ref` (NAME, NAME@N, NAME@ALIAS) in the registry and loads it. */
export async function loadModel(store: ObjectStore, ref: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const parsed = parseModelRef(ref);
  const mv = await resolveModel(store, ref);
  return loadModelVersion(store, mv, { ...opts, alias: parsed.alias ?? null });
}

/** After a failed first load, how long requests get the same 503 before the store is tried again. */
export const RETRY_LOAD_MS = 5_000;

export interface ModelCacheOptions {
  /** Re-resolve an alias at most this often (ms); 0 checks on every call. */
  aliasTtlMs: number;
  threads?: number;
  fastPath?: FastPathOptions;
  now?: () => number;
  log?: Logger;
}

/**
 * One warm session per container. The first `get()` loads the model; later calls re-read the
 * alias at most once per TTL and swap in the new version when it moved. A failed swap (corrupt
 * blob, missing version, bad graph) keeps the current session serving and retries next TTL.
 */
export class ModelCache {
  private model: LoadedModel | undefined;
  private loading: Promise<LoadedModel> | undefined;
  private refreshing: Promise<void> | undefined;
  private checkedAt = 0;
  /**
   * The last failed first load, answered again until RETRY_LOAD_MS passed: a broken model must not turn traffic into a
   * storm of blob downloads.
   */
  private lastFailure: { at: number; error: ModelUnavailableError } | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  readonly ref: ModelRef;

  constructor(
    private readonly store: ObjectStore,
    ref: string | ModelRef,
    private readonly opts: ModelCacheOptions,
  ) {
    this.ref = typeof ref === 'string' ? parseModelRef(ref) : ref;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? jsonLogger();
  }

  /** The model serving now, without loading or checking anything. */
  current(): LoadedModel | undefined {
    return this.model;
  }

  async get(): Promise<LoadedModel> {
    if (!this.model) return this.firstLoad();
    if (this.ref.alias && this.now() - this.checkedAt >= this.opts.aliasTtlMs) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    return this.model;
  }

  private firstLoad(): Promise<LoadedModel> {
    const failed = this.lastFailure;
    if (failed && this.now() - failed.at < RETRY_LOAD_MS) return Promise.reject(failed.error);
    this.loading ??= (async () => {
      const started = this.now();
      try {
        const mv = await this.resolve();
        const model = await loadModelVersion(this.store, mv, {
          threads: this.opts.threads,
          alias: this.ref.alias ?? null,
          log: this.log,
          fastPath: this.opts.fastPath,
        });
        this.model = model;
        this.checkedAt = started;
        this.lastFailure = undefined;
        this.log.log('info', 'model loaded', {
          model: model.name,
          version: model.version,
          alias: model.alias,
          sha256: model.sha256,
          scorer: model.fastPath.used ? 'fast' : 'onnxruntime',
          load_ms: this.now() - started,
        });
        return model;
      } catch (e) {
        this.log.log('error', 'model load failed', {
          model: this.ref.name,
          ref: formatModelRef(this.ref),
          error: (e as Error).message,
          retry_in_ms: RETRY_LOAD_MS,
        });
        const error = new ModelUnavailableError(
          `model ${formatModelRef(this.ref)} is not available: ${(e as Error).message}`,
          e,
        );
        this.lastFailure = { at: this.now(), error };
        throw error;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private async resolve(): Promise<ModelVersion> {
    const { name, alias, version } = this.ref;
    if (version !== undefined) return getModelVersion(this.store, name, version);
    return resolveModel(this.store, alias ? `${name}@${alias}` : name);
  }

  private async refresh(): Promise<void> {
    const started = this.now();
    const current = this.model!;
    try {
      const alias = await getAlias(this.store, this.ref.name, this.ref.alias!);
      if (!alias) throw new Error(`alias ${formatModelRef(this.ref)} no longer exists`);
      if (alias.version !== current.version) {
        const mv = await getModelVersion(this.store, this.ref.name, alias.version);
        const next = await loadModelVersion(this.store, mv, {
          threads: this.opts.threads,
          alias: this.ref.alias ?? null,
          log: this.log,
          fastPath: this.opts.fastPath,
        });
        this.model = next;
        current.retire();
        this.log.log('info', 'model swapped', {
          model: next.name,
          version: next.version,
          previous_version: current.version,
          alias: next.alias,
          sha256: next.sha256,
          load_ms: this.now() - started,
        });
      }
    } catch (e) {
      this.log.log('error', 'model refresh failed; the loaded version keeps serving', {
        model: current.name,
        version: current.version,
        alias: this.ref.alias,
        error: (e as Error).message,
        error_class: (e as Error).name,
      });
    } finally {
      this.checkedAt = started;
    }
  }
}
