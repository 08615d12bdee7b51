// Scale-out batch scoring: the Step Functions state machine that scores an object too large for one
// Lambda. Plan → Shards (a Distributed Map over the plan's items file) → Finalize, every step an
// invocation of the predict function with the events of pipeline/scale's contract. Its role may invoke
// that function, start and watch its own child executions, read the runs' items files, and deliver its logs.
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { SfnStateMachine } from '@cdktf/provider-aws/lib/sfn-state-machine/index.js';
import {
  NON_RETRYABLE_ERRORS,
  SCALE_STATES,
  SCALE_TMP_PREFIX,
  STEP_FIELD,
  runKeys,
} from '../../pipeline/scale/index.ts';
import {
  ALL_ERRORS,
  chain,
  definitionJson,
  distributedMap,
  fromPath,
  lambdaInvoke,
  s3JsonItems,
  type Retrier,
  type StateMachineDefinition,
  type Template,
} from './asl.ts';
import { assumedBy, bucketArn, policyDocument, type PolicyStatement } from './iam.ts';

/** The one state of each child workflow: score one shard. */
export const SHARD_STATE = 'Shard';

/**
 * Every step is idempotent (a retried step rewrites the same keys), so every error is retried with
 * backoff, except those retrying cannot fix, which fail the step at once with their own name.
 */
