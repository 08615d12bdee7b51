// The Lambda entry point as Lambda runs it: configured by environment variables, invoked with
// API Gateway v2 events (local store) and S3 notifications (real moto_server buckets).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { allTargets } from '../deployment/targets.ts';
import { EXAMPLE_IMAGE_TAG, EXAMPLE_STATE_BUCKET, exampleEnv, parseDeployInputs } from '../deployment/infra/inputs.ts';
import { lambdaEnvironment } from '../deployment/infra/stacks.ts';
import { moveAlias } from '../pipeline/registry/index.ts';
import { makeS3Client, openStore } from '../pipeline/store/index.ts';
import { startMoto, motoUnavailable, useMotoEnv, type MotoServer } from '../pipeline/testing/moto.ts';
import {
  httpEvent,
  instanceOf,
  registerOnnx,
  storeWithModel,
  trainFixture,
  type Fixture,
} from '../pipeline/predict/testdata.ts';

type Handler = (event: unknown, context?: { awsRequestId?: string }) => Promise<any>;

let fx: Fixture;
let local: Awaited<ReturnType<typeof storeWithModel>>;

before(async () => {
  fx = await trainFixture();
  local = await storeWithModel(fx);
});
after(() => local.cleanup());

/** A fresh instance of the handler module (a new "container") configured by `env`. */
async function container(env: Record<string, string>, tag: string): Promise<Handler> {
  Object.assign(process.env, env);
  return (await import(`./predict.ts?container=${tag}`)).handler as Handler;
}

/** Runs `fn` with stdout lines captured (the handler logs there, as in Lambda). */
async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const s = String(chunk);
    if (s.startsWith('{')) {
      lines.push(...s.trimEnd().split('\n'));
      return true;
    }
    return write(chunk, ...(rest as []));
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = write;
  }
}

test(
  'API Gateway events: predictions, then every client error with its status, and the container keeps ' + 'serving',
  async () => {
    const handler = await container(
      {
        MLTK_STORE: local.dir,
        MLTK_MODEL: 'sap_change',
        MLTK_ALIAS: 'prod',
        MLTK_ALIAS_TTL_S: '60',
        MLTK_MAX_BODY_BYTES: '4000',
      },
      'local',
    );
    const post = async (path: string, body: string, method = 'POST') => {
      const { result, lines } = await captureStdout(() =>
        handler(httpEvent(method, path, body), { awsRequestId: 'lambda-req' }),
      );
      return {
        status: result.statusCode as number,
        body: JSON.parse(result.body),
        headers: result.headers as Record<string, string>,
        lines,
      };
    };
    const instances = [0, 1, 2].map((i) => instanceOf(fx.config, fx.table, i));
    const ok = await post('/sap_change/predict', JSON.stringify({ instances }));
    assert.equal(ok.status, 200);
    const expected = await fx.trained.predict(fx.table);
    for (const [i, p] of (ok.body.predictions as number[]).entries())
      assert.ok(Math.abs(p - expected[i]!) < 1e-4, `row ${i}`);
    assert.deepEqual(ok.body.model, { name: 'sap_change', version: 1 });
    const logged = ok.lines.map((l) => JSON.parse(l));
    assert.ok(logged.some((l) => l.msg === 'model loaded' && l.version === 1));
    assert.ok(logged.some((l) => l.msg === 'request' && l.status === 200 && l.scored === 3));
    assert.ok(
      logged.some((l) => l._aws?.CloudWatchMetrics?.[0]?.Namespace === 'mltk/sap_change' && l.RowsScored === 3),
    );

    const malformed = await post('/predict', '{"instances": [1,');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'INPUT_INVALID');
    assert.match(malformed.body.error.message, /malformed JSON/);

    const badField = await post(
      '/predict',
      JSON.stringify({ instances: [instances[0], { ...instances[1], number_habitable_rooms: 0 }] }),
    );
    assert.equal(badField.status, 400);
    assert.deepEqual(badField.body.error.details, [
      { row: 1, field: 'number_habitable_rooms', issue: 'value out of range (expected between 1 and 30)' },
    ]);

    const tooBig = await post('/predict', JSON.stringify({ instances: Array(40).fill(instances[0]) }));
    assert.equal(tooBig.status, 413);

    const notFound = await post('/sap_change/explain', '{}');
    assert.equal(notFound.status, 404);

    const wrongMethod = await post('/predict', '', 'GET');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');

    const again = await post('/predict', JSON.stringify({ instances }));
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.predictions, ok.body.predictions);
    assert.ok(!again.lines.some((l) => JSON.parse(l).msg === 'model loaded'), 'no reload: the warm session served');
  },
);

