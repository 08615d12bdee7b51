// A Lambda running the target's container image: its own least-privilege role, its own log
// group with retention, and an on-failure destination for asynchronous invocations.
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js';
import { assumedBy, policyDocument, type PolicyStatement } from './iam.ts';

export interface ImageFunctionProps {
  functionName: string;
  description: string;
  /** `<ecr uri>:<tag>`. */
  imageUri: string;
  /** Handler of the image (the image's CMD override), e.g. `["predict.handler"]`. */
  command: string[];
  memoryMb: number;
  timeoutS: number;
  environment: Record<string, string>;
  /** What the function may do besides writing its own logs and sending failures to the queue. */
  statements: PolicyStatement[];
  failureQueueArn: string;
  logRetentionDays: number;
}

/**
 * What a service built on ImageFunction takes from its stack; it adds the command, description and statements itself.
 */
export type ImageFunctionSettings = Pick<
  ImageFunctionProps,
  'functionName' | 'imageUri' | 'memoryMb' | 'timeoutS' | 'environment' | 'failureQueueArn' | 'logRetentionDays'
>;

export class ImageFunction extends Construct {
  readonly functionName: string;
  readonly functionArn: string;

  constructor(scope: Construct, id: string, props: ImageFunctionProps) {
    super(scope, id);
    const logs = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays,
    });
    const role = new IamRole(this, 'role', {
      name: props.functionName,
      assumeRolePolicy: assumedBy('lambda.amazonaws.com'),
    });
    const policy = new IamRolePolicy(this, 'policy', {
      role: role.id,
      policy: policyDocument([
        {
          Sid: 'OwnLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [`${logs.arn}:*`],
        },
        { Sid: 'FailedInvocations', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [props.failureQueueArn] },
        ...props.statements,
      ]),
    });
    const fn = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: props.description,
      role: role.arn,
      packageType: 'Image',
      imageUri: props.imageUri,
      imageConfig: { command: props.command },
      architectures: ['x86_64'],
      memorySize: props.memoryMb,
      timeout: props.timeoutS,
      environment: { variables: props.environment },
      loggingConfig: { logFormat: 'JSON', logGroup: logs.name },
      // The role's policy must exist before the first invocation, and logs must not be auto-created without retention.
      dependsOn: [logs, policy],
    });
    this.functionName = fn.functionName;
    this.functionArn = fn.arn;
    new LambdaFunctionEventInvokeConfig(this, 'async', {
      functionName: fn.functionName,
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 6 * 3600,
      destinationConfig: { onFailure: { destination: props.failureQueueArn } },
    });
  }
}
