// The target's three S3 buckets (data, models, predictions), each hardened the same way:
// no public access, SSE, versioning, TLS-only policy, owner-enforced objects, lifecycle rules.
import { Construct } from 'constructs';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketLifecycleConfiguration, type S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { policyDocument } from './iam.ts';
import type { TargetBuckets } from './inputs.ts';

export interface SecureBucketProps {
  bucketName: string;
  /** Rules added to the defaults (abort stale multipart uploads, expire old noncurrent versions). */
  lifecycleRules?: S3BucketLifecycleConfigurationRule[];
  noncurrentVersionDays: number;
}

export class SecureBucket extends Construct {
  readonly bucketName: string;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const bucket = new S3Bucket(this, 'bucket', { bucket: props.bucketName });
    this.bucketName = bucket.bucket;

    new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    new S3BucketVersioningA(this, 'versioning', { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketPolicy(this, 'tls-only', {
      bucket: bucket.id,
      policy: policyDocument([{
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*'],
        Resource: [bucket.arn, `${bucket.arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }]),
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'housekeeping',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays }],
        },
        ...(props.lifecycleRules ?? []),
      ],
    });
  }
}

export interface StorageProps {
  buckets: TargetBuckets;
  /** Predictions move to Infrequent Access after this many days... */
  predictionsInfrequentAccessDays: number;
  /** ...and are deleted after this many. */
  predictionsExpireDays: number;
}

/** Data in (`incoming/`), model store, predictions and monitoring reports out. */
export class Storage extends Construct {
  readonly dataBucket: string;
  readonly modelBucket: string;
  readonly predictionsBucket: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.dataBucket = new SecureBucket(this, 'data', { bucketName: props.buckets.data, noncurrentVersionDays: 90 }).bucketName;
    // The model store's objects are content-addressed and kept; only overwritten alias files leave noncurrent versions.
    this.modelBucket = new SecureBucket(this, 'models', { bucketName: props.buckets.model, noncurrentVersionDays: 90 }).bucketName;
    this.predictionsBucket = new SecureBucket(this, 'predictions', {
      bucketName: props.buckets.predictions,
      noncurrentVersionDays: 30,
      lifecycleRules: [{
        id: 'old-predictions',
        status: 'Enabled',
        filter: [{ prefix: 'predictions/' }],
        transition: [{ days: props.predictionsInfrequentAccessDays, storageClass: 'STANDARD_IA' }],
        expiration: [{ days: props.predictionsExpireDays }],
      }],
    }).bucketName;
  }
}
