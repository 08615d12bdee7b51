// The main job's decisions: the gate (absolute limits), the relative promotion rule, the pinned data
// version, synthetic data only where allowed, an unchanged rerun reusing its version, and a promotion
// that loses a race deciding again instead of training again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig, type ModelConfig } from '../config/index.ts';
import { addDatasetVersion, resolveDatasetVersion, writeSynthCsv } from '../data/index.ts';
import { ConflictError, exitCodeFor, NotFoundError } from '../errors/index.ts';
import {
  aliasHistory,
  getAlias,
  listVersionNumbers,
  moveAlias,
  registerModelVersion,
  resolveModel,
  type ModelVersion,
} from '../registry/index.ts';
import { getRun, listRuns } from '../runs/index.ts';
import { openStore, type ObjectStore } from '../store/index.ts';
import {
  checkGate,
  gateFailure,
  promoteIfBetter,
  runPipelineJob,
  PROMOTION_ATTEMPTS,
  type RunJobOptions,
} from './index.ts';

const quiet = { say: () => {}, progress: () => {} };

async function csv(dir: string, name: string, rows: number, seed: number): Promise<string> {
  const file = join(dir, name);
  const out = createWriteStream(file);
  await writeSynthCsv({ rows, seed }, out);
  await new Promise<void>((r) => out.end(() => r()));
  return file;
}

async function setup(edit: (raw: any) => void = () => {}) {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-run-'));
  const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  raw.trainer.params.trees = 12;
  raw.dataset.synth_rows = 600;
  edit(raw);
  const config: ModelConfig = parseModelConfig(raw, 'test config');
  return { dir, config, store: openStore(join(dir, 'store')) };
}

function job(store: ObjectStore, config: ModelConfig, extra: Partial<RunJobOptions> = {}): RunJobOptions {
  return {
    store,
    config,
    configSource: 'test',
    data: { kind: 'default', synthesizeIfMissing: true },
    ...quiet,
    ...extra,
  };
}

test('the gate: each absolute limit, a band without test rows, an undefined r2', () => {
  const policy = { alias: 'dev', metric: 'rmse' as const, min_improvement: 0 };
  assert.deepEqual(checkGate(policy, { rmse: 5, r2: 0.1 }), {
    passed: true,
    checks: [],
    reason: 'no absolute limits set (promotion.max_rmse, min_r2, max_rmse_by_band)',
  });
  const limits = { ...policy, max_rmse: 4, min_r2: 0.5, max_rmse_by_band: { F: 6, G: 1 } };
  const bands = { F: { rows: 10, rmse: 7 }, C: { rows: 90, rmse: 2 } };
  const failed = checkGate(limits, { rmse: 4.5, r2: 0.4 }, bands);
  assert.equal(failed.passed, false);
  assert.equal(
    failed.reason,
    'rmse 4.5000 exceeds promotion.max_rmse 4; r2 0.40000 is below promotion.min_r2 0.5; band F rmse 7.0000 exceeds ' +
      'promotion.max_rmse_by_band.F 6',
  );
  assert.deepEqual(
    failed.checks.find((c) => c.limit === 'max_rmse_by_band.G'),
    { limit: 'max_rmse_by_band.G', threshold: 1, value: null, passed: true },
  );
  assert.equal(checkGate(limits, { rmse: 4, r2: 0.5 }, { F: { rows: 3, rmse: 6 } }).passed, true);
  assert.equal(checkGate({ ...policy, min_r2: -1 }, { rmse: 1, r2: NaN }).passed, false);
});

