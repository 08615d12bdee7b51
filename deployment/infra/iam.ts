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

/**
 * List the buckets' keys. Reading a missing key answers 404 only to a caller that may list the bucket
 * (403 otherwise), and the handlers tell "gone" or "not registered" from "denied" by that 404. A
 * condition on `s3:prefix` would not do: those reads carry no prefix. Listing shows key names only;
 * what a role may read is scoped by `readUnder`.
 */
export function listBuckets(sid: string, buckets: string[]): PolicyStatement {
  return { Sid: sid, Effect: 'Allow', Action: ['s3:ListBucket'], Resource: buckets.map(bucketArn) };
}

/** Read objects under the given key prefixes of one bucket, nowhere else. */
export function readUnder(sid: string, bucket: string, prefixes: string[]): PolicyStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: ['s3:GetObject'],
    Resource: prefixes.map((p) => `${bucketArn(bucket)}/${p}*`),
  };
}

/**
 * Write objects under one key prefix of a bucket, nowhere else; never delete. A writer that streams
 * (multipart uploads) also aborts the uploads it cannot finish, which S3 authorizes separately.
 */
export function writeUnder(
  sid: string,
  bucket: string,
  prefix: string,
  opts: { multipart?: boolean } = {},
): PolicyStatement {
  const actions = opts.multipart ? ['s3:PutObject', 's3:AbortMultipartUpload'] : ['s3:PutObject'];
  return { Sid: sid, Effect: 'Allow', Action: actions, Resource: [`${bucketArn(bucket)}/${prefix}*`] };
}

/** Delete objects under one key prefix of a bucket (temporary objects a writer cleans up), nowhere else. */
export function deleteUnder(sid: string, bucket: string, prefix: string): PolicyStatement {
  return { Sid: sid, Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: [`${bucketArn(bucket)}/${prefix}*`] };
}

/** Trust policy letting one AWS service assume a role. */
export function assumedBy(service: string): string {
  return policyDocument([{ Effect: 'Allow', Principal: { Service: service }, Action: ['sts:AssumeRole'] }]);
}
