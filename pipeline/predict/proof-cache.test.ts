// Kept proofs of the fast path (proof-cache.ts): a real model, real ONNX Runtime sessions, the cache
// in a scratch folder.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerModelVersion } from '../registry/index.ts';
import { modelArtifactKey, putModelArtifact } from '../store/index.ts';
import { onnxRuntime, trainModel } from '../train/index.ts';
import { directoryProofCache, loadModelVersion, buildFeeds, type LoadedModel } from './index.ts';
import { csvTable, storeWithModel, synthCsv, trainFixture, type Fixture } from './testdata.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-proofs-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function env(fixture?: Fixture) {
  const fx = fixture ?? (await trainFixture());
  const e = await storeWithModel(fx);
  cleanups.push(e.cleanup);
  return { ...e, config: fx.config };
}

/** What ONNX Runtime answers for `table`, on one thread (the order the fast evaluator sums in). */
async function ortScores(model: LoadedModel, table: Awaited<ReturnType<typeof csvTable>>): Promise<Float32Array> {
  const session = await onnxRuntime().InferenceSession.create(model.onnx, { intraOpNumThreads: 1 });
  try {
    return (await session.run(buildFeeds(model.plan, table).feeds)).prediction!.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('a kept proof spares ONNX Runtime at the next load; the model then scores as ONNX Runtime does', async () => {
  const e = await env();
  const dir = await scratchDir();
  const proofs = directoryProofCache(dir);
  const first = await loadModelVersion(e.store, e.mv, { proofs });
  assert.equal(first.fastPath.used, true, first.fastPath.reason ?? '');
  assert.equal(first.fastPath.kept, false, 'the first load proves');
  assert.notEqual(first.session, null);
  first.retire();
  assert.equal((await readdir(dir)).length, 1, 'the passed proof is kept');

  const second = await loadModelVersion(e.store, e.mv, { proofs });
  try {
    assert.equal(second.fastPath.kept, true);
    assert.equal(second.session, null, 'no ONNX Runtime session was opened');
    assert.deepEqual(
      { ...second.fastPath, kept: false },
      first.fastPath,
      'the verdict is the one the proof gave (probe rows, largest difference)',
    );
    assert.deepEqual(second.plan, first.plan);
    const table = await csvTable(e.config, await synthCsv(2000, 77));
    assert.deepEqual(await second.score(table), await ortScores(second, table));
  } finally {
    second.retire();
  }
});

test('other bytes, another baseline or a changed entry miss the kept proof: those loads prove afresh', async () => {
  const e = await env();
  const dir = await scratchDir();
  const proofs = directoryProofCache(dir);
  (await loadModelVersion(e.store, e.mv, { proofs })).retire();
  const [entry] = await readdir(dir);

  // Another model (other bytes) in the same store.
  const fx = await trainFixture({ trees: 12, seed: 5 });
  const other = await registerModelVersion(e.store, {
    ...e.mv,
    artifact: { ...(await putModelArtifact(e.store, e.mv.name, Buffer.from(fx.trained.onnx))), format: 'onnx' },
  });
  const otherModel = await loadModelVersion(e.store, other, { proofs });
  assert.equal(otherModel.fastPath.kept, false);
  otherModel.retire();

  // The same bytes registered with another baseline: the probe would take another sample.
  const table = await csvTable(e.config, await synthCsv(300, 9));
  const sample = (name: string) => {
    const col = table.columns.get(name)!;
    return col.kind === 'numeric' ? Array.from(col.values).filter((v) => !Number.isNaN(v)) : undefined;
  };
  const baseline = await putModelArtifact(
    e.store,
    e.mv.name,
    Buffer.from(JSON.stringify({ features: e.config.features.map((f) => ({ name: f.name, sample: sample(f.name) })) })),
  );
  const rebased = await registerModelVersion(e.store, { ...e.mv, baseline });
  const rebasedModel = await loadModelVersion(e.store, rebased, { proofs });
  assert.equal(rebasedModel.fastPath.kept, false);
  assert.equal(rebasedModel.fastPath.used, true);
  rebasedModel.retire();
  assert.equal((await readdir(dir)).length, 3, 'each of the three proofs kept under its own key');

  // One byte of the first entry changed on disk: read as a miss, proven again and rewritten.
  const path = join(dir, entry!);
  const bytes = await readFile(path);
  bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
  await writeFile(path, bytes);
  const reloaded = await loadModelVersion(e.store, e.mv, { proofs });
  assert.equal(reloaded.fastPath.kept, false);
  reloaded.retire();
  const again = await loadModelVersion(e.store, e.mv, { proofs });
  assert.equal(again.fastPath.kept, true, 'the rewritten entry reads');
  again.retire();
});

test('only passed proofs made with everything their key names are kept', async () => {
  const dir = await scratchDir();
  const proofs = directoryProofCache(dir);

  // A graph the evaluator does not know: served by ONNX Runtime, nothing kept, the next load tries again.
  const fx = await trainFixture();
  const linear = await env({
    ...fx,
    trained: await trainModel(
      { ...fx.config, trainer: { type: 'linear', params: { alpha: 1 } } },
      await csvTable(fx.config, await synthCsv(500, 3)),
    ),
  });
  for (let i = 0; i < 2; i++) {
    const model = await loadModelVersion(linear.store, linear.mv, { proofs });
    assert.equal(model.fastPath.used, false);
    assert.equal(model.fastPath.kept, false);
    model.retire();
  }
  assert.deepEqual(await readdir(dir), []);

  // A baseline that cannot be read (its bytes no longer hash to its name): the probe had its edge rows
  // only, less than the key says.
  const e = await env(fx);
  const baseline = await putModelArtifact(e.store, e.mv.name, Buffer.from(JSON.stringify({ features: [] })));
  const unreadable = await registerModelVersion(e.store, { ...e.mv, baseline });
  await writeFile(join(e.dir, modelArtifactKey(e.mv.name, baseline.sha256)), '{"features": "changed"}');
  const model = await loadModelVersion(e.store, unreadable, { proofs });
  assert.equal(model.fastPath.used, true, model.fastPath.reason ?? '');
  model.retire();
  assert.deepEqual(await readdir(dir), []);

  // A proof a test adjusts is never read from nor written to the cache.
  const adjusted = await loadModelVersion(e.store, e.mv, { proofs, fastPath: { adjustProgram: () => undefined } });
  assert.equal(adjusted.fastPath.kept, false);
  adjusted.retire();
  assert.deepEqual(await readdir(dir), []);
});
