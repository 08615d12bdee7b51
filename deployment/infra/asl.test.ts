import { test } from 'node:test';
import assert from 'node:assert/strict';
import validator from 'asl-validator';
import {
  ALL_ERRORS,
  chain,
  definitionJson,
  distributedMap,
  fromPath,
  lambdaInvoke,
  payloadTemplate,
  s3JsonItems,
  type Retrier,
} from './asl.ts';

const FN = 'arn:aws:lambda:eu-west-2:123456789012:function:f';
const retry: Retrier[] = [
  { ErrorEquals: ['InvalidInputError'], MaxAttempts: 0 },
  { ErrorEquals: [ALL_ERRORS], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3, JitterStrategy: 'FULL' },
];

const planMapFinalize = () => ({
  Comment: 'test',
  ...chain([
    ['Plan', lambdaInvoke({ functionArn: FN, payload: { step: 'plan', run_id: fromPath('$.run_id') }, retry })],
    [
      'Shards',
      distributedMap({
        label: 'Shards',
        items: s3JsonItems({ bucket: fromPath('$.items.bucket'), key: fromPath('$.items.key') }),
        processor: chain([['Shard', lambdaInvoke({ functionArn: FN, payload: fromPath('$'), retry })]]),
        executionType: 'STANDARD',
        maxConcurrency: 100,
        toleratedFailurePercentage: 0,
      }),
    ],
    ['Finalize', lambdaInvoke({ functionArn: FN, payload: { step: 'finalize', run_id: fromPath('$.run_id') }, retry })],
  ]),
});

test('a Plan → Distributed Map → Finalize chain from the constructors is valid ASL', () => {
  const definition = JSON.parse(definitionJson(planMapFinalize()));
  const result = validator(definition);
  assert.equal(result.isValid, true, result.errorsText());
  assert.equal(definition.StartAt, 'Plan');
  assert.deepEqual(
    Object.entries(definition.States).map(([name, s]: [string, any]) => [name, s.Type, s.Next ?? s.End]),
    [
      ['Plan', 'Task', 'Shards'],
      ['Shards', 'Map', 'Finalize'],
      ['Finalize', 'Task', true],
    ],
  );
  assert.deepEqual(definition.States.Shards.ItemProcessor.ProcessorConfig, {
    Mode: 'DISTRIBUTED',
    ExecutionType: 'STANDARD',
  });
  assert.deepEqual(definition.States.Shards.ItemReader, {
    Resource: 'arn:aws:states:::s3:getObject',
    ReaderConfig: { InputType: 'JSON' },
    Parameters: { 'Bucket.$': '$.items.bucket', 'Key.$': '$.items.key' },
  });
  assert.deepEqual(definition.States.Shards.ItemProcessor.States.Shard.Parameters, {
    FunctionName: FN,
    'Payload.$': '$',
  });
});

test('the validator refuses what Step Functions would refuse: a transition to a missing state, a bad retrier', () => {
  const broken = JSON.parse(definitionJson(planMapFinalize()));
  broken.States.Plan.Next = 'Shardz';
  assert.equal(validator(broken).isValid, false);
  assert.match(validator(broken).errorsText(), /Shardz/);
  const badRetry = JSON.parse(definitionJson(planMapFinalize()));
  badRetry.States.Finalize.Retry[0].MaxAttempts = -1;
  assert.equal(validator(badRetry).isValid, false);
});

test('payload templates: a value from a path is named field.$, literals stay as they are, at any depth', () => {
  assert.deepEqual(
    payloadTemplate({
      mltk_step: 'plan',
      run_id: fromPath('$.run_id'),
      input: { key: fromPath('$.input.key'), tags: ['a', 1, true, null] },
      item: fromPath('$$.Map.Item.Value'),
    }),
    {
      mltk_step: 'plan',
      'run_id.$': '$.run_id',
      input: { 'key.$': '$.input.key', tags: ['a', 1, true, null] },
      'item.$': '$$.Map.Item.Value',
    },
  );
  assert.throws(() => fromPath('run_id'), /is not a JSONPath/);
});

test('the constructors refuse what ASL forbids: States.ALL before the last retrier, a bad label or concurrency', () => {
  assert.throws(
    () => lambdaInvoke({ functionArn: FN, payload: {}, retry: [...retry].reverse() }),
    /States\.ALL must be alone in the last retrier/,
  );
  assert.throws(
    () => lambdaInvoke({ functionArn: FN, payload: {}, retry: [{ ErrorEquals: [ALL_ERRORS, 'X'], MaxAttempts: 1 }] }),
    /must be alone/,
  );
  const map = (label: string, maxConcurrency: number) =>
    distributedMap({
      label,
      items: s3JsonItems({ bucket: fromPath('$.b'), key: fromPath('$.k') }),
      processor: chain([['S', lambdaInvoke({ functionArn: FN, payload: fromPath('$'), retry })]]),
      executionType: 'STANDARD',
      maxConcurrency,
      toleratedFailurePercentage: 0,
    });
  assert.throws(() => map('has space', 10), /map label "has space"/);
  assert.throws(() => map('Shards', 0), /MaxConcurrency 0/);
  assert.throws(() => map('Shards', 10_001), /MaxConcurrency 10001/);
  assert.throws(() => chain([]), /at least one state/);
  assert.throws(
    () =>
      chain([
        ['A', lambdaInvoke({ functionArn: FN, payload: {}, retry })],
        ['A', lambdaInvoke({ functionArn: FN, payload: {}, retry })],
      ]),
    /"A" is named twice/,
  );
});
