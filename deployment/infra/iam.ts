// IAM policy documents as typed values: every statement names its actions and resources,
// so the security check (policy.ts) and a reviewer read the same JSON.

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  Action: string[];
  Resource?: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export function policyDocument(statements: PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

export const bucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;

/** List and read every object of the buckets. */
export function readBuckets(sid: string, buckets: string[]): PolicyStatement[] {
  return [
    { Sid: `${sid}List`, Effect: 'Allow', Action: ['s3:ListBucket'], Resource: buckets.map(bucketArn) },
    { Sid: `${sid}Get`, Effect: 'Allow', Action: ['s3:GetObject'], Resource: buckets.map((b) => `${bucketArn(b)}/*`) },
  ];
}

/**
 * Write objects under one key prefix of a bucket, nowhere else; never delete. A writer that streams
 * (multipart uploads) also aborts the uploads it cannot finish, which S3 authorizes separately.
 */
export function writeUnder(
  sid: string, bucket: string, prefix: string, opts: { multipart?: boolean } = {},
): PolicyStatement {
  const actions = opts.multipart ? ['s3:PutObject', 's3:AbortMultipartUpload'] : ['s3:PutObject'];
  return { Sid: sid, Effect: 'Allow', Action: actions, Resource: [`${bucketArn(bucket)}/${prefix}*`] };
}

/** Trust policy letting one AWS service assume a role. */
export function assumedBy(service: string): string {
  return policyDocument([{ Effect: 'Allow', Principal: { Service: service }, Action: ['sts:AssumeRole'] }]);
}
