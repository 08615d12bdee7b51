// What ships is what is tested: the real handlers, bundled as the image holds them, run with plain
// `node` (no tsx) on API Gateway, S3 and schedule events, against a registry in a local store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseModelConfig } from '../pipeline/config/index.ts';
import { writeSynthCsv } from '../pipeline/data/index.ts';
import { runTrainJob } from '../pipeline/jobs/index.ts';
import { moveAlias } from '../pipeline/registry/index.ts';
import { makeS3Client, openStore } from '../pipeline/store/index.ts';
import { startMoto, motoUnavailable, type MotoServer } from '../pipeline/testing/moto.ts';
import { bundle } from './bundle.ts';

const run = promisify(execFile);
let dir: string;
let dist: string;
let registry: string;
let input: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-shipped-'));
  dist = join(dir, 'dist');
  registry = join(dir, 'registry');
  input = join(dir, 'input.csv');
  const out = createWriteStream(input);
  await writeSynthCsv({ rows: 400, seed: 11 }, out);
  await new Promise<void>((r) => out.end(() => r()));
  const raw = JSON.parse(await readFile('configs/heat_change.json', 'utf8'));
  raw.trainer.params.trees = 10;
  const config = parseModelConfig(raw, 'heat_change (test)');
  const store = openStore(registry);
  const trained = await runTrainJob({
    store,
    config,
    configSource: 'test',
    data: { kind: 'file', path: input },
    say: () => {},
    progress: () => {},
  });
  await moveAlias(store, 'heat_change', 'prod', trained.version);
  await bundle(dist);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Invokes `dist/<name>.mjs`'s handler in a fresh plain-node process, as the Lambda runtime would. */
async function invoke(name: string, event: unknown, env: Record<string, string>): Promise<unknown> {
  const script =
    `import('./${name}.mjs').then(async (m) => process.stdout.write('\\n@@' + JSON.stringify(await ` +
    `m.handler(JSON.parse(process.env.EVENT), { awsRequestId: 'r-1' }))))`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dist,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: '',
      MLTK_STORE: registry,
      MLTK_MODEL: 'heat_change',
      MLTK_ALIAS: 'prod',
      EVENT: JSON.stringify(event),
      ...env,
    },
  });
  return JSON.parse(stdout.slice(stdout.lastIndexOf('\n@@') + 3));
}

function httpEvent(method: string, path: string, body?: unknown) {
  return {
    version: '2.0',
    routeKey: `${method} /${path.split('/').pop()}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method, path }, requestId: 'r-1' },
    isBase64Encoded: false,
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

test('bundled predict handler answers GET /health and POST /predict with plain node', async () => {
  const health = (await invoke('predict', httpEvent('GET', '/heat_change/health'), {
    MLTK_PREDICTIONS_BUCKET: join(dir, 'out'),
  })) as { statusCode: number; body: string };
  assert.equal(health.statusCode, 200);
  assert.equal(JSON.parse(health.body).model.name, 'heat_change');
  const instance = {
    property_type: 'House',
    built_form: 'Semi-Detached',
    construction_age_band: '1945-1964',
    total_floor_area: 85,
    number_habitable_rooms: 5,
    wall_type: 'cavity',
    walls_insulated: 0,
    roof_insulation_mm: 100,
    glazing: 'double',
    main_fuel: 'mains_gas',
    heating_system: 'boiler',
    boiler_efficiency: 80,
    current_sap: 60,
    current_heat_demand: 150,
    current_co2: 3.5,
    loft_insulation: 1,
    cavity_wall_insulation: 1,
    solid_wall_insulation: 0,
    double_glazing: 0,
    boiler_upgrade: 0,
    heat_pump: 0,
    solar_pv: 0,
  };
  const res = (await invoke(
    'predict',
    httpEvent('POST', '/heat_change/predict', { instances: [instance, { ...instance, loft_insulation: 0 }] }),
    { MLTK_PREDICTIONS_BUCKET: join(dir, 'out') },
  )) as { statusCode: number; body: string };
  assert.equal(res.statusCode, 200, res.body);
  const body = JSON.parse(res.body);
  assert.equal(body.predictions.length, 2);
  assert.ok(body.predictions.every((p: number) => Number.isFinite(p)));
  assert.deepEqual(body.model, { name: 'heat_change', version: 1 });
  const bad = (await invoke(
    'predict',
    httpEvent('POST', '/predict', { instances: [{ ...instance, glazing: 'quad' }] }),
    { MLTK_PREDICTIONS_BUCKET: join(dir, 'out') },
  )) as { statusCode: number; body: string };
  assert.equal(bad.statusCode, 400);
  assert.equal(JSON.parse(bad.body).error.details[0].field, 'glazing');
});

let moto: MotoServer | undefined;
test('bundled predict handler scores an S3 ObjectCreated event, then the bundled monitor reports its drift', {
  skip: motoUnavailable(),
}, async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  const s3 = await makeS3Client();
  for (const Bucket of ['data', 'preds'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  const text = await readFile(input, 'utf8');
  const lines = text.trimEnd().split('\n');
  const withBad = `${[
    ...lines.slice(0, 6),
    lines[6]!.replace(/,(House|Flat|Bungalow|Maisonette),/, ',Castle,'),
    ...lines.slice(7),
  ].join('\n')}\n`;
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'incoming/2026/batch.csv', Body: withBad }));
  const event = {
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'data' }, object: { key: 'incoming/2026/batch.csv', size: withBad.length } },
      },
    ],
  };
  await invoke('predict', event, { ...moto.env, MLTK_PREDICTIONS_BUCKET: 'preds' });
  const get = async (Key: string) =>
    String(await (await s3.send(new GetObjectCommand({ Bucket: 'preds', Key }))).Body!.transformToString());
  const preds = (await get('predictions/2026/batch.csv/predictions.csv')).trimEnd().split('\n');
  const errors = (await get('predictions/2026/batch.csv/errors.csv')).trimEnd().split('\n');
  assert.equal(preds[0], 'home_id,predicted_heat_change,model_name,model_version');
  assert.equal(preds.length - 1, lines.length - 2, 'every good row scored');
  assert.match(errors[1]!, /^6,property_type,/);
  assert.equal(preds.length - 1 + errors.length - 1, lines.length - 1, 'every input row in exactly one output');

  // The bundled monitor, on its hourly schedule, follows the lineage manifest back to the input.
  const monitorEnv = {
    ...moto.env,
    MLTK_DATA_BUCKET: 'data',
    MLTK_PREDICTIONS_BUCKET: 'preds',
    MLTK_METRIC_NAMESPACE: 'mltk/heat_change',
  };
  const result = (await invoke(
    'monitor',
    { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
    monitorEnv,
  )) as { monitored: { status: string }[] };
  assert.deepEqual(
    result.monitored.map((m) => m.status),
    ['monitored'],
  );
  const report = JSON.parse(await get('monitoring/2026/batch.csv/drift.json'));
  assert.equal(report.model.name, 'heat_change');
  assert.equal(report.rows, lines.length - 1);
  const metrics = await new CloudWatchClient({}).send(
    new ListMetricsCommand({ Namespace: 'mltk/heat_change', MetricName: 'DriftShare' }),
  );
  assert.ok((metrics.Metrics ?? []).length > 0, 'DriftShare published');
});
after(async () => {
  await moto?.stop();
});
