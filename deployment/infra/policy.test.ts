import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerraformStack, Testing } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api/index.js';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SfnStateMachine } from '@cdktf/provider-aws/lib/sfn-state-machine/index.js';
import { assumedBy, policyDocument } from './iam.ts';
import { checkStack, type SecurityRule } from './policy.ts';
import { SecureBucket } from './storage.ts';
import { ImageRegistry } from './registry.ts';
import { ImageFunction } from './image-function.ts';
import { BatchScoring, batchStateMachine } from './batch-scoring.ts';

function synthStack(build: (stack: TerraformStack) => void): string {
  const stack = new TerraformStack(Testing.app(), 'under-test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-2' });
  build(stack);
  return Testing.synth(stack);
}

const rules = (json: string) => [...new Set(checkStack(json).map((f) => f.rule))].sort();

test('a deliberately insecure stack is caught on every rule', () => {
  const json = synthStack((s) => {
    const bucket = new S3Bucket(s, 'open', { bucket: 'wide-open-bucket', acl: 'public-read' });
    new S3BucketPolicy(s, 'open-policy', {
      bucket: bucket.id,
      policy: policyDocument([
        { Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`${bucket.arn}/*`] },
      ]),
    });
    new EcrRepository(s, 'mutable', { name: 'mutable' });
    const role = new IamRole(s, 'role', { name: 'too-broad', assumeRolePolicy: assumedBy('lambda.amazonaws.com') });
    new IamRolePolicy(s, 'admin', {
      role: role.id,
      policy: policyDocument([
        { Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::x/*'] },
        { Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: ['*'] },
        { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: ['arn:aws:lambda:eu-west-2:1:function:*'] },
      ]),
    });
    new SfnStateMachine(s, 'unlogged', {
      name: 'unlogged',
      roleArn: role.arn,
      definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
    });
    new CloudwatchLogGroup(s, 'forever', { name: '/forever' });
    new LambdaFunction(s, 'fn', {
      functionName: 'no-dlq',
      role: role.arn,
      packageType: 'Image',
      imageUri: '123456789012.dkr.ecr.eu-west-2.amazonaws.com/r:t',
    });
    const api = new Apigatewayv2Api(s, 'api', { name: 'unthrottled', protocolType: 'HTTP' });
    new Apigatewayv2Stage(s, 'stage', { apiId: api.id, name: '$default', autoDeploy: true });
    new SqsQueue(s, 'plain', { name: 'plain', sqsManagedSseEnabled: false });
  });
  const all: SecurityRule[] = [
    'API_ACCESS_LOGS',
    'API_THROTTLING',
    'ECR_MUTABLE_TAGS',
    'ECR_SCAN_ON_PUSH',
    'IAM_BROAD_INVOKE',
    'IAM_WILDCARD_ACTION',
    'IAM_WILDCARD_RESOURCE',
    'LAMBDA_ON_FAILURE',
    'LOG_RETENTION',
    'S3_ENCRYPTION',
    'S3_OWNERSHIP',
    'S3_PUBLIC',
    'S3_TLS_ONLY',
    'S3_VERSIONING',
    'SFN_LOGGING',
    'SQS_ENCRYPTION',
  ];
  assert.deepEqual(rules(json), all.sort());
  const findings = checkStack(json);
  assert.ok(findings.some((f) => f.rule === 'S3_PUBLIC' && f.message === 'bucket policy allows Principal "*"'));
  assert.ok(findings.some((f) => f.rule === 'S3_PUBLIC' && f.message === 'ACL public-read'));
  assert.ok(
    findings.some((f) => f.rule === 'LOG_RETENTION' && f.resource.startsWith('aws_lambda_function.')),
    'a Lambda logging to an auto-created group',
  );
});

test('the hardened bucket, registry and function constructs pass every rule', () => {
  const json = synthStack((s) => {
    new SecureBucket(s, 'bucket', {
      bucketName: 'hardened-bucket',
      noncurrentVersionDays: 30,
      // A cross-account read-only grant (the prod deploy role reading a dev registry) is not public.
      readers: [
        {
          sid: 'ReleaseCopyRead',
          principals: ['arn:aws:iam::222222222222:role/mltk-deploy-prod'],
          prefixes: ['models/', 'blobs/'],
        },
      ],
    });
    new ImageRegistry(s, 'registry', { repositoryName: 'hardened', keepImages: 10 });
    const dlq = new SqsQueue(s, 'dlq', { name: 'dlq', sqsManagedSseEnabled: true });
    const fn = new ImageFunction(s, 'fn', {
      functionName: 'hardened-fn',
      description: 'test',
      imageUri: '123456789012.dkr.ecr.eu-west-2.amazonaws.com/hardened:t',
      command: ['predict.handler'],
      memoryMb: 512,
      timeoutS: 30,
      environment: {},
      statements: [
        {
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricData'],
          Resource: ['*'],
          Condition: { StringEquals: { 'cloudwatch:namespace': 'mltk/m' } },
        },
      ],
      failureQueueArn: dlq.arn,
      logRetentionDays: 14,
    });
    new BatchScoring(s, 'batch', {
      stateMachine: batchStateMachine({ namePrefix: 'hardened', region: 'eu-west-2', accountId: '123456789012' }),
      functionArn: fn.functionArn,
      itemsBucket: 'hardened-bucket',
      maxConcurrency: 10,
      logRetentionDays: 14,
    });
  });
  assert.deepEqual(checkStack(json), []);
});

test('one missing hardening step on one bucket is one finding on that bucket', () => {
  const json = synthStack((s) => {
    new SecureBucket(s, 'good', { bucketName: 'good-bucket', noncurrentVersionDays: 30 });
    new S3Bucket(s, 'bare', { bucket: 'bare-bucket' });
  });
  const findings = checkStack(json);
  assert.ok(
    findings.length > 0 && findings.every((f) => f.resource.startsWith('aws_s3_bucket.bare')),
    JSON.stringify(findings),
  );
  assert.deepEqual(rules(json), ['S3_ENCRYPTION', 'S3_OWNERSHIP', 'S3_PUBLIC', 'S3_TLS_ONLY', 'S3_VERSIONING']);
});

test('Deny statements may use wildcards; Allow on "*" needs an action AWS cannot scope, with its condition', () => {
  const withPolicy = (statements: Parameters<typeof policyDocument>[0]) =>
    synthStack((s) => {
      const role = new IamRole(s, 'role', { name: 'r', assumeRolePolicy: assumedBy('lambda.amazonaws.com') });
      new IamRolePolicy(s, 'p', { role: role.id, policy: policyDocument(statements) });
    });
  assert.deepEqual(rules(withPolicy([{ Effect: 'Deny', Action: ['s3:*'], Resource: ['*'] }])), []);
  assert.deepEqual(rules(withPolicy([{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] }])), [
    'IAM_WILDCARD_RESOURCE',
  ]);
  assert.deepEqual(rules(withPolicy([{ Effect: 'Allow', Action: ['s3:Get*'], Resource: ['arn:aws:s3:::b/*'] }])), [
    'IAM_WILDCARD_ACTION',
  ]);
  assert.deepEqual(
    rules(withPolicy([{ Effect: 'Allow', NotAction: ['iam:PassRole'], Resource: ['arn:aws:s3:::b'] } as never])),
    ['IAM_WILDCARD_ACTION'],
  );
});

test('running code needs its exact resource; the log-delivery API may only be granted on "*"', () => {
  const withPolicy = (statements: Parameters<typeof policyDocument>[0]) =>
    synthStack((s) => {
      const role = new IamRole(s, 'role', { name: 'r', assumeRolePolicy: assumedBy('states.amazonaws.com') });
      new IamRolePolicy(s, 'p', { role: role.id, policy: policyDocument(statements) });
    });
  const machine = 'arn:aws:states:eu-west-2:123456789012:stateMachine:m';
  assert.deepEqual(
    rules(withPolicy([{ Effect: 'Allow', Action: ['states:StartExecution'], Resource: [machine] }])),
    [],
  );
  assert.deepEqual(
    rules(withPolicy([{ Effect: 'Allow', Action: ['states:StartExecution'], Resource: [`${machine}*`] }])),
    ['IAM_BROAD_INVOKE'],
  );
  // Watching executions by pattern is how Distributed Map's children are named; starting them is not.
  assert.deepEqual(
    rules(
      withPolicy([
        {
          Effect: 'Allow',
          Action: ['states:DescribeExecution'],
          Resource: ['arn:aws:states:eu-west-2:123456789012:execution:m/*'],
        },
      ]),
    ),
    [],
  );
  assert.deepEqual(
    rules(
      withPolicy([{ Effect: 'Allow', Action: ['logs:CreateLogDelivery', 'logs:DescribeLogGroups'], Resource: ['*'] }]),
    ),
    [],
  );
  assert.deepEqual(
    rules(withPolicy([{ Effect: 'Allow', Action: ['logs:CreateLogDelivery', 'logs:PutLogEvents'], Resource: ['*'] }])),
    ['IAM_WILDCARD_RESOURCE'],
    'an action AWS can scope stays scoped, even beside the log-delivery ones',
  );
});
