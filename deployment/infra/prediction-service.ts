// The prediction Lambda: serves the API and scores every CSV that lands under `incoming/`
// in the data bucket, writing results under `predictions/` in the predictions bucket; an object above
// serving.batch.shard_bytes it hands to the batch scoring state machine (one StartExecution). Its role reads
// its own model's prefix of the model bucket (manifests and artifacts) and `incoming/` of the data
// bucket, nothing else: no training data, no other model.
import { Construct } from 'constructs';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification/index.js';
import { ImageFunction, type ImageFunctionSettings } from './image-function.ts';
import type { TargetBuckets } from './inputs.ts';
import { INCOMING_PREFIX, PREDICTIONS_PREFIX, SCALE_TMP_PREFIX, modelPrefix } from '../../pipeline/store/index.ts';
import { bucketArn, deleteUnder, listBuckets, readUnder, writeUnder } from './iam.ts';

/** A prefix of the data bucket whose new objects invoke another function, and S3's permission to invoke it. */
export interface BucketRoute {
  functionArn: string;
  filterPrefix: string;
  permission: LambdaPermission;
}

export interface PredictionServiceProps extends ImageFunctionSettings {
  buckets: TargetBuckets;
  /** The model served: its role reads `models/<model>/` of the model bucket only. */
  model: string;
  /** The deploying account: S3 events are accepted from the data bucket in this account only. */
  accountId: string;
  /** The batch scoring state machine, to which the function hands objects above serving.batch.shard_bytes. */
  batchStateMachineArn: string;
  /** Other prefixes of the data bucket and the functions they invoke (the monitor's `labels/`). */
  dataBucketRoutes?: BucketRoute[];
}

export class PredictionService extends Construct {
  readonly functionName: string;
  readonly functionArn: string;

  constructor(scope: Construct, id: string, props: PredictionServiceProps) {
    super(scope, id);
    const { buckets, model, accountId, batchStateMachineArn, dataBucketRoutes = [], ...settings } = props;
    const fn = new ImageFunction(this, 'predict', {
      ...settings,
      description: 'mltk prediction: POST /predict, GET /health, and S3 incoming/ batches',
      command: ['predict.handler'],
      statements: [
        listBuckets('ListBuckets', [buckets.data, buckets.model, buckets.predictions]),
        readUnder('ReadIncoming', buckets.data, [INCOMING_PREFIX]),
        readUnder('ReadOwnModel', buckets.model, [modelPrefix(model)]),
        // Outputs are streamed (multipart above 8 MiB); a failed scoring aborts its upload.
        writeUnder('WritePredictions', buckets.predictions, PREDICTIONS_PREFIX, { multipart: true }),
        // The batch scoring state machine's steps (plan, shard, finalize): a run's plan, items and parts
        // under tmp/scale/<run_id>/, read back by the shards and finalize, deleted by finalize but its done record.
        readUnder('ReadScaleRuns', buckets.predictions, [SCALE_TMP_PREFIX]),
        writeUnder('WriteScaleRuns', buckets.predictions, SCALE_TMP_PREFIX, { multipart: true }),
        deleteUnder('CleanUpScaleRuns', buckets.predictions, SCALE_TMP_PREFIX),
        {
          Sid: 'StartBatchScoring',
          Effect: 'Allow',
          Action: ['states:StartExecution'],
          Resource: [batchStateMachineArn],
        },
      ],
    });
    this.functionName = fn.functionName;
    this.functionArn = fn.functionArn;

    const permission = new LambdaPermission(this, 's3-invoke', {
      statementId: 'AllowS3DataBucket',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 's3.amazonaws.com',
      sourceArn: bucketArn(buckets.data),
      sourceAccount: accountId,
    });
    // The only notification configuration of the data bucket (S3 keeps one per bucket, so every route of
    // the bucket is here); S3 checks each function's permission when it is written.
    new S3BucketNotification(this, 'incoming', {
      bucket: buckets.data,
      lambdaFunction: [
        { lambdaFunctionArn: fn.functionArn, events: ['s3:ObjectCreated:*'], filterPrefix: INCOMING_PREFIX },
        ...dataBucketRoutes.map((r) => ({
          lambdaFunctionArn: r.functionArn,
          events: ['s3:ObjectCreated:*'],
          filterPrefix: r.filterPrefix,
        })),
      ],
      dependsOn: [permission, ...dataBucketRoutes.map((r) => r.permission)],
    });
  }
}