test('the config refuses unknown bands and a pin that is not a full sha256', async () => {
  await assert.rejects(
    setup((raw) => {
      raw.promotion.max_rmse_by_band = { H: 1 };
    }),
    /promotion\.max_rmse_by_band\.H: "H" is not a group of evaluation\.segment "sap_band" \(G, F, E, D, C, B, A\)/,
  );
  await assert.rejects(
    setup((raw) => {
      raw.promotion.max_rmse_by_band = { A: 1 };
      delete raw.evaluation;
    }),
    /promotion\.max_rmse_by_band: needs evaluation\.segment/,
  );
  await assert.rejects(
    setup((raw) => {
      raw.dataset.version = 'abc123';
    }),
    /dataset\.version: expected a full sha256/,
  );
  await assert.rejects(
    setup((raw) => {
      raw.dataset.version = 'a'.repeat(64);
      raw.dataset.file = 'x.csv';
    }),
    /dataset\.file: give either dataset\.file or the pin/,
  );
});

test(
  'a model failing an absolute limit is registered, not promoted, and the holder keeps the ' + 'alias (exit 11)',
  async () => {
    const f = await setup();
    const first = await runPipelineJob(job(f.store, f.config, { alias: 'dev' }));
    assert.equal(first.promotion.promote, true);
    const strict = { ...f.config, promotion: { ...f.config.promotion, max_rmse: 0.001 } };
    const file = await csv(f.dir, 'other.csv', 700, 11);
    const second = await runPipelineJob(job(f.store, strict, { alias: 'dev', data: { kind: 'file', path: file } }));
    assert.equal(second.train.version, 2);
    assert.equal(second.promotion.promote, false);
    assert.match(second.promotion.reason, /^gate failed: rmse [\d.]+ exceeds promotion\.max_rmse 0\.001$/);
    assert.equal((await getAlias(f.store, 'sap_change', 'dev'))?.version, 1);
    assert.deepEqual(await listVersionNumbers(f.store, 'sap_change'), [1, 2]);
    const err = gateFailure(second)!;
    assert.equal(exitCodeFor(err), 11);
    assert.match(err.message, /^sap_change@2 \(run \S+\) is registered but not promoted to @dev: rmse/);
    assert.deepEqual(
      err.details.map((d) => d.field),
      ['promotion.max_rmse'],
    );
    assert.equal(err.context?.version, 2);
    assert.equal(gateFailure(first), undefined);
  },
);

test('valid but not better than the holder: registered, not promoted, no error', async () => {
  const f = await setup((raw) => {
    raw.promotion.min_improvement = 0.5;
  });
  await runPipelineJob(job(f.store, f.config));
  const file = await csv(f.dir, 'other.csv', 700, 11);
  const second = await runPipelineJob(job(f.store, f.config, { data: { kind: 'file', path: file } }));
  assert.equal(second.promotion.promote, false);
  assert.equal(second.promotion.gate.passed, true);
  assert.match(second.promotion.reason, /of version 1: does not beat it by the required margin \(0\.5\)/);
  assert.equal(gateFailure(second), undefined);
  assert.equal((await getAlias(f.store, 'sap_change', 'champion'))?.version, 1);
});

test('an unchanged rerun reuses its version: nothing registered, the run says which version it equals', async () => {
  const f = await setup();
  const first = await runPipelineJob(job(f.store, f.config, { alias: 'dev' }));
  const again = await runPipelineJob(job(f.store, f.config, { alias: 'dev' }));
  assert.equal(again.train.unchanged, true);
  assert.equal(again.train.version, first.train.version);
  assert.equal(again.train.manifest.artifact.sha256, first.train.manifest.artifact.sha256);
  assert.notEqual(again.train.run_id, first.train.run_id);
  assert.equal(again.promotion.already, true);
  assert.equal(again.promotion.promote, false);
  assert.deepEqual(await listVersionNumbers(f.store, 'sap_change'), [1]);
  assert.equal((await aliasHistory(f.store, 'sap_change', 'dev')).length, 1);
  const run = await getRun(f.store, again.train.run_id);
  assert.equal(run.status, 'FINISHED');
  assert.deepEqual([run.params.registered_version, run.params.unchanged], [1, true]);
  // A changed monitoring threshold is a different version (its manifest says how to monitor).
  const changed = await runPipelineJob(
    job(f.store, { ...f.config, monitoring: { ...f.config.monitoring, psi_alert: 0.3 } }),
  );
  assert.equal(changed.train.unchanged, false);
  assert.equal(changed.train.version, 2);
});