test('an event that is neither API Gateway nor S3 is refused', async () => {
  const handler = await container({ MLTK_STORE: local.dir, MLTK_MODEL: 'sap_change', MLTK_ALIAS: 'prod' }, 'odd');
  await assert.rejects(handler({ hello: 'world' }), /unsupported event/);
});

let moto: MotoServer | undefined;
after(async () => {
  await moto?.stop();
});

test('S3 ObjectCreated under incoming/ → predictions and errors objects in the predictions bucket (moto_server)', {
  skip: motoUnavailable(),
}, async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  const s3 = await makeS3Client();
  for (const Bucket of ['mltk-models', 'mltk-data', 'mltk-predictions'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  const models = openStore('s3://mltk-models');
  const mv = await registerOnnx(models, fx.config, fx.trained.onnx);
  await moveAlias(models, 'sap_change', 'prod', mv.version);

  const lines = fx.csv.toString().trimEnd().split('\n');
  lines[2] = lines[2]!.replace(/,(single|double|triple),/, ',quadruple,');
  lines[9] = lines[9]!.replace(/,(True|False|true|false|0|1),/, ',maybe,');
  lines[14] = `${lines[14]},x,y,z`; // 29 fields: an errors row, the other rows still scored
  const data = openStore('s3://mltk-data');
  const key = 'incoming/2024 q1/homes.csv';
  await data.put(key, `${lines.join('\n')}\n`);
  await data.put(
    'incoming/2024 q1/more.jsonl',
    [0, 1, 2].map((i) => JSON.stringify({ home_id: `J${i}`, ...instanceOf(fx.config, fx.table, i) })).join('\n'),
  );
  await data.put('elsewhere/ignored.csv', 'x\n1\n');

  const handler = await container(
    {
      MLTK_STORE: 's3://mltk-models',
      MLTK_MODEL: 'sap_change',
      MLTK_ALIAS: 'prod',
      MLTK_PREDICTIONS_BUCKET: 'mltk-predictions',
    },
    's3',
  );
  const record = (k: string) => ({
    eventSource: 'aws:s3',
    eventName: 'ObjectCreated:Put',
    s3: {
      bucket: { name: 'mltk-data' },
      object: { key: encodeURIComponent(k).replace(/%2F/g, '/').replace(/%20/g, '+') },
    },
  });
  const event = {
    Records: [
      record(key),
      record('incoming/2024 q1/more.jsonl'),
      record('elsewhere/ignored.csv'),
      record('incoming/deleted.csv'),
    ],
  };
  const first = await captureStdout(() => handler(event, { awsRequestId: 'batch-1' }));
  const [csvRes, jsonRes, skipped, deleted] = first.result.results;
  assert.equal(deleted.status, 'skipped');
  assert.match(deleted.reason, /no object at "incoming\/deleted.csv"/);
  assert.equal(csvRes.status, 'scored');
  assert.deepEqual(
    { rows: csvRes.rows, scored: csvRes.scored, errors: csvRes.errors },
    { rows: 500, scored: 497, errors: 3 },
  );
  assert.deepEqual(
    { rows: jsonRes.rows, scored: jsonRes.scored, errors: jsonRes.errors },
    { rows: 3, scored: 3, errors: 0 },
  );
  assert.equal(skipped.status, 'skipped');
  assert.ok(first.lines.some((l) => JSON.parse(l).msg === 'batch scored'));

  const out = openStore('s3://mltk-predictions');
  const keys = await out.list('');
  assert.deepEqual(keys, [
    ...['homes.csv', 'more.jsonl'].flatMap((input) =>
      ['errors.csv', 'manifest.json', 'predictions.csv'].map((f) => `predictions/2024 q1/${input}/${f}`),
    ),
  ]);
  const preds = String(await out.get('predictions/2024 q1/homes.csv/predictions.csv'))
    .trimEnd()
    .split('\n');
  assert.equal(preds[0], 'home_id,predicted_sap_change,model_name,model_version');
  assert.equal(preds.length - 1, 497);
  assert.ok(preds.slice(1).every((l) => /^[^,]+,-?\d+(\.\d+)?,sap_change,1$/.test(l)));
  const errors = String(await out.get('predictions/2024 q1/homes.csv/errors.csv'));
  assert.match(errors, /^row,field,reason\n2,glazing,"?value ""quadruple"" is not one of/);
  assert.match(errors, /^9,[a-z_]+,"?expected a number, got ""maybe"""?$/m);
  assert.match(errors, /^14,\(row\),"expected 26 fields as in the header, found 29"$/m);
  const manifest = JSON.parse(String(await out.get('predictions/2024 q1/homes.csv/manifest.json')));
  assert.equal(manifest.model.version, 1);
  assert.match(manifest.input.sha256, /^[0-9a-f]{64}$/);

  // A redelivered notification (S3 delivers at least once) rewrites the same keys with the same bytes.
  const before = await out.get('predictions/2024 q1/homes.csv/predictions.csv');
  await captureStdout(() => handler({ Records: [record(key)] }, { awsRequestId: 'batch-2' }));
  assert.deepEqual(await out.list(''), keys);
  assert.deepEqual(await out.get('predictions/2024 q1/homes.csv/predictions.csv'), before);
});

test('hostile S3 event keys (`..` and `.` segments, raw or URL-encoded, undecodable) are skipped: nothing is written ' +
  'outside predictions/<path>/ (moto_server)', {
  skip: motoUnavailable(),
}, async () => {
  moto ??= await startMoto();
  useMotoEnv(moto);
  const s3 = await makeS3Client();
  for (const Bucket of ['hostile-models', 'hostile-data', 'hostile-predictions'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  const models = openStore('s3://hostile-models');
  const mv = await registerOnnx(models, fx.config, fx.trained.onnx);
  await moveAlias(models, 'sap_change', 'prod', mv.version);
  const csv = fx.csv.toString().split('\n').slice(0, 6).join('\n');
  // The objects exist under their literal keys (written past the store layer, as anyone with access could).
  const literal = [
    'incoming/../../evil.csv',
    'incoming/a/../../../evil2.csv',
    'incoming/./evil3.csv',
    'incoming/ok batch.csv',
  ];
  for (const Key of literal) await s3.send(new PutObjectCommand({ Bucket: 'hostile-data', Key, Body: csv }));
  const handler = await container(
    {
      MLTK_STORE: 's3://hostile-models',
      MLTK_MODEL: 'sap_change',
      MLTK_ALIAS: 'prod',
      MLTK_PREDICTIONS_BUCKET: 'hostile-predictions',
    },
    'hostile',
  );
  // Keys as an S3 notification carries them: URL-encoded, '+' for a space.
  const sent = [
    'incoming/../../evil.csv',
    'incoming/%2E%2E/%2e%2e/evil.csv',
    'incoming/a/..%2F..%2F..%2Fevil2.csv',
    'incoming/./evil3.csv',
    'incoming/%E0%A4%A.csv',
    'incoming/ok+batch.csv',
  ];
  const event = {
    Records: sent.map((key) => ({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'hostile-data' }, object: { key } },
    })),
  };
  const { result } = await captureStdout(() => handler(event, { awsRequestId: 'hostile' }));
  const results = result.results as { status: string; reason?: string }[];
  assert.deepEqual(
    results.map((r) => r.status),
    ['skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'scored'],
  );
  for (const r of results.slice(0, 4))
    assert.match(r.reason!, /^invalid store key "[^"]*": it has a "\." or "\.\." segment$/);
  assert.match(results[4]!.reason!, /^S3 event key "incoming\/%E0%A4%A\.csv": malformed URL encoding/);
  // Every key in the predictions bucket, as S3 lists it (not through the store layer).
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'hostile-predictions' }));
  assert.deepEqual(
    (listed.Contents ?? []).map((o) => o.Key).sort(),
    ['errors.csv', 'manifest.json', 'predictions.csv'].map((f) => `predictions/ok batch.csv/${f}`),
  );
  s3.destroy();
});

