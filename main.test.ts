import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testing, type TerraformStack } from 'cdktf';
import { ConfigError } from './pipeline/errors/index.ts';
import { loadModelConfig, type ModelConfig } from './pipeline/config/index.ts';
import { allTargets } from './deployment/targets.ts';
import { checkStack, formatFindings } from './deployment/infra/policy.ts';
import { alarmNames } from './deployment/infra/alarms.ts';
import { SCALE_METRICS } from './pipeline/scale/index.ts';
import { buildApp, stackNames, type TargetStacks } from './main.ts';

const repoRoot = dirname(fileURLToPath(import.meta.url));
const has = (json: string, type: string, props: Record<string, unknown>) =>
  Testing.toHaveResourceWithProperties(json, type, props);

// The example app (no DEPLOY_TARGET) is built once; each stack is synthesized once and shared.
let example: TargetStacks[];
const synthesized = new Map<TerraformStack, string>();
const synth = (stack: TerraformStack): string => {
  let json = synthesized.get(stack);
  if (!json) {
    json = Testing.synth(stack);
    synthesized.set(stack, json);
  }
  return json;
};
const configs = new Map<string, ModelConfig>();

before(async () => {
  ({ targets: example } = await buildApp({}, { app: Testing.app() }));
  for (const model of ['sap_change', 'heat_change', 'carbon_change'])
    configs.set(model, await loadModelConfig(join(repoRoot, 'configs', `${model}.json`)));
});

test(
  'without DEPLOY_TARGET every protected branch gets base and service stacks, and each environment one domain ' +
    'stack',
  () => {
    assert.deepEqual(
      example.map((t) => t.target.branch).sort(),
      allTargets()
        .map((t) => t.branch)
        .sort(),
    );
    const names = new Set(example.flatMap((t) => [t.domain, t.base, t.service]).map((s) => s.node.id));
    assert.deepEqual([...names].sort(), [
      'carbon_change-dev-base',
      'carbon_change-dev-service',
      'carbon_change-prod-base',
      'carbon_change-prod-service',
      'heat_change-dev-base',
      'heat_change-dev-service',
      'heat_change-prod-base',
      'heat_change-prod-service',
      'mltk-domain-dev',
      'mltk-domain-prod',
      'sap_change-dev-base',
      'sap_change-dev-service',
      'sap_change-prod-base',
      'sap_change-prod-service',
    ]);
    assert.deepEqual(stackNames({ branch: 'heat_change-prod', env: 'prod' }), {
      domain: 'mltk-domain-prod',
      base: 'heat_change-prod-base',
      service: 'heat_change-prod-service',
    });
  },
);

