// The target's three S3 buckets (data, models, predictions), each hardened the same way:
// no public access, SSE, versioning, TLS-only policy, owner-enforced objects, lifecycle rules.
import { Construct } from 'constructs';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { COPY_SOURCE_PREFIXES } from '../../pipeline/registry/index.ts';
import { SCALE_TMP_PREFIX } from '../../pipeline/store/index.ts';
import { bucketArn, policyDocument, type PolicyStatement } from './iam.ts';
import type { TargetBuckets } from './inputs.ts';

/** Principals (IAM role ARNs, also of other accounts) that may read objects under some prefixes. */
export interface BucketReaders {
  sid: string;
  principals: string[];
  prefixes: readonly string[];
}

export interface SecureBucketProps {
  bucketName: string;
  /** Read-only grants added to the bucket policy (list the bucket, get objects under the prefixes). */
  readers?: BucketReaders[];
  /** Rules added to the defaults (abort stale multipart uploads, expire old noncurrent versions). */
  lifecycleRules?: S3BucketLifecycleConfigurationRule[];
  noncurrentVersionDays: number;
}

/**
 * A read-only grant as bucket-policy statements. Listing is granted on the whole bucket: without
 * s3:ListBucket S3 answers a read of a missing key with 403 instead of 404, and a copy must tell
 * "missing" from "denied". Objects are readable only under the prefixes; nothing can be written.
 */
function readerStatements(r: BucketReaders, arn: string): PolicyStatement[] {
  const Principal = { AWS: r.principals };
  return [
    { Sid: `${r.sid}List`, Effect: 'Allow', Principal, Action: ['s3:ListBucket'], Resource: [arn] },
    {
      Sid: `${r.sid}Get`,
      Effect: 'Allow',
      Principal,
      Action: ['s3:GetObject'],
      Resource: r.prefixes.map((p) => `${arn}/${p}*`),
    },
  ];
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
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    new S3BucketVersioningA(this, 'versioning', { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketPolicy(this, 'tls-only', {
      bucket: bucket.id,
      policy: policyDocument([
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: ['s3:*'],
          Resource: [bucket.arn, `${bucket.arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        ...(props.readers ?? []).flatMap((r) => readerStatements(r, bucketArn(props.bucketName))),
      ]),
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
  /** Roles (the prod deploy role, for a dev target) that may read the model registry to copy a release from it. */
  modelReaders?: string[];
  /** Predictions move to Infrequent Access after this many days... */
  predictionsInfrequentAccessDays: number;
  /** ...and are deleted after this many. */
  predictionsExpireDays: number;
  /** Sharded runs' temporary objects (`tmp/scale/`) are deleted after this many days. */
  scaleTemporaryDays: number;
}

/** Data in (`incoming/`), model store, predictions and monitoring reports out. */
export class Storage extends Construct {
  readonly dataBucket: string;
  readonly modelBucket: string;
  readonly predictionsBucket: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.dataBucket = new SecureBucket(this, 'data', {
      bucketName: props.buckets.data,
      noncurrentVersionDays: 90,
    }).bucketName;
    // The model store's objects are content-addressed and kept; only overwritten alias files leave noncurrent versions.
    const readers = props.modelReaders?.length
      ? [{ sid: 'ReleaseCopyRead', principals: props.modelReaders, prefixes: COPY_SOURCE_PREFIXES }]
      : [];
    this.modelBucket = new SecureBucket(this, 'models', {
      bucketName: props.buckets.model,
      noncurrentVersionDays: 90,
      readers,
    }).bucketName;
    this.predictionsBucket = new SecureBucket(this, 'predictions', {
      bucketName: props.buckets.predictions,
      noncurrentVersionDays: 30,
      lifecycleRules: [
        {
          id: 'old-predictions',
          status: 'Enabled',
          filter: [{ prefix: 'predictions/' }],
          transition: [{ days: props.predictionsInfrequentAccessDays, storageClass: 'STANDARD_IA' }],
          expiration: [{ days: props.predictionsExpireDays }],
        },
        {
          // A finished run leaves its done record, a failed one its plan and parts (what a redrive reuses).
          id: 'scale-temporary',
          status: 'Enabled',
          filter: [{ prefix: SCALE_TMP_PREFIX }],
          expiration: [{ days: props.scaleTemporaryDays }],
        },
      ],
    }).bucketName;
  }
}
