import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPredictHandler, type HttpResult, type PredictHandler } from './index.ts';
import { jsonLogger } from '../log/index.ts';
import { registerModelVersion } from '../registry/index.ts';
import { captureLines, httpEvent, instanceOf, storeWithModel, trainFixture, type Fixture } from './testdata.ts';

let fx: Fixture;
let env: Awaited<ReturnType<typeof storeWithModel>>;
let handler: PredictHandler;
const logs = captureLines();
const metrics = captureLines();

before(async () => {
  fx = await trainFixture();
  env = await storeWithModel(fx);
  handler = createPredictHandler({
    store: env.store,
    model: 'sap_change@prod',
    aliasTtlS: 60,
    maxBodyBytes: 20_000,
    maxInstances: 50,
    log: jsonLogger(logs.sink),
    metrics: metrics.sink,
  });
});
after(() => env.cleanup());

async function call(
  method: string,
  path: string,
  body?: unknown,
  opts: { base64?: boolean; raw?: boolean } = {},
): Promise<{ status: number; headers: Record<string, string>; json: any }> {
  const text = body === undefined ? undefined : opts.raw ? String(body) : JSON.stringify(body);
  const res = (await handler(httpEvent(method, path, text, opts))) as HttpResult;
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(res.body) };
}

const instances = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => instanceOf(fx.config, fx.table, from + i));

test(
  'POST /predict scores instances with the registered model, equal to the trainer within ' + 'float32 tolerance',
  async () => {
    const res = await call('POST', '/predict', { instances: instances(25) });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.model, { name: 'sap_change', version: 1 });
    const expected = await fx.trained.predict(fx.table);
    assert.equal(res.json.predictions.length, 25);
    for (const [i, p] of (res.json.predictions as number[]).entries())
      assert.ok(
        Math.abs(p - expected[i]!) <= 1e-5 * Math.max(1, Math.abs(expected[i]!)),
        `row ${i}: ${p} vs ${expected[i]}`,
      );
  },
);

test(
  'the API answers under a /<model> prefix too (the custom domain mapping), and /health names the ' + 'loaded model',
  async () => {
    const res = await call('POST', '/sap_change/predict', { instances: instances(1) });
    assert.equal(res.status, 200);
    const health = await call('GET', '/sap_change/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.model.name, 'sap_change');
    assert.equal(health.json.model.version, 1);
    assert.equal(health.json.model.alias, 'prod');
    assert.equal(health.json.model.sha256, env.mv.artifact.sha256);
    assert.ok(!Number.isNaN(Date.parse(health.json.model.loaded_at)));
  },
);

test("/health carries the training data's lineage: a model trained on synthetic rows says so", async () => {
  const lineage = { name: 'epc_retrofit', version: 'c'.repeat(64), pinned: false, synthetic: true };
  const mv = await registerModelVersion(env.store, { ...env.mv, dataset: lineage });
  const synthetic = createPredictHandler({
    store: env.store,
    model: `sap_change@${mv.version}`,
    aliasTtlS: 60,
    maxBodyBytes: 20_000,
    maxInstances: 50,
    log: jsonLogger(() => {}),
    metrics: () => {},
  });
  const res = (await synthetic(httpEvent('GET', '/health'))) as HttpResult;
  assert.deepEqual(JSON.parse(res.body).model.dataset, lineage);
  assert.equal((await call('GET', '/health')).json.model.dataset, null, 'a version registered without lineage');
});

test(
  'booleans accept true/false/0/1, a nullable feature may be null or absent, the id column ' + 'may ride along',
  async () => {
    const a: Record<string, unknown> = { ...instanceOf(fx.config, fx.table, 0), home_id: 'H-1' };
    const b = { ...a, walls_insulated: a.walls_insulated ? 1 : 0, loft_insulation: 0, roof_insulation_mm: null };
    const c = { ...a } as Record<string, unknown>;
    delete c.roof_insulation_mm;
    const res = await call('POST', '/predict', { instances: [a, b, c] });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.predictions.length, 3);
    assert.equal(res.json.predictions[1], res.json.predictions[2], 'null and absent are the same missing value');
  },
);

test('a bad field answers 400 with row/field details for every bad cell, and nothing is scored', async () => {
  const good = instanceOf(fx.config, fx.table, 0);
  const body = {
    instances: [
      good,
      { ...good, total_floor_area: 5000 },
      { ...good, property_type: 'Castle', solar_pv: 'yes', totl_floor_area: 3 },
      { ...good, current_sap: undefined },
    ],
  };
  const res = await call('POST', '/predict', body);
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'INPUT_INVALID');
  assert.match(res.json.error.message, /3 of 4 instances failed validation/);
  const details = res.json.error.details as { row: number; field: string; issue: string }[];
  const find = (row: number, field: string) => details.find((d) => d.row === row && d.field === field);
  assert.match(find(1, 'total_floor_area')!.issue, /out of range \(expected between 10 and 1000\)/);
  assert.match(find(2, 'property_type')!.issue, /expected one of House\|Bungalow\|Flat\|Maisonette, got "Castle"/);
  assert.match(find(2, 'solar_pv')!.issue, /expected true, false, 0 or 1/);
  assert.match(find(2, 'totl_floor_area')!.issue, /unknown field/);
  assert.match(find(3, 'current_sap')!.issue, /missing value/);
  assert.equal(details.filter((d) => d.row === 0).length, 0);
});