test('S3: a gzip .jsonl is refused whole as a gzip CSV is; a line over 1 MiB is one errors row (moto)', {
  skip: motoUnavailable(),
}, async () => {
  moto ??= await startMoto();
  useMotoEnv(moto);
  const s3 = await makeS3Client();
  for (const Bucket of ['jsonl-models', 'jsonl-data', 'jsonl-predictions'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  const models = openStore('s3://jsonl-models');
  const mv = await registerOnnx(models, fx.config, fx.trained.onnx);
  await moveAlias(models, 'sap_change', 'prod', mv.version);
  const records = [0, 1, 2]
    .map((i) => `${JSON.stringify({ home_id: `J${i}`, ...instanceOf(fx.config, fx.table, i) })}\n`)
    .join('');
  const data = openStore('s3://jsonl-data');
  await data.put('incoming/packed.jsonl', gzipSync(records));
  await data.put('incoming/long.jsonl', `${records}{"home_id":"${'x'.repeat(5 << 20)}"}\n${records}`);
  const handler = await container(
    {
      MLTK_STORE: 's3://jsonl-models',
      MLTK_MODEL: 'sap_change',
      MLTK_ALIAS: 'prod',
      MLTK_PREDICTIONS_BUCKET: 'jsonl-predictions',
    },
    'jsonl',
  );
  const event = {
    Records: ['incoming/packed.jsonl', 'incoming/long.jsonl'].map((key) => ({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'jsonl-data' }, object: { key } },
    })),
  };
  const { result } = await captureStdout(() => handler(event, { awsRequestId: 'jsonl' }));
  const [packed, long] = result.results;
  const gzipReason =
    's3://jsonl-data/incoming/packed.jsonl: not a UTF-8 text file (it starts with the gzip signature 1f 8b: ' +
    'decompress it first)';
  assert.deepEqual([packed.status, packed.reason], ['rejected', gzipReason]);
  const out = openStore('s3://jsonl-predictions');
  assert.equal(
    String(await out.get('predictions/packed.jsonl/errors.csv')),
    'row,field,reason\n0,(file),it starts with the gzip signature 1f 8b: decompress it first\n',
  );
  assert.equal(JSON.parse(String(await out.get('predictions/packed.jsonl/manifest.json'))).reason, gzipReason);
  assert.deepEqual([long.status, long.rows, long.scored, long.errors], ['scored', 7, 6, 1]);
  assert.equal(
    String(await out.get('predictions/long.jsonl/errors.csv')),
    'row,field,reason\n4,(record),line longer than 1048576 bytes: not read as a record\n',
  );
  s3.destroy();
});

