// The drift monitor: the same image with the `monitor.handler` command, run on a schedule.
// It reads data, models and predictions, writes reports under `monitoring/`, and publishes
// metrics to `mltk/<model>` only (PutMetricData has no resource ARN; the namespace condition scopes it).
import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { ImageFunction } from './image-function.ts';
import { readBuckets, writeUnder } from './iam.ts';

export const MONITORING_PREFIX = 'monitoring/';

export interface DriftMonitorProps {
  functionName: string;
  imageUri: string;
  memoryMb: number;
  timeoutS: number;
  environment: Record<string, string>;
  buckets: { data: string; model: string; predictions: string };
  metricNamespace: string;
  /** EventBridge schedule expression, e.g. `rate(1 hour)`. */
  schedule: string;
  failureQueueArn: string;
  logRetentionDays: number;
}

export class DriftMonitor extends Construct {
  readonly functionName: string;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const fn = new ImageFunction(this, 'monitor', {
      functionName: props.functionName,
      description: 'mltk drift monitor: PSI per feature and prediction, published to CloudWatch',
      imageUri: props.imageUri,
      command: ['monitor.handler'],
      memoryMb: props.memoryMb,
      timeoutS: props.timeoutS,
      environment: props.environment,
      statements: [
        ...readBuckets('ReadAll', [props.buckets.data, props.buckets.model, props.buckets.predictions]),
        writeUnder('WriteReports', props.buckets.predictions, MONITORING_PREFIX),
        {
          Sid: 'PublishOwnMetrics',
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricData'],
          // AWS requires "*": PutMetricData supports no resource-level permissions.
          Resource: ['*'],
          Condition: { StringEquals: { 'cloudwatch:namespace': props.metricNamespace } },
        },
      ],
      failureQueueArn: props.failureQueueArn,
      logRetentionDays: props.logRetentionDays,
    });
    this.functionName = fn.functionName;

    const rule = new CloudwatchEventRule(this, 'schedule', {
      name: props.functionName,
      description: `runs ${props.functionName}`,
      scheduleExpression: props.schedule,
    });
    new CloudwatchEventTarget(this, 'target', { rule: rule.name, arn: fn.functionArn, targetId: 'monitor' });
    new LambdaPermission(this, 'invoke', {
      statementId: 'AllowSchedule',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
  }
}
