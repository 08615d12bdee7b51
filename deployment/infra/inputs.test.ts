import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../pipeline/errors/index.ts';
import { allTargets, resolveTarget } from '../targets.ts';
import { bucketNameProblem, DEFAULT_REGION, exampleEnv, parseDeployInputs } from './inputs.ts';

const target = resolveTarget('sap_change-dev');
const valid = {
  SAP_CHANGE_DEV_ECR_URI: '123456789012.dkr.ecr.eu-west-2.amazonaws.com/team/sap_change-dev',
  SAP_CHANGE_DEV_DOMAIN_NAME: 'API.Dev.Example.com',
  SAP_CHANGE_DEV_DATA_BUCKET: 'acme-sap-dev-data',
  SAP_CHANGE_DEV_MODEL_BUCKET: 'acme-sap-dev-models',
  SAP_CHANGE_DEV_PREDICTIONS_BUCKET: 'acme-sap-dev-predictions',
  IMAGE_TAG: '3f2c1ab',
  MLTK_STATE_BUCKET: 'acme-terraform-state',
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('valid deploy inputs parse into the ECR parts, the hosted zone, the buckets and the state settings', () => {
  const { inputs, state } = parseDeployInputs(target, valid);
  assert.deepEqual(inputs.ecr, {
    uri: valid.SAP_CHANGE_DEV_ECR_URI,
    account: '123456789012',
    region: 'eu-west-2',
    repository: 'team/sap_change-dev',
  });
  assert.equal(inputs.domainName, 'api.dev.example.com');
  assert.equal(inputs.hostedZone, 'dev.example.com');
  assert.deepEqual(inputs.buckets, {
    data: 'acme-sap-dev-data',
    model: 'acme-sap-dev-models',
    predictions: 'acme-sap-dev-predictions',
  });
  assert.equal(inputs.imageTag, '3f2c1ab');
  assert.deepEqual(state, { bucket: 'acme-terraform-state', region: DEFAULT_REGION });
});

test('every missing input is named in one error', () => {
  const err = configError(() => parseDeployInputs(target, {}));
  assert.deepEqual(
    err.details.map((d) => d.field),
    [
      'SAP_CHANGE_DEV_ECR_URI',
      'SAP_CHANGE_DEV_DOMAIN_NAME',
      'SAP_CHANGE_DEV_DATA_BUCKET',
      'SAP_CHANGE_DEV_MODEL_BUCKET',
      'SAP_CHANGE_DEV_PREDICTIONS_BUCKET',
      'IMAGE_TAG',
      'MLTK_STATE_BUCKET',
    ],
  );
  assert.ok(err.details.every((d) => d.issue === 'missing'));
  assert.match(
    err.message,
    /^DEPLOY_TARGET=sap_change-dev: 7 deploy input\(s\) missing or malformed:\n {2}- SAP_CHANGE_DEV_ECR_URI: missing\n/,
  );
});

test('malformed inputs are each explained, without echoing the secret values', () => {
  const err = configError(() =>
    parseDeployInputs(target, {
      ...valid,
      SAP_CHANGE_DEV_ECR_URI: '123456789012.dkr.ecr.eu-west-2.amazonaws.com/repo:latest',
      SAP_CHANGE_DEV_DOMAIN_NAME: 'localhost',
      SAP_CHANGE_DEV_DATA_BUCKET: 'Secret_Data_Bucket',
      SAP_CHANGE_DEV_PREDICTIONS_BUCKET: '',
      IMAGE_TAG: 'has space',
      AWS_REGION: 'europe',
    }),
  );
  assert.deepEqual(
    err.details.map((d) => d.field),
    [
      'SAP_CHANGE_DEV_ECR_URI',
      'SAP_CHANGE_DEV_DOMAIN_NAME',
      'SAP_CHANGE_DEV_DATA_BUCKET',
      'SAP_CHANGE_DEV_PREDICTIONS_BUCKET',
      'IMAGE_TAG',
      'AWS_REGION',
    ],
  );
  assert.match(
    err.message,
    /SAP_CHANGE_DEV_ECR_URI: expected <12-digit account>\.dkr\.ecr\.<region>\.amazonaws\.com\/<repository>/,
  );
  assert.match(err.message, /SAP_CHANGE_DEV_DOMAIN_NAME: expected a DNS name below a Route 53 zone/);
  assert.match(err.message, /SAP_CHANGE_DEV_DATA_BUCKET: not a valid S3 bucket name: only lower-case letters/);
  assert.match(err.message, /SAP_CHANGE_DEV_PREDICTIONS_BUCKET: missing/);
  assert.match(err.message, /IMAGE_TAG: expected a Docker tag/);
  assert.match(err.message, /AWS_REGION: expected an AWS region/);
  assert.doesNotMatch(err.message, /Secret_Data_Bucket|has space|localhost/);
});

test('the repository must be in the deploy region and the three buckets must differ', () => {
  const err = configError(() =>
    parseDeployInputs(target, {
      ...valid,
      SAP_CHANGE_DEV_ECR_URI: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sap',
      SAP_CHANGE_DEV_PREDICTIONS_BUCKET: valid.SAP_CHANGE_DEV_DATA_BUCKET,
    }),
  );
  assert.deepEqual(err.details, [
    {
      field: 'SAP_CHANGE_DEV_ECR_URI',
      issue: "the repository's region must be AWS_REGION (eu-west-2): Lambda pulls images from its own region only",
    },
    {
      field: 'SAP_CHANGE_DEV_PREDICTIONS_BUCKET',
      issue: 'must differ from SAP_CHANGE_DEV_DATA_BUCKET: each bucket has one role',
    },
  ]);
});

test('S3 bucket naming rules', () => {
  for (const ok of ['abc', 'my.bucket-1', 'a'.repeat(63)]) assert.equal(bucketNameProblem(ok), undefined, ok);
  for (const bad of [
    'ab',
    'a'.repeat(64),
    'Upper',
    'under_score',
    '-lead',
    'trail-',
    'two..dots',
    '192.168.1.1',
    'xn--abc',
    'name-s3alias',
    'name--x-s3',
  ]) {
    assert.ok(bucketNameProblem(bad), bad);
  }
});

test('the documented example values of every target are valid inputs', () => {
  for (const t of allTargets()) {
    const { inputs } = parseDeployInputs(t, {
      ...exampleEnv(t),
      IMAGE_TAG: 'example',
      MLTK_STATE_BUCKET: 'mltk-terraform-state-example',
    });
    assert.equal(inputs.ecr.repository, `mltk/${t.branch}`);
  }
});

test(
  'the model reader role is an optional dev input: parsed when set, named when malformed, never ' + 'read for prod',
  () => {
    const reader = 'arn:aws:iam::222222222222:role/deploy/mltk-deploy-prod';
    assert.equal(parseDeployInputs(target, valid).inputs.modelReaderRoleArn, undefined);
    assert.equal(
      parseDeployInputs(target, { ...valid, SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN: reader }).inputs.modelReaderRoleArn,
      reader,
    );
    const err = configError(() =>
      parseDeployInputs(target, { ...valid, SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN: 'prod-role' }),
    );
    assert.deepEqual(err.details, [
      {
        field: 'SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN',
        issue: 'expected an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>',
      },
    ]);
    assert.doesNotMatch(err.message, /prod-role/);
    const prod = resolveTarget('sap_change-prod');
    const prodEnv = Object.fromEntries(
      Object.entries(valid).map(([k, v]) => [k.replace('SAP_CHANGE_DEV', 'SAP_CHANGE_PROD'), v]),
    );
    assert.equal(
      parseDeployInputs(prod, { ...prodEnv, SAP_CHANGE_PROD_MODEL_READER_ROLE_ARN: reader }).inputs.modelReaderRoleArn,
      undefined,
    );
  },
);
