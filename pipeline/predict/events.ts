// The Lambda events this service takes, parsed once at the edge: API Gateway HTTP API (v2)
// requests for the online path and S3 ObjectCreated notifications for the batch path.
import { z } from 'zod';
import { InvalidInputError, zodDetails } from '../errors/index.ts';
import { decodeEventKey } from '../store/index.ts';

const httpEventSchema = z.object({
  version: z.literal('2.0'),
  rawPath: z.string(),
  rawQueryString: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
  requestContext: z.object({
    requestId: z.string().optional(),
    http: z.object({ method: z.string(), path: z.string().optional(), sourceIp: z.string().optional() }),
  }),
});

export type HttpEvent = z.infer<typeof httpEventSchema>;

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

const s3EventSchema = z.object({
  Records: z
    .array(
      z.object({
        eventSource: z.literal('aws:s3'),
        eventName: z.string(),
        s3: z.object({
          bucket: z.object({ name: z.string().min(1) }),
          object: z.object({
            key: z.string().min(1),
            size: z.number().int().nonnegative().optional(),
            eTag: z.string().min(1).optional(),
            versionId: z.string().min(1).optional(),
          }),
        }),
      }),
    )
    .min(1),
});

export interface S3ObjectRef {
  bucket: string;
  /** Decoded: S3 notifications URL-encode keys, with '+' for spaces. As sent when it is not a valid key. */
  key: string;
  eventName: string;
  /** The object version the event is about (S3 sends all three for ObjectCreated; versionId on versioned buckets). */
  size?: number;
  etag?: string;
  versionId?: string;
  /** Why the key is refused (undecodable, `..` or `.` segments…): the record is skipped, never scored. */
  refused?: string;
}

type ObjectVersion = Pick<S3ObjectRef, 'size' | 'etag' | 'versionId'>;

/** One record's object: its key decoded and checked as every store key is (store/keys.ts). */
function objectRef(bucket: string, rawKey: string, eventName: string, version: ObjectVersion): S3ObjectRef {
  try {
    return { bucket, key: decodeEventKey(rawKey), eventName, ...version };
  } catch (e) {
    return { bucket, key: rawKey, eventName, ...version, refused: (e as Error).message };
  }
}

export type ServiceEvent = { kind: 'http'; event: HttpEvent } | { kind: 's3'; objects: S3ObjectRef[] };

export function parseEvent(raw: unknown): ServiceEvent {
  const http = httpEventSchema.safeParse(raw);
  if (http.success) return { kind: 'http', event: http.data };
  const s3 = s3EventSchema.safeParse(raw);
  if (s3.success) {
    return {
      kind: 's3',
      objects: s3.data.Records.map(({ s3: { bucket, object }, eventName }) =>
        objectRef(bucket.name, object.key, eventName, {
          ...(object.size !== undefined ? { size: object.size } : {}),
          ...(object.eTag !== undefined ? { etag: object.eTag } : {}),
          ...(object.versionId !== undefined ? { versionId: object.versionId } : {}),
        }),
      ),
    };
  }
  const looksS3 = typeof raw === 'object' && raw !== null && 'Records' in raw;
  throw new InvalidInputError(
    `unsupported event: expected an API Gateway HTTP API (v2) request or an S3 notification`,
    zodDetails((looksS3 ? s3 : http).error.issues),
  );
}
