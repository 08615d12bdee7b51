// The batch scoring state machine as `Testing.synth` writes it: valid ASL (asl-validator), a DISTRIBUTED
// map over the plan's S3 items file, payloads that are exactly the events pipeline/scale's contract
// parses, retries that stop at what a retry cannot fix, and a role that may do what the machine needs only.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Testing } from 'cdktf';
import validator from 'asl-validator';
import {
  executionInputSchema,
  finalizeEventSchema,
  NON_RETRYABLE_ERRORS,
  planEventSchema,
  planResultSchema,
  runIdFor,
  runKeys,
  SCALE_STATES,
  shardEventSchema,
} from '../../pipeline/scale/index.ts';
import { loadModelConfig } from '../../pipeline/config/index.ts';
import { buildApp } from '../../main.ts';
import { SHARD_STATE, STEP_RETRY } from './batch-scoring.ts';
import type { PolicyStatement } from './iam.ts';

const TARGET = 'heat_change-prod';
type Block = Record<string, any>;
let machine: Block;
let definition: Block;
let statements: PolicyStatement[];
let predictFunction: string;
let buckets: { predictions: string };

before(async () => {
  const { targets } = await buildApp({}, { app: Testing.app() });
  const t = targets.find((x) => x.target.branch === TARGET)!;
  const resources = JSON.parse(Testing.synth(t.service)).resource;
  machine = Object.values(resources.aws_sfn_state_machine as Record<string, Block>)[0]!;
  definition = JSON.parse(machine.definition);
  const roleName = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(machine.role_arn)![1];
  const policy = Object.values(resources.aws_iam_role_policy as Record<string, Block>).find(
    (p) => p.role === `\${aws_iam_role.${roleName}.id}`,
  )!;
  statements = JSON.parse(policy.policy).Statement;
  const [fnId] = Object.entries(resources.aws_lambda_function as Record<string, Block>).find(
    ([, f]) => f.function_name === `mltk-${TARGET}-predict`,
  )!;
  predictFunction = `\${aws_lambda_function.${fnId}.arn}`;
  buckets = t.inputs.buckets;
});

/** A JSONPath of the forms the definition uses (`$`, `$.a.b`), read from `doc`. */
function read(doc: unknown, path: string): unknown {
  if (path === '$') return doc;
  return path
    .slice(2)
    .split('.')
    .reduce((v: any, k) => v?.[k], doc);
}

/** What Step Functions passes for a payload template (`field.$` resolved against the state's input). */
function resolve(template: Block, input: unknown): Block {
  return Object.fromEntries(
    Object.entries(template).map(([k, v]) =>
      k.endsWith('.$')
        ? [k.slice(0, -2), read(input, v as string)]
        : [k, typeof v === 'object' ? resolve(v, input) : v],
    ),
  );
}
const payloadOf = (task: Block, input: unknown) =>
  task.Parameters['Payload.$'] ? read(input, task.Parameters['Payload.$']) : resolve(task.Parameters.Payload, input);