for (const branch of allTargets().map((t) => t.branch)) {
  test(`${branch}: base stack declares its ECR repository and three hardened buckets, state under mltk/${
    branch
  }/`, () => {
    const t = example.find((e) => e.target.branch === branch)!;
    const json = synth(t.base);
    assert.ok(
      has(json, 'aws_ecr_repository', {
        name: `mltk/${branch}`,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    for (const bucket of Object.values(t.inputs.buckets)) assert.ok(has(json, 'aws_s3_bucket', { bucket }), bucket);
    assert.ok(
      has(json, 'aws_s3_bucket_lifecycle_configuration', {
        rule: [
          {
            id: 'housekeeping',
            status: 'Enabled',
            filter: [{ prefix: '' }],
            abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
            noncurrent_version_expiration: [{ noncurrent_days: 30 }],
          },
          {
            id: 'old-predictions',
            status: 'Enabled',
            filter: [{ prefix: 'predictions/' }],
            transition: [{ days: 30, storage_class: 'STANDARD_IA' }],
            expiration: [{ days: 365 }],
          },
          { id: 'scale-temporary', status: 'Enabled', filter: [{ prefix: 'tmp/scale/' }], expiration: [{ days: 14 }] },
        ],
      }),
    );
    const backend = JSON.parse(json).terraform.backend.s3;
    assert.deepEqual(backend, {
      bucket: 'mltk-terraform-state-example',
      key: `mltk/${branch}/base.tfstate`,
      region: 'eu-west-2',
      encrypt: true,
      use_lockfile: true,
    });
  });

  test(`${branch}: service stack wires the image, model config, API mapping, monitor and alarms`, () => {
    const t = example.find((e) => e.target.branch === branch)!;
    const { model, env } = t.target;
    const config = configs.get(model)!;
    const json = synth(t.service);
    const environment = {
      MLTK_STORE: `s3://${t.inputs.buckets.model}`,
      MLTK_MODEL: model,
      MLTK_ALIAS: env === 'prod' ? config.serving.alias : 'dev',
      MLTK_ALIAS_TTL_S: String(config.serving.alias_ttl_s),
      MLTK_MAX_BODY_BYTES: String(config.serving.max_body_bytes),
      MLTK_MAX_INSTANCES: String(config.serving.max_instances),
      MLTK_DATA_BUCKET: t.inputs.buckets.data,
      MLTK_PREDICTIONS_BUCKET: t.inputs.buckets.predictions,
      MLTK_METRIC_NAMESPACE: `mltk/${model}`,
    };
    const image = `${t.inputs.ecr.uri}:example`;
    assert.ok(
      has(json, 'aws_lambda_function', {
        functionName: `mltk-${branch}-predict`,
        packageType: 'Image',
        imageUri: image,
        architectures: ['x86_64'],
        imageConfig: { command: ['predict.handler'] },
        memorySize: config.serving.memory_mb,
        timeout: config.serving.timeout_s,
        environment: { variables: environment },
      }),
    );
    assert.ok(
      has(json, 'aws_lambda_function', {
        functionName: `mltk-${branch}-monitor`,
        packageType: 'Image',
        imageUri: image,
        imageConfig: { command: ['monitor.handler'] },
        environment: { variables: environment },
      }),
    );
    assert.ok(
      has(json, 'aws_s3_bucket_notification', {
        bucket: t.inputs.buckets.data,
        lambdaFunction: [
          { events: ['s3:ObjectCreated:*'], filterPrefix: 'incoming/' },
          { events: ['s3:ObjectCreated:*'], filterPrefix: 'labels/' },
        ],
      }),
    );
    assert.ok(
      has(json, 'aws_lambda_permission', {
        principal: 's3.amazonaws.com',
        sourceArn: `arn:aws:s3:::${t.inputs.buckets.data}`,
      }),
    );
    assert.ok(
      has(json, 'aws_s3_bucket_notification', {
        bucket: t.inputs.buckets.predictions,
        lambdaFunction: [
          { events: ['s3:ObjectCreated:*'], filterPrefix: 'predictions/', filterSuffix: '/manifest.json' },
        ],
      }),
    );
    assert.ok(
      has(json, 'aws_lambda_permission', {
        statementId: 'AllowS3PredictionsBucket',
        principal: 's3.amazonaws.com',
        sourceArn: `arn:aws:s3:::${t.inputs.buckets.predictions}`,
      }),
    );
    assert.ok(has(json, 'aws_apigatewayv2_integration', { integrationType: 'AWS_PROXY', payloadFormatVersion: '2.0' }));
    assert.ok(has(json, 'aws_apigatewayv2_route', { routeKey: 'POST /predict' }));
    assert.ok(has(json, 'aws_apigatewayv2_route', { routeKey: 'GET /health' }));
    assert.ok(has(json, 'aws_apigatewayv2_api_mapping', { domainName: t.inputs.domainName, apiMappingKey: model }));
    assert.ok(has(json, 'aws_cloudwatch_event_rule', { scheduleExpression: 'rate(1 hour)' }));
    assert.ok(has(json, 'aws_lambda_permission', { principal: 'events.amazonaws.com' }));
    const names = alarmNames(`mltk-${branch}`);
    assert.ok(
      has(json, 'aws_cloudwatch_metric_alarm', {
        alarmName: names.predictionPsi,
        namespace: `mltk/${model}`,
        metricName: 'PredictionPSI',
        dimensions: { Model: model },
        threshold: config.monitoring.psi_alert,
      }),
    );
    assert.ok(
      has(json, 'aws_cloudwatch_metric_alarm', {
        alarmName: names.driftShare,
        metricName: 'DriftShare',
        threshold: config.monitoring.drift_share,
      }),
    );
    assert.ok(
      has(json, 'aws_cloudwatch_metric_alarm', {
        alarmName: names.featurePsi,
        metricQuery: [
          {
            id: 'maxFeaturePsi',
            expression: `SELECT MAX(FeaturePSI) FROM SCHEMA("mltk/${model}", Feature, Model) WHERE Model = '${model}'`,
            period: 3600,
            returnData: true,
          },
        ],
      }),
    );
    assert.ok(
      has(json, 'aws_cloudwatch_metric_alarm', {
        alarmName: names.monitorFailures,
        metricName: 'MonitorFailures',
        threshold: 1,
      }),
    );
    assert.ok(
      has(json, 'aws_cloudwatch_metric_alarm', {
        alarmName: names.predictP99Duration,
        extendedStatistic: 'p99',
        threshold: config.serving.timeout_s * 800,
      }),
    );
    assert.ok(has(json, 'aws_cloudwatch_dashboard', { dashboardName: `mltk-${branch}` }));
    assert.ok(has(json, 'aws_sfn_state_machine', { name: `mltk-${branch}-batch`, type: 'STANDARD' }));
    // The size above which an object is handed to the state machine comes from the config.
    const fns = Object.values(JSON.parse(json).resource.aws_lambda_function as Record<string, any>);
    const variables = (name: string) => fns.find((f) => f.function_name === name).environment.variables;
    assert.deepEqual(
      [
        variables(`mltk-${branch}-predict`).MLTK_SHARD_BYTES,
        variables(`mltk-${branch}-predict`).MLTK_BATCH_STATE_MACHINE_ARN,
      ],
      [
        String(config.serving.batch.shard_bytes),
        `arn:aws:states:eu-west-2:\${data.aws_caller_identity.account.account_id}:stateMachine:mltk-${branch}-batch`,
      ],
    );
    assert.equal(variables(`mltk-${branch}-monitor`).MLTK_BATCH_STATE_MACHINE_ARN, undefined);
    // The dashboard reads the batch machine's executions and the metrics every shard publishes.
    const dashboard = Object.values(JSON.parse(json).resource.aws_cloudwatch_dashboard as Record<string, any>)[0];
    const series = JSON.parse(dashboard.dashboard_body).widgets.flatMap((w: any) =>
      w.properties.metrics.map((m: unknown[]) => m.slice(0, 2).join(' ')),
    );
    for (const metric of [
      'AWS/States ExecutionsFailed',
      `mltk/${model} ${SCALE_METRICS.shardDurationMs}`,
      `mltk/${model} ${SCALE_METRICS.shardRowsPerSecond}`,
    ])
      assert.ok(series.includes(metric), metric);
    assert.ok(
      has(json, 'aws_cloudwatch_metric_alarm', {
        alarmName: names.batchExecutionsFailed,
        namespace: 'AWS/States',
        metricName: 'ExecutionsFailed',
        threshold: 1,
      }),
    );
    assert.equal(Object.keys(JSON.parse(json).resource.aws_cloudwatch_metric_alarm).length, Object.keys(names).length);
    const outputs = JSON.parse(json).output;
    assert.equal(outputs.predict_url.value, `https://${t.inputs.domainName}/${model}/predict`);
    assert.equal(JSON.parse(json).terraform.backend.s3.key, `mltk/${branch}/service.tfstate`);
  });
}

test('the monitor may publish metrics to its own namespace only and write reports under monitoring/ only', () => {
  const t = example.find((e) => e.target.branch === 'heat_change-prod')!;
  const policies = Object.values(
    JSON.parse(synth(t.service)).resource.aws_iam_role_policy as Record<string, { policy: string }>,
  ).map(
    (p) =>
      JSON.parse(p.policy).Statement as Array<{
        Sid: string;
        Action: string[];
        Resource: string[];
        Condition?: unknown;
      }>,
  );
  const monitor = policies.find((s) => s.some((x) => x.Sid === 'PublishOwnMetrics'))!;
  assert.deepEqual(monitor.find((x) => x.Sid === 'PublishOwnMetrics')!.Condition, {
    StringEquals: { 'cloudwatch:namespace': 'mltk/heat_change' },
  });
  assert.deepEqual(monitor.find((x) => x.Sid === 'WriteReports')!.Resource, [
    `arn:aws:s3:::${t.inputs.buckets.predictions}/monitoring/*`,
  ]);
  const predict = policies.find((s) => s.some((x) => x.Sid === 'WritePredictions'))!;
  assert.deepEqual(predict.find((x) => x.Sid === 'WritePredictions')!.Resource, [
    `arn:aws:s3:::${t.inputs.buckets.predictions}/predictions/*`,
  ]);
  assert.ok(
    !predict.some((x) => x.Action.includes('cloudwatch:PutMetricData')),
    'the prediction Lambda publishes no custom metrics',
  );
});

test(
  'each environment owns its domain once: certificate, TLS 1.2 domain name and alias record, state keyed by ' +
    'domain',
  () => {
    const dev = example.find((e) => e.target.env === 'dev')!;
    const json = synth(dev.domain);
    assert.ok(has(json, 'aws_acm_certificate', { domainName: 'api.dev.mltk.example.com', validationMethod: 'DNS' }));
    assert.ok(
      has(json, 'aws_apigatewayv2_domain_name', {
        domainName: 'api.dev.mltk.example.com',
        domainNameConfiguration: { endpointType: 'REGIONAL', securityPolicy: 'TLS_1_2' },
      }),
    );
    assert.ok(has(json, 'aws_route53_record', { name: 'api.dev.mltk.example.com', type: 'A' }));
    assert.equal(
      JSON.parse(json).data.aws_route53_zone
        ? Object.values(JSON.parse(json).data.aws_route53_zone as Record<string, { name: string }>)[0]!.name
        : '',
      'dev.mltk.example.com',
    );
    assert.equal(JSON.parse(json).terraform.backend.s3.key, 'mltk/domain-dev/api.dev.mltk.example.com.tfstate');
    assert.ok(example.filter((e) => e.target.env === 'dev').every((e) => e.domain === dev.domain));
  },
);

test('every synthesized stack passes the security rules', () => {
  const stacks = new Set(example.flatMap((t) => [t.domain, t.base, t.service]));
  for (const stack of stacks) {
    const findings = checkStack(synth(stack));
    assert.equal(findings.length, 0, `${stack.node.id}:\n${formatFindings(findings)}`);
  }
});

/** The statements of the bucket policy attached to `bucket` in a synthesized stack. */
function bucketPolicy(
  json: string,
  bucket: string,
): { Sid?: string; Effect: string; Principal?: unknown; Action: string[]; Resource: string[] }[] {
  const parsed = JSON.parse(json);
  const bucketId = Object.entries(parsed.resource.aws_s3_bucket as Record<string, { bucket: string }>).find(
    ([, b]) => b.bucket === bucket,
  )![0];
  const policy = Object.values(
    parsed.resource.aws_s3_bucket_policy as Record<string, { bucket: string; policy: string }>,
  ).find((p) => p.bucket.includes(`aws_s3_bucket.${bucketId}.`))!;
  return JSON.parse(policy.policy).Statement;
}

test(
  "a dev target with the prod deploy role's ARN grants it read-only access to the model registry, and nothing " +
    'else',
  async () => {
    const dev = example.find((e) => e.target.branch === 'sap_change-dev')!;
    assert.equal(dev.inputs.modelReaderRoleArn, 'arn:aws:iam::222222222222:role/mltk-deploy-prod');
    const json = synth(dev.base);
    const role = { AWS: ['arn:aws:iam::222222222222:role/mltk-deploy-prod'] };
    const models = 'arn:aws:s3:::mltk-sap-change-dev-models';
    const granted = bucketPolicy(json, 'mltk-sap-change-dev-models').filter((s) => s.Effect === 'Allow');
    assert.deepEqual(granted, [
      { Sid: 'ReleaseCopyReadList', Effect: 'Allow', Principal: role, Action: ['s3:ListBucket'], Resource: [models] },
      {
        Sid: 'ReleaseCopyReadGet',
        Effect: 'Allow',
        Principal: role,
        Action: ['s3:GetObject'],
        Resource: ['models/', 'runs/', 'datasets/', 'blobs/'].map((p) => `${models}/${p}*`),
      },
    ]);
    for (const other of ['mltk-sap-change-dev-data', 'mltk-sap-change-dev-predictions']) {
      assert.deepEqual(
        bucketPolicy(json, other).filter((s) => s.Effect === 'Allow'),
        [],
        other,
      );
    }
    const prod = example.find((e) => e.target.branch === 'sap_change-prod')!;
    assert.deepEqual(
      bucketPolicy(synth(prod.base), 'mltk-sap-change-prod-models').filter((s) => s.Effect === 'Allow'),
      [],
    );
    assert.deepEqual(checkStack(json), []);

    const { targets } = await buildApp({ ...devEnv, SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN: '' }, { app: Testing.app() });
    assert.deepEqual(
      bucketPolicy(Testing.synth(targets[0]!.base), 'acme-sap-models').filter((s) => s.Effect === 'Allow'),
      [],
      'the input is optional',
    );
    await assert.rejects(
      buildApp({ ...devEnv, SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN: 'arn:aws:iam::1:user/me' }, { app: Testing.app() }),
      /SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN: expected an IAM role ARN/,
    );
  },
);

const devEnv = {
  DEPLOY_TARGET: 'sap_change-dev',
  SAP_CHANGE_DEV_ECR_URI: '123456789012.dkr.ecr.eu-west-2.amazonaws.com/sap',
  SAP_CHANGE_DEV_DOMAIN_NAME: 'models.dev.acme.io',
  SAP_CHANGE_DEV_DATA_BUCKET: 'acme-sap-data',
  SAP_CHANGE_DEV_MODEL_BUCKET: 'acme-sap-models',
  SAP_CHANGE_DEV_PREDICTIONS_BUCKET: 'acme-sap-predictions',
  IMAGE_TAG: 'a1b2c3d',
  MLTK_STATE_BUCKET: 'acme-tf-state',
};

const deployEnv = {
  DEPLOY_TARGET: 'carbon_change-prod',
  CARBON_CHANGE_PROD_ECR_URI: '210987654321.dkr.ecr.eu-west-2.amazonaws.com/carbon',
  CARBON_CHANGE_PROD_DOMAIN_NAME: 'models.acme.io',
  CARBON_CHANGE_PROD_DATA_BUCKET: 'acme-carbon-data',
  CARBON_CHANGE_PROD_MODEL_BUCKET: 'acme-carbon-models',
  CARBON_CHANGE_PROD_PREDICTIONS_BUCKET: 'acme-carbon-predictions',
  IMAGE_TAG: 'a1b2c3d',
  MLTK_STATE_BUCKET: 'acme-tf-state',
};

test('DEPLOY_TARGET with valid inputs synthesizes that target only, from its secrets', async () => {
  const { targets } = await buildApp(deployEnv, { app: Testing.app() });
  assert.equal(targets.length, 1);
  const [t] = targets;
  assert.deepEqual(
    [t!.domain, t!.base, t!.service].map((s) => s.node.id),
    ['mltk-domain-prod', 'carbon_change-prod-base', 'carbon_change-prod-service'],
  );
  const service = Testing.synth(t!.service);
  assert.ok(
    has(service, 'aws_lambda_function', {
      functionName: 'mltk-carbon_change-prod-predict',
      imageUri: '210987654321.dkr.ecr.eu-west-2.amazonaws.com/carbon:a1b2c3d',
      environment: {
        variables: { MLTK_STORE: 's3://acme-carbon-models', MLTK_ALIAS: 'prod', MLTK_DATA_BUCKET: 'acme-carbon-data' },
      },
    }),
  );
  assert.ok(
    has(service, 'aws_apigatewayv2_api_mapping', { domainName: 'models.acme.io', apiMappingKey: 'carbon_change' }),
  );
  assert.equal(JSON.parse(service).terraform.backend.s3.bucket, 'acme-tf-state');
  assert.ok(has(Testing.synth(t!.base), 'aws_ecr_repository', { name: 'carbon' }));
  const domain = JSON.parse(Testing.synth(t!.domain));
  assert.equal(Object.values(domain.data.aws_route53_zone as Record<string, { name: string }>)[0]!.name, 'acme.io');
});

test('DEPLOY_TARGET with missing and malformed inputs stops with ONE error listing every variable', async () => {
  const env: Record<string, string> = {
    ...deployEnv,
    CARBON_CHANGE_PROD_DATA_BUCKET: 'Bad_Bucket',
    CARBON_CHANGE_PROD_ECR_URI: 'docker.io/carbon',
  };
  delete env.IMAGE_TAG;
  delete env.CARBON_CHANGE_PROD_DOMAIN_NAME;
  await assert.rejects(buildApp(env, { app: Testing.app() }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(
      err.message,
      [
        'DEPLOY_TARGET=carbon_change-prod: 4 deploy input(s) missing or malformed:',
        '  - CARBON_CHANGE_PROD_ECR_URI: expected <12-digit account>.dkr.ecr.<region>.amazonaws.com/<repository> ' +
          '(lower-case repository, no :tag)',
        '  - CARBON_CHANGE_PROD_DOMAIN_NAME: missing',
        '  - CARBON_CHANGE_PROD_DATA_BUCKET: not a valid S3 bucket name: only lower-case letters, digits, dots and ' +
          'hyphens, starting and ending with a letter or digit',
        '  - IMAGE_TAG: missing',
        'Set them as repository secrets named CARBON_CHANGE_PROD_* (see README, "Deployment").',
      ].join('\n'),
    );
    return true;
  });
});

test('an unknown DEPLOY_TARGET branch is rejected, naming the valid ones', async () => {
  await assert.rejects(
    buildApp({ ...deployEnv, DEPLOY_TARGET: 'sap_change-staging' }, { app: Testing.app() }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /Branch "sap_change-staging" is not a protected deploy branch/);
      assert.match(err.message, /sap_change-dev, sap_change-prod/);
      return true;
    },
  );
});

test('a fourth model needs a config file, not code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-configs-'));
  for (const m of ['sap_change', 'heat_change', 'carbon_change'])
    copyFileSync(join(repoRoot, 'configs', `${m}.json`), join(dir, `${m}.json`));
  const gas = {
    ...JSON.parse(readFileSync(join(repoRoot, 'configs', 'heat_change.json'), 'utf8')),
    name: 'gas_change',
  };
  writeFileSync(join(dir, 'gas_change.json'), JSON.stringify(gas));
  const { targets } = await buildApp({}, { app: Testing.app(), configsDir: dir });
  assert.equal(targets.length, 8);
  const gasProd = targets.find((t) => t.target.branch === 'gas_change-prod')!;
  assert.ok(
    has(Testing.synth(gasProd.service), 'aws_apigatewayv2_api_mapping', {
      apiMappingKey: 'gas_change',
      domainName: 'api.mltk.example.com',
    }),
  );
});

test('main.ts run as the CDKTF app prints the input error alone and exits with the config exit code', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'main.ts')], {
    env: {
      PATH: process.env.PATH,
      CHECKPOINT_DISABLE: '1',
      DEPLOY_TARGET: 'sap_change-dev',
      CDKTF_OUTDIR: mkdtempSync(join(tmpdir(), 'mltk-synth-')),
    },
    encoding: 'utf8',
  });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stderr, /^DEPLOY_TARGET=sap_change-dev: 7 deploy input\(s\) missing or malformed:/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});
