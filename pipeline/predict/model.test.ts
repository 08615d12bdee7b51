import { jsonLogger } from '../log/index.ts';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError } from '../errors/index.ts';
import { moveAlias } from '../registry/index.ts';
import {
  createPredictHandler,
  loadModel,
  ModelCache,
  ModelUnavailableError,
  RETRY_LOAD_MS,
  type HttpResult,
} from './index.ts';
import {
  captureLines,
  httpEvent,
  instanceOf,
  registerOnnx,
  storeWithModel,
  trainFixture,
  type Fixture,
} from './testdata.ts';
import { modelArtifactKey } from '../store/index.ts';

let fx: Fixture;
let other: Fixture;

before(async () => {
  [fx, other] = await Promise.all([trainFixture(), trainFixture({ trees: 8, seed: 7 })]);
});

function blobPath(dir: string, sha256: string): string {
  return join(dir, ...modelArtifactKey('sap_change', sha256).split('/'));
}

async function tamper(dir: string, sha256: string): Promise<Buffer> {
  const path = blobPath(dir, sha256);
  const original = await readFile(path);
  const bad = Buffer.from(original);
  bad[bad.length - 1]! ^= 0xff;
  await writeFile(path, bad);
  return original;
}

test('a moved alias is picked up after the TTL, not before, and the new version gets a new session', async () => {
  const env = await storeWithModel(fx);
  try {
    let clock = 1_000_000;
    const cache = new ModelCache(env.store, 'sap_change@prod', {
      aliasTtlMs: 10_000,
      now: () => clock,
      log: jsonLogger(() => undefined),
    });
    const v1 = await cache.get();
    assert.equal(v1.version, 1);
    const v2 = await registerOnnx(env.store, other.config, other.trained.onnx);
    await moveAlias(env.store, 'sap_change', 'prod', v2.version);
    clock += 9_999;
    assert.equal((await cache.get()).version, 1, 'within the TTL the alias is not re-read');
    clock += 1;
    const swapped = await cache.get();
    assert.equal(swapped.version, 2);
    assert.notEqual(swapped.session, v1.session);
    const got = await swapped.score(other.table);
    const want = await other.trained.predict(other.table);
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `row ${i}`);
  } finally {
    await env.cleanup();
  }
});

test('a pinned version never re-reads the alias', async () => {
  const env = await storeWithModel(fx);
  try {
    let clock = 0;
    const cache = new ModelCache(env.store, 'sap_change@1', {
      aliasTtlMs: 0,
      now: () => clock,
      log: jsonLogger(() => undefined),
    });
    await cache.get();
    const v2 = await registerOnnx(env.store, other.config, other.trained.onnx);
    await moveAlias(env.store, 'sap_change', 'prod', v2.version);
    clock += 1e9;
    assert.equal((await cache.get()).version, 1);
  } finally {
    await env.cleanup();
  }
});

test(
  'a model blob whose bytes do not match its hash is refused at cold start: 503 on the API, ' + 'nothing served',
  async () => {
    const env = await storeWithModel(fx);
    try {
      await tamper(env.dir, env.mv.artifact.sha256);
      await assert.rejects(
        loadModel(env.store, 'sap_change@prod'),
        (e: unknown) => e instanceof IntegrityError && /is corrupt/.test(e.message),
      );
      const logs = captureLines();
      const handler = createPredictHandler({
        store: env.store,
        model: 'sap_change@prod',
        aliasTtlS: 60,
        maxBodyBytes: 1e6,
        maxInstances: 100,
        log: jsonLogger(logs.sink),
        metrics: () => undefined,
      });
      const res = (await handler(httpEvent('GET', '/health'))) as HttpResult;
      assert.equal(res.statusCode, 503);
      const body = JSON.parse(res.body);
      assert.equal(body.error.code, 'MODEL_UNAVAILABLE');
      assert.match(body.error.message, /is corrupt/);
      await assert.rejects(
        handler.cache().get(),
        (e: unknown) => e instanceof ModelUnavailableError && e.reason instanceof IntegrityError,
      );
      assert.equal(
        logs.parsed().filter((l) => l.msg === 'model load failed').length,
        1,
        'within the retry delay the store is not read again',
      );
    } finally {
      await env.cleanup();
    }
  },
);

test(
  'a corrupt blob behind a moved alias is refused and the previous session keeps serving until a ' + 'good one arrives',
  async () => {
    const env = await storeWithModel(fx);
    try {
      let clock = 0;
      const logs = captureLines();
      const cache = new ModelCache(env.store, 'sap_change@prod', {
        aliasTtlMs: 1000,
        now: () => clock,
        log: jsonLogger(logs.sink),
      });
      const v1 = await cache.get();
      const v2 = await registerOnnx(env.store, other.config, other.trained.onnx);
      const original = await tamper(env.dir, v2.artifact.sha256);
      await moveAlias(env.store, 'sap_change', 'prod', v2.version);
      clock += 1000;
      const still = await cache.get();
      assert.equal(still, v1);
      assert.equal((await still.score(fx.table)).length, fx.table.rows, 'the old session still scores');
      const failure = logs.parsed().find((l) => l.msg === 'model refresh failed; the loaded version keeps serving');
      assert.equal(failure?.error_class, 'IntegrityError');
      assert.equal(failure?.version, 1);
      // Repaired: picked up at the next TTL, not sooner.
      await writeFile(blobPath(env.dir, v2.artifact.sha256), original);
      clock += 999;
      assert.equal((await cache.get()).version, 1);
      clock += 1;
      assert.equal((await cache.get()).version, 2);
    } finally {
      await env.cleanup();
    }
  },
);

test(
  'after a failed first load the store is tried again only after the retry delay; then the ' + 'model serves',
  async () => {
    const env = await storeWithModel(fx);
    try {
      let clock = 0;
      const original = await tamper(env.dir, env.mv.artifact.sha256);
      const cache = new ModelCache(env.store, 'sap_change@prod', {
        aliasTtlMs: 60_000,
        now: () => clock,
        log: jsonLogger(() => undefined),
      });
      await assert.rejects(cache.get(), ModelUnavailableError);
      await writeFile(blobPath(env.dir, env.mv.artifact.sha256), original);
      clock += RETRY_LOAD_MS - 1;
      await assert.rejects(cache.get(), /is corrupt/);
      clock += 1;
      assert.equal((await cache.get()).version, 1);
    } finally {
      await env.cleanup();
    }
  },
);

test('concurrent first requests share one load', async () => {
  const env = await storeWithModel(fx);
  try {
    const cache = new ModelCache(env.store, 'sap_change@prod', {
      aliasTtlMs: 60_000,
      log: jsonLogger(() => undefined),
    });
    const got = await Promise.all(Array.from({ length: 8 }, () => cache.get()));
    assert.ok(got.every((m) => m === got[0]));
    const req = instanceOf(fx.config, fx.table, 0);
    assert.equal(Object.keys(req).length, fx.config.features.length);
  } finally {
    await env.cleanup();
  }
});