test('the synthesized definition is valid ASL: Plan → DISTRIBUTED map over S3 items → Finalize', async () => {
  const result = validator(definition);
  assert.equal(result.isValid, true, result.errorsText());
  assert.deepEqual(
    [machine.name, machine.type, definition.StartAt],
    [`mltk-${TARGET}-batch`, 'STANDARD', SCALE_STATES.plan],
  );
  const { Plan, Shards, Finalize } = definition.States;
  assert.deepEqual([Plan.Next, Shards.Next, Finalize.End], [SCALE_STATES.shards, SCALE_STATES.finalize, true]);
  assert.equal(Shards.Type, 'Map');
  assert.deepEqual(Shards.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
  assert.deepEqual(Shards.ItemReader, {
    Resource: 'arn:aws:states:::s3:getObject',
    ReaderConfig: { InputType: 'JSON' },
    Parameters: { 'Bucket.$': '$.items.bucket', 'Key.$': '$.items.key' },
  });
  const config = await loadModelConfig('configs/heat_change.json');
  assert.equal(Shards.MaxConcurrency, config.serving.batch.max_concurrency);
  assert.equal(Shards.ToleratedFailurePercentage, 0);
  assert.equal(Shards.ResultPath, null);
  for (const task of [Plan, Shards.ItemProcessor.States[SHARD_STATE], Finalize]) {
    assert.equal(task.Resource, 'arn:aws:states:::lambda:invoke');
    assert.equal(task.Parameters.FunctionName, predictFunction, 'every step invokes the predict function');
    assert.deepEqual(task.Retry, STEP_RETRY);
  }
  assert.deepEqual(machine.logging_configuration, {
    include_execution_data: true,
    level: 'ERROR',
    log_destination: machine.logging_configuration.log_destination,
  });
  assert.match(machine.logging_configuration.log_destination, /^\$\{aws_cloudwatch_log_group\.[^.]+\.arn\}:\*$/);
});

test("each step's payload is the contract's event, from the execution input through Plan's result", () => {
  const object = { bucket: buckets.predictions.replace('predictions', 'data'), key: 'incoming/2026/big.csv' };
  const input = executionInputSchema.parse({
    run_id: runIdFor({ ...object, etag: 'abc' }),
    input: { ...object, etag: 'abc', size: 3 * 2 ** 30 },
  });
  const { Plan, Shards, Finalize } = definition.States;
  const plan = planEventSchema.parse(payloadOf(Plan, input));
  assert.deepEqual(plan, { mltk_step: 'plan', ...input });

  // Plan's state output is the function's return value (the integration's Payload).
  const planResult = planResultSchema.parse(
    read(
      {
        Payload: {
          run_id: input.run_id,
          shards: 2,
          items: { bucket: buckets.predictions, key: runKeys(input.run_id).items },
        },
      },
      Plan.OutputPath,
    ),
  );
  assert.deepEqual(resolve(Shards.ItemReader.Parameters, planResult), {
    Bucket: buckets.predictions,
    Key: runKeys(input.run_id).items,
  });
  const item = { mltk_step: 'shard', run_id: input.run_id, index: 1, start: 100, end: 200, first_row: 3, rows: 4 };
  const shard = Shards.ItemProcessor.States[SHARD_STATE];
  assert.deepEqual(shardEventSchema.parse(payloadOf(shard, item)), item);
  // A child's output (which the map gathers for every shard) is its index alone, whatever the shard returns.
  const shardResult = {
    run_id: input.run_id,
    index: 1,
    rows: 4,
    scored: 3,
    errors: 1,
    issues: 2,
    bytes: { predictions: 90, errors: 40 },
  };
  assert.deepEqual(resolve(shard.ResultSelector, { Payload: shardResult, StatusCode: 200 }), { index: 1 });
  assert.equal(shard.OutputPath, undefined);
  // ResultPath null: Finalize gets the map's input, Plan's result.
  assert.deepEqual(finalizeEventSchema.parse(payloadOf(Finalize, planResult)), {
    mltk_step: 'finalize',
    run_id: input.run_id,
  });
});

test('retries: what retrying cannot fix fails at once; throttles and everything else back off, jittered', () => {
  assert.deepEqual(STEP_RETRY[0], { ErrorEquals: [...NON_RETRYABLE_ERRORS], MaxAttempts: 0 });
  const throttles = STEP_RETRY.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'))!;
  const rest = STEP_RETRY.at(-1)!;
  assert.deepEqual(rest.ErrorEquals, ['States.ALL'], 'Lambda.ServiceException, S3 5xx, timeouts');
  for (const r of [throttles, rest]) {
    assert.ok(r.MaxAttempts >= 3 && (r.BackoffRate ?? 1) > 1 && r.JitterStrategy === 'FULL', JSON.stringify(r));
  }
});

test('the role invokes the predict function, runs its own children, reads items files, logs: no more', () => {
  const account = '${data.aws_caller_identity.account.account_id}';
  const own = `arn:aws:states:eu-west-2:${account}:stateMachine:mltk-${TARGET}-batch`;
  const executions = `arn:aws:states:eu-west-2:${account}:execution:mltk-${TARGET}-batch`;
  assert.deepEqual(
    statements.map((s) => [s.Sid, s.Action, s.Resource]),
    [
      ['InvokePredict', ['lambda:InvokeFunction'], [predictFunction]],
      ['StartShards', ['states:StartExecution'], [own]],
      ['WatchShards', ['states:DescribeExecution', 'states:StopExecution'], [`${executions}/*`]],
      ['RedriveShards', ['states:RedriveExecution'], [`${executions}/${SCALE_STATES.shards}:*`]],
      ['ReadItems', ['s3:GetObject'], [`arn:aws:s3:::${buckets.predictions}/tmp/scale/*/items.json`]],
      [
        'DeliverLogs',
        [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        ['*'],
      ],
    ],
  );
  assert.ok(statements.every((s) => s.Effect === 'Allow' && !s.Condition));
});