test(
  'request-level mistakes answer 400: malformed JSON, no body, missing or empty instances, too ' + 'many, not objects',
  async () => {
    const cases: [unknown, boolean, RegExp][] = [
      ['{"instances": [', true, /malformed JSON/],
      ['', true, /empty request body/],
      [{ rows: [] }, false, /missing "instances"/],
      [{ instances: {} }, false, /expected "instances" to be an array/],
      [{ instances: [] }, false, /"instances" is empty/],
      [{ instances: Array.from({ length: 51 }, () => ({})) }, false, /too many instances \(the limit is 50/],
      [{ instances: [42] }, false, /1 of 1 instance failed/],
      [[1, 2], false, /expected a JSON object/],
    ];
    for (const [body, raw, message] of cases) {
      const res = await call('POST', '/predict', body, { raw });
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 40)} → ${res.status}`);
      assert.equal(res.json.error.code, 'INPUT_INVALID');
      assert.match(res.json.error.message, message);
      assert.ok(Array.isArray(res.json.error.details));
    }
  },
);

test('an over-large body answers 413 before it is decoded or parsed, plain or base64', async () => {
  const big = JSON.stringify({ instances: instances(50) });
  assert.ok(big.length > 20_000);
  for (const base64 of [false, true]) {
    const res = await call('POST', '/predict', big, { raw: true, base64 });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'PAYLOAD_TOO_LARGE');
    assert.match(res.json.error.message, /limit is 20000/);
  }
  const ok = await call('POST', '/predict', JSON.stringify({ instances: instances(2) }), { raw: true, base64: true });
  assert.equal(ok.status, 200);
});

test('unknown routes answer 404 and wrong methods 405 with an allow header', async () => {
  for (const path of ['/', '/score', '/other_model/predict', '/sap_change/predict/extra']) {
    const res = await call('POST', path, { instances: instances(1) });
    assert.equal(res.status, 404, path);
    assert.equal(res.json.error.code, 'NOT_FOUND');
  }
  const get = await call('GET', '/predict');
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
  const del = await call('DELETE', '/sap_change/health');
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, HEAD');
});

test('after every kind of client error the same warm session keeps serving', async () => {
  const session = handler.cache().current()!.session;
  await call('POST', '/predict', '{', { raw: true });
  await call('POST', '/predict', 'x'.repeat(30_000), { raw: true });
  await call('PUT', '/predict');
  await call('GET', '/nope');
  await call('POST', '/predict', { instances: [{ total_floor_area: 'big' }] });
  const res = await call('POST', '/predict', { instances: instances(3) });
  assert.equal(res.status, 200);
  assert.equal(handler.cache().current()!.session, session);
});

test(
  'every request logs one JSON line (request id, status, latency, counts; never the body) and predict ' +
    'emits EMF metrics',
  async () => {
    logs.lines.length = 0;
    metrics.lines.length = 0;
    const secret = 'Castle-of-secrets';
    await call('POST', '/predict', {
      instances: [...instances(2), { ...instanceOf(fx.config, fx.table, 0), property_type: secret }],
    });
    await call('POST', '/predict', { instances: instances(4) });
    await call('POST', '/predict', `{"instances": [{"note": "${secret}"`, { raw: true });
    const lines = logs.parsed().slice(0, 2);
    assert.equal(logs.lines.length, 3);
    assert.match(String(logs.parsed()[2]!.error), /^malformed JSON/);
    assert.ok(!logs.lines.some((l) => l.includes(secret)), 'request bodies are never logged');
    const [bad, good] = lines as any[];
    assert.equal(bad.level, 'warn');
    assert.equal(bad.status, 400);
    assert.equal(bad.invalid, 1);
    assert.equal(good.level, 'info');
    assert.equal(good.msg, 'request');
    assert.equal(good.model, 'sap_change');
    assert.equal(good.version, 1);
    assert.equal(good.scored, 4);
    assert.ok(typeof good.request_id === 'string' && good.request_id.startsWith('req-'));
    assert.ok(good.latency_ms >= 0);
    const emf = metrics.parsed() as any[];
    assert.equal(emf.length, 3);
    const def = emf[1]._aws.CloudWatchMetrics[0];
    assert.equal(def.Namespace, 'mltk/sap_change');
    assert.deepEqual(def.Dimensions, [['Model']]);
    assert.deepEqual(
      def.Metrics.map((m: { Name: string }) => m.Name),
      ['RowsScored', 'ValidationErrors', 'PredictLatencyMs'],
    );
    assert.equal(emf[1].Model, 'sap_change');
    assert.equal(emf[1].RowsScored, 4);
    assert.equal(emf[0].ValidationErrors, 1);
    assert.equal(emf[0].RowsScored, 0);
  },
);