test(
  'the online limits agree as deployed: serving.max_instances instances (pretty-printed) fit ' +
    'serving.max_body_bytes; one more is a 400, a bigger body a 413',
  async () => {
    const target = allTargets().find((t) => t.branch === 'sap_change-prod')!;
    const example = { ...exampleEnv(target), IMAGE_TAG: EXAMPLE_IMAGE_TAG, MLTK_STATE_BUCKET: EXAMPLE_STATE_BUCKET };
    const { inputs } = parseDeployInputs(target, example);
    const deployed = lambdaEnvironment(target, inputs, fx.config);
    const { max_body_bytes: maxBody, max_instances: maxInstances } = fx.config.serving;
    assert.deepEqual(
      [deployed.MLTK_MAX_BODY_BYTES, deployed.MLTK_MAX_INSTANCES],
      [String(maxBody), String(maxInstances)],
    );
    const handler = await container({ ...deployed, MLTK_STORE: local.dir }, 'limits');
    const post = async (body: string) => {
      const { result } = await captureStdout(() => handler(httpEvent('POST', '/sap_change/predict', body)));
      return { status: result.statusCode as number, body: JSON.parse(result.body) };
    };
    const instances = Array.from({ length: maxInstances }, (_, i) =>
      instanceOf(fx.config, fx.table, i % fx.table.rows),
    );
    const full = JSON.stringify({ instances }, null, 2);
    assert.ok(full.length <= maxBody, `${maxInstances} instances take ${full.length} bytes`);
    const ok = await post(full);
    assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
    assert.equal(ok.body.predictions.length, maxInstances);
    const oneMore = await post(JSON.stringify({ instances: [...instances, instances[0]] }));
    assert.equal(oneMore.status, 400);
    assert.match(
      oneMore.body.error.message,
      new RegExp(`too many instances \\(the limit is ${maxInstances} per request\\)`),
    );
    const tooBig = await post(JSON.stringify({ instances: instances.slice(0, 1), pad: 'x'.repeat(maxBody) }));
    assert.equal(tooBig.status, 413);
  },
);