test('synthetic rows only where the config allows them, marked in the dataset, run and version', async () => {
  const denied = await setup((raw) => {
    raw.dataset.allow_synthetic = false;
  });
  await assert.rejects(runPipelineJob(job(denied.store, denied.config)), (e: Error) => {
    assert.ok(e instanceof NotFoundError);
    assert.match(
      e.message,
      /dataset "epc_retrofit" has no versions in .*mltk data add FILE --dataset epc_retrofit.*dataset\.allow_synthetic: true/,
    );
    return true;
  });
  assert.deepEqual(await denied.store.list(''), []);

  const f = await setup();
  const lines: string[] = [];
  const r = await runPipelineJob(job(f.store, f.config, { say: (l) => lines.push(l) }));
  assert.deepEqual(
    [r.train.dataset.synthetic, r.train.dataset.pinned, r.train.dataset.origin],
    [true, false, 'synthesized'],
  );
  assert.deepEqual(r.train.manifest.dataset, {
    name: 'epc_retrofit',
    version: r.train.dataset.version,
    pinned: false,
    synthetic: true,
  });
  assert.equal((await getRun(f.store, r.train.run_id)).dataset?.synthetic, true);
  const dv = await resolveDatasetVersion(f.store, 'epc_retrofit');
  assert.deepEqual(dv.synthetic, { generator: 'mltk data synth (EPC retrofit)', rows: 600, seed: 42 });
  assert.equal(dv.source, 'synthesized: 600 rows, seed 42');
  assert.deepEqual(
    lines.filter((l) => /^\[\d\/5\]/.test(l)).map((l) => l.slice(0, 5)),
    ['[1/5]', '[2/5]', '[3/5]', '[4/5]', '[5/5]'],
  );
  assert.ok(lines.some((l) => /SYNTHETIC/.test(l)));
});

test('a pinned config trains on exactly its version, and a missing pin names the version and the command', async () => {
  const f = await setup();
  const older = await csv(f.dir, 'older.csv', 600, 5);
  const newer = await csv(f.dir, 'newer.csv', 650, 6);
  const pin = (await addDatasetVersion(f.store, 'epc_retrofit', older, new Date('2026-01-01'))).version.version;
  await addDatasetVersion(f.store, 'epc_retrofit', newer, new Date('2026-02-01'));
  const pinned = { ...f.config, dataset: { ...f.config.dataset, version: pin } };
  const r = await runPipelineJob(job(f.store, pinned));
  assert.deepEqual(
    [r.train.dataset.version, r.train.dataset.pinned, r.train.dataset.synthetic, r.train.dataset.origin],
    [pin, true, false, 'pinned'],
  );
  assert.equal((await resolveModel(f.store, 'sap_change@1')).dataset?.pinned, true);

  const missing = { ...f.config, dataset: { ...f.config.dataset, version: 'e'.repeat(64) } };
  const before = await f.store.list('');
  await assert.rejects(runPipelineJob(job(f.store, missing)), (e: Error) => {
    assert.ok(e instanceof NotFoundError);
    assert.equal(
      e.message,
      `the config pins dataset epc_retrofit@${'e'.repeat(64)} (dataset.version), which is not in ${f.store.url}; add ` +
        `that file first: mltk data add FILE --dataset epc_retrofit --store ${f.store.url}`,
    );
    return true;
  });
  assert.deepEqual(await f.store.list(''), before, 'nothing written: no run, no version');
});

// ---- a promotion that loses a race (#17.8)

/** A registered version with the given rmse (a stand-in competitor; only its manifest matters here). */
async function competitor(store: ObjectStore, template: ModelVersion, rmse: number): Promise<ModelVersion> {
  const { kind: _k, version: _v, created_at: _c, ...entry } = template;
  return registerModelVersion(store, { ...entry, run_id: null, metrics: { ...entry.metrics, rmse } });
}

