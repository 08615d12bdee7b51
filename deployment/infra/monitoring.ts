// The monitor: the same image with the `monitor.handler` command, run on a schedule, on each batch's
// lineage manifest landing in the predictions bucket (drift) and on each batch's labels landing under
// `labels/` in the data bucket (realized quality; that bucket's one notification configuration is the
// prediction service's, which routes `labels/` here: see `labelsRoute`).
// It reads `incoming/` and `labels/` of the data bucket, its own model's prefix of the model bucket,
// the batches' outputs and reports, writes reports under `monitoring/`, and publishes metrics to
// `mltk/<model>` only (PutMetricData has no resource ARN; the namespace condition scopes it).
import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification/index.js';
import { BATCH_FILES } from '../../pipeline/monitor/index.ts';
import { ImageFunction, type ImageFunctionSettings } from './image-function.ts';
import type { TargetBuckets } from './inputs.ts';
import {
  INCOMING_PREFIX,
  LABELS_PREFIX,
  MONITORING_PREFIX,
  PREDICTIONS_PREFIX,
  modelPrefix,
} from '../../pipeline/store/index.ts';
import { bucketArn, listBuckets, readUnder, writeUnder } from './iam.ts';
import type { BucketRoute } from './prediction-service.ts';

/** The predict Lambda writes a batch's lineage manifest last: its arrival means the batch is complete. */
const MANIFEST_SUFFIX = `/${BATCH_FILES.manifest}`;

export interface DriftMonitorProps extends ImageFunctionSettings {
  buckets: TargetBuckets;
  /** The model monitored: its role reads `models/<model>/` of the model bucket only. */
  model: string;
  metricNamespace: string;
  /** EventBridge schedule expression, e.g. `rate(1 hour)`. */
  schedule: string;
  accountId: string;
}

export class DriftMonitor extends Construct {
  readonly functionName: string;
  /** `labels/` of the data bucket to this function, for the data bucket's notification configuration. */
  readonly labelsRoute: BucketRoute;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const { buckets, model, metricNamespace, schedule, accountId, ...settings } = props;
    const fn = new ImageFunction(this, 'monitor', {
      ...settings,
      description: 'mltk monitor: drift per batch, realized quality per labels batch, published to CloudWatch',
      command: ['monitor.handler'],
      statements: [
        listBuckets('ListAll', [buckets.data, buckets.model, buckets.predictions]),
        readUnder('ReadIncoming', buckets.data, [INCOMING_PREFIX]),
        readUnder('ReadLabels', buckets.data, [LABELS_PREFIX]),
        readUnder('ReadOwnModel', buckets.model, [modelPrefix(model)]),
        readUnder('ReadBatches', buckets.predictions, [PREDICTIONS_PREFIX, MONITORING_PREFIX]),
        writeUnder('WriteReports', buckets.predictions, MONITORING_PREFIX),
        {
          Sid: 'PublishOwnMetrics',
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricData'],
          // AWS requires "*": PutMetricData supports no resource-level permissions.
          Resource: ['*'],
          Condition: { StringEquals: { 'cloudwatch:namespace': metricNamespace } },
        },
      ],
    });
    this.functionName = fn.functionName;
    const fromData = new LambdaPermission(this, 's3-data-invoke', {
      statementId: 'AllowS3DataBucketLabels',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 's3.amazonaws.com',
      sourceArn: bucketArn(buckets.data),
      sourceAccount: accountId,
    });
    this.labelsRoute = { functionArn: fn.functionArn, filterPrefix: LABELS_PREFIX, permission: fromData };

    const rule = new CloudwatchEventRule(this, 'schedule', {
      name: props.functionName,
      description: `runs ${props.functionName}`,
      scheduleExpression: schedule,
    });
    new CloudwatchEventTarget(this, 'target', { rule: rule.name, arn: fn.functionArn, targetId: 'monitor' });
    new LambdaPermission(this, 'invoke', {
      statementId: 'AllowSchedule',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });

    const fromPredictions = new LambdaPermission(this, 's3-invoke', {
      statementId: 'AllowS3PredictionsBucket',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 's3.amazonaws.com',
      sourceArn: bucketArn(buckets.predictions),
      sourceAccount: accountId,
    });
    // The only notification configuration of the predictions bucket: monitor each batch as it completes.
    new S3BucketNotification(this, 'batches', {
      bucket: buckets.predictions,
      lambdaFunction: [
        {
          lambdaFunctionArn: fn.functionArn,
          events: ['s3:ObjectCreated:*'],
          filterPrefix: PREDICTIONS_PREFIX,
          filterSuffix: MANIFEST_SUFFIX,
        },
      ],
      dependsOn: [fromPredictions],
    });
  }
}