export const STEP_RETRY: Retrier[] = [
  { ErrorEquals: [...NON_RETRYABLE_ERRORS], MaxAttempts: 0 },
  // Lambda's concurrency limit (a wide map meets it first): wait longer, give up later.
  {
    ErrorEquals: ['Lambda.TooManyRequestsException'],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 8,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  // Lambda.ServiceException and its kin, S3 5xx and SlowDown surfacing from the function, timeouts.
  {
    ErrorEquals: [ALL_ERRORS],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 3,
    MaxDelaySeconds: 30,
    JitterStrategy: 'FULL',
  },
];

/**
 * The definition: the execution input is the contract's ExecutionInput {run_id, input}; Plan returns a
 * PlanResult whose `items` the map reads; each item is a whole ShardEvent, passed to the function as is;
 * the map's results are dropped (finalize reads the shards' records from S3), so Finalize gets the PlanResult.
 * A shard that still fails after its retries fails the map (no tolerated failures), and so the execution,
 * before anything final is written.
 */
function batchScoringDefinition(props: { functionArn: string; maxConcurrency: number }): StateMachineDefinition {
  const step = (payload: { [key: string]: Template } | ReturnType<typeof fromPath>) =>
    lambdaInvoke({ functionArn: props.functionArn, payload, retry: STEP_RETRY });
  return {
    Comment: 'mltk: score one large object in shards (plan, score the shards in parallel, assemble the outputs)',
    ...chain([
      [SCALE_STATES.plan, step({ [STEP_FIELD]: 'plan', run_id: fromPath('$.run_id'), input: fromPath('$.input') })],
      [
        SCALE_STATES.shards,
        distributedMap({
          label: SCALE_STATES.shards,
          items: s3JsonItems({ bucket: fromPath('$.items.bucket'), key: fromPath('$.items.key') }),
          // A child's output is only its shard's index: the map gathers every child's output, under the
          // 256 KiB state payload limit (about 16,000 shards at this size), and finalize reads the rest from S3.
          processor: chain([
            [
              SHARD_STATE,
              lambdaInvoke({
                functionArn: props.functionArn,
                payload: fromPath('$'),
                retry: STEP_RETRY,
                select: { index: fromPath('$.Payload.index') },
              }),
            ],
          ]),
          // STANDARD children: a shard runs up to the function's timeout (≤ 15 min) per attempt, times its
          // retries with backoff, past EXPRESS's 5-minute limit; each shard runs exactly once with its
          // history kept (a failed shard is read in the console, and redriven); the transitions cost cents.
          executionType: 'STANDARD',
          maxConcurrency: props.maxConcurrency,
          toleratedFailurePercentage: 0,
        }),
      ],
      [SCALE_STATES.finalize, step({ [STEP_FIELD]: 'finalize', run_id: fromPath('$.run_id') })],
    ]),
  };
}

/** A state machine's ARN from its name: the predict function's role and environment need it before it exists. */
function stateMachineArn(props: { region: string; accountId: string; name: string }): string {
  return `arn:aws:states:${props.region}:${props.accountId}:stateMachine:${props.name}`;
}

/** The target's batch scoring state machine: `<prefix>-batch`, and its ARN. */
export function batchStateMachine(props: { namePrefix: string; region: string; accountId: string }): StateMachineRef {
  const name = `${props.namePrefix}-batch`;
  return { name, arn: stateMachineArn({ region: props.region, accountId: props.accountId, name }) };
}

export interface StateMachineRef {
  name: string;
  arn: string;
}

/** The run's items file, in any run's folder: the only object the machine itself reads. */
function itemsFilePattern(): string {
  const sample = runKeys('run');
  return `${SCALE_TMP_PREFIX}*/${sample.items.slice(sample.prefix.length)}`;
}

export interface BatchScoringProps {
  /** Its name and the ARN `stateMachineArn` gives for it. */
  stateMachine: StateMachineRef;
  /** The predict function: the only one the machine may invoke. */
  functionArn: string;
  /** Where the plan writes the items file (the predictions bucket). */
  itemsBucket: string;
  maxConcurrency: number;
  logRetentionDays: number;
}

/** What the machine's role may do, and nothing else. */
function batchScoringStatements(props: BatchScoringProps): PolicyStatement[] {
  const executions = props.stateMachine.arn.replace(':stateMachine:', ':execution:');
  return [
    { Sid: 'InvokePredict', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [props.functionArn] },
    // Distributed Map runs each item as a child execution of this machine (AWS's documented least privilege):
    // start them, watch them, stop those still running when the map fails; redrive them when the run is redriven.
    { Sid: 'StartShards', Effect: 'Allow', Action: ['states:StartExecution'], Resource: [props.stateMachine.arn] },
    {
      Sid: 'WatchShards',
      Effect: 'Allow',
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Resource: [`${executions}/*`],
    },
    {
      Sid: 'RedriveShards',
      Effect: 'Allow',
      Action: ['states:RedriveExecution'],
      Resource: [`${executions}/${SCALE_STATES.shards}:*`],
    },
    {
      Sid: 'ReadItems',
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: [`${bucketArn(props.itemsBucket)}/${itemsFilePattern()}`],
    },
    {
      Sid: 'DeliverLogs',
      Effect: 'Allow',
      // CloudWatch Logs' log-delivery API has no resource-level permissions: AWS documents Resource "*".
      Action: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      Resource: ['*'],
    },
  ];
}

export class BatchScoring extends Construct {
  readonly stateMachineArn: string;

  constructor(scope: Construct, id: string, props: BatchScoringProps) {
    super(scope, id);
    // Under /aws/vendedlogs/: CloudWatch Logs' resource policy for log delivery covers that prefix once.
    const logs = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/vendedlogs/states/${props.stateMachine.name}`,
      retentionInDays: props.logRetentionDays,
    });
    const role = new IamRole(this, 'role', {
      name: props.stateMachine.name,
      assumeRolePolicy: assumedBy('states.amazonaws.com'),
    });
    const policy = new IamRolePolicy(this, 'policy', {
      role: role.id,
      policy: policyDocument(batchScoringStatements(props)),
    });
    const machine = new SfnStateMachine(this, 'machine', {
      name: props.stateMachine.name,
      type: 'STANDARD',
      roleArn: role.arn,
      definition: definitionJson(
        batchScoringDefinition({ functionArn: props.functionArn, maxConcurrency: props.maxConcurrency }),
      ),
      // Failures with their inputs (bucket, key, byte ranges: no row data passes through the machine).
      loggingConfiguration: { logDestination: `${logs.arn}:*`, includeExecutionData: true, level: 'ERROR' },
      // Creating the machine checks that its role may deliver the logs.
      dependsOn: [policy],
    });
    this.stateMachineArn = machine.arn;
  }
}