/**
 * The real store, except that just before each of our first `races` alias swaps (the compare-and-swap
 * that commits a move) another process moves the alias (to the next of `rivals`): our swap then loses,
 * as in a real race.
 */
function racingStore(store: ObjectStore, alias: string, rivals: () => number, races: number): ObjectStore {
  let left = races;
  const aliasKey = `models/sap_change/aliases/${alias}.json`;
  const interfere = async (key: string) => {
    if (left > 0 && key === aliasKey) {
      left--;
      await moveAlias(store, 'sap_change', alias, rivals());
    }
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'putIfMatch') {
        return async (key: string, body: Buffer | string, etag: string) => {
          await interfere(key);
          return target.putIfMatch(key, body, etag);
        };
      }
      if (prop === 'putIfAbsent') {
        return async (key: string, body: Buffer | string) => {
          await interfere(key);
          return target.putIfAbsent(key, body);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

test('a lost race decides again against the new holder: promoted over a worse one, not over a better one', async () => {
  const f = await setup();
  const r = await runPipelineJob(job(f.store, f.config, { alias: 'dev' }));
  const worse = await competitor(f.store, r.train.manifest, 1e6);
  const better = await competitor(f.store, r.train.manifest, 1e-6);
  const candidate = await competitor(f.store, r.train.manifest, r.train.metrics.rmse! / 2);
  const won = await promoteIfBetter(
    racingStore(f.store, 'dev', () => worse.version, 1),
    f.config,
    candidate,
    { alias: 'dev' },
  );
  assert.equal(won.promote, true);
  assert.equal(won.incumbent?.version, worse.version, 'decided against the holder that won the race');
  assert.equal((await getAlias(f.store, 'sap_change', 'dev'))?.version, candidate.version);

  const late = await competitor(f.store, r.train.manifest, r.train.metrics.rmse! / 4);
  const lost = await promoteIfBetter(
    racingStore(f.store, 'dev', () => better.version, 1),
    f.config,
    late,
    { alias: 'dev' },
  );
  assert.equal(lost.promote, false);
  assert.match(lost.reason, new RegExp(`of version ${better.version}: does not beat it`));
  assert.equal((await getAlias(f.store, 'sap_change', 'dev'))?.version, better.version);
});

test('a run whose promotion keeps losing races reports the version it registered and trains nothing more', async () => {
  const f = await setup();
  const first = await runPipelineJob(job(f.store, f.config, { alias: 'dev' }));
  const a = await competitor(f.store, first.train.manifest, 1e6);
  const b = await competitor(f.store, first.train.manifest, 2e6);
  let rounds = 0;
  const racing = racingStore(f.store, 'dev', () => (rounds++ % 2 === 0 ? a.version : b.version), PROMOTION_ATTEMPTS);
  const file = await csv(f.dir, 'other.csv', 700, 11);
  const runsBefore = (await listRuns(f.store)).runs.length;
  await assert.rejects(
    runPipelineJob(job(racing, f.config, { alias: 'dev', data: { kind: 'file', path: file } })),
    (e: Error & { code?: string; context?: Record<string, unknown> }) => {
      assert.equal(e.code, 'CONFLICT');
      assert.equal(exitCodeFor(e), 6);
      assert.match(
        e.message,
        /^registered sap_change@4 \(run \S+\), but promoting it to @dev failed: alias sap_change@dev was moved concurrently; not moved \(retry\); rerun `mltk run`: it reuses version 4/,
      );
      assert.equal(e.context?.version, 4);
      assert.ok((e as Error & { cause?: unknown }).cause instanceof ConflictError);
      return true;
    },
  );
  assert.equal((await listRuns(f.store)).runs.length, runsBefore + 1, 'one training, however many promotion attempts');
  assert.deepEqual(await listVersionNumbers(f.store, 'sap_change'), [1, 2, 3, 4]);
});
