// S3 backend (`s3://bucket/prefix`). Endpoint and region come from the standard AWS
// variables (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION), which the SDK reads itself.
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { AccessDeniedError, ConflictError, IncompleteUploadError, NotFoundError, quoted } from '../errors/index.ts';
import { planCompose, S3_COMPOSE_LIMITS, type ComposeLimits, type ComposeSource, type Slice } from './compose.ts';
import { checkKey, checkPrefix } from './keys.ts';
import type { ObjectInfo, ObjectStore } from './types.ts';

// S3's minimum part size is 5 MiB; 8 MiB keeps memory bounded while streaming.
const PART_BYTES = 8 << 20;

/** Server-side copies: one CopyObject up to S3's 5 GiB limit, else a multipart copy in parts of this size. */
export interface CopyLimits {
  singleCopyMaxBytes: number;
  copyPartBytes: number;
}
const COPY_LIMITS: CopyLimits = { singleCopyMaxBytes: 5 * 2 ** 30, copyPartBytes: 512 * 2 ** 20 };
/** Parts of a compose in flight at once: copies are server-side, so this bounds requests, not bytes moved here. */
const COMPOSE_CONCURRENCY = 8;

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(e) === 404;
}

function isAccessDenied(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'AccessDenied' || status(e) === 403;
}

/** The IAM action each store operation needs (S3 authorizes HEAD as s3:GetObject, multipart parts as s3:PutObject). */
type S3Action = 's3:GetObject' | 's3:PutObject' | 's3:ListBucket' | 's3:DeleteObject' | 's3:AbortMultipartUpload';

/** 412 PreconditionFailed, or 409 ConditionalRequestConflict when two conditional writes race. */
function isPreconditionFailure(e: unknown): boolean {
  const s = status(e);
  return s === 412 || s === 409;
}

/** The region every AWS client of the toolkit uses: AWS_REGION, AWS_DEFAULT_REGION, else London. */
export function awsRegion(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'eu-west-2';
}

let sdk: Promise<typeof S3Sdk> | undefined;

/** The S3 SDK, loaded on first use: it costs more to load than most commands take, and most never touch S3. */
function s3Sdk(): Promise<typeof S3Sdk> {
  sdk ??= import('@aws-sdk/client-s3');
  return sdk;
}

/** An S3 client with the toolkit's settings; `credentials` replaces the default chain (a test acting as someone). */
export async function makeS3Client(opts: { credentials?: S3ClientConfig['credentials'] } = {}): Promise<S3Client> {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const { S3Client } = await s3Sdk();
  return new S3Client({
    ...opts,
    region: awsRegion(),
    // Local S3-compatible servers (moto, s3rver, MinIO) route by path, not by bucket subdomain.
    forcePathStyle: endpoint !== undefined,
    // Only checksum when the API requires it: some S3-compatible servers store aws-chunked framing otherwise.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export class S3Store implements ObjectStore {
  readonly url: string;
  private connected: Promise<{ client: S3Client; sdk: typeof S3Sdk }> | undefined;
  /** `client`: a client to use (or its promise); by default one with the toolkit's settings, made on first use. */
  private readonly copyLimits: CopyLimits;
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    private readonly client?: S3Client | Promise<S3Client>,
    copyLimits: Partial<CopyLimits> = {},
  ) {
    this.url = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.copyLimits = { ...COPY_LIMITS, ...copyLimits };
  }

  /** The client and the SDK's command classes, loaded on the first request. */
  private api(): Promise<{ client: S3Client; sdk: typeof S3Sdk }> {
    this.connected ??= Promise.all([this.client ?? makeS3Client(), s3Sdk()]).then(([client, sdk]) => ({ client, sdk }));
    return this.connected;
  }

  /**
   * The bucket key of store key `key`; an invalid key (`..`, `.`, empty segments: keys.ts) is refused before any
   * request.
   */
  private key(key: string): string {
    return this.bucketKey(checkKey(key));
  }

  /** The bucket key of a key or listing prefix already checked. */
  private bucketKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private notFound(key: string, cause?: unknown): NotFoundError {
    return new NotFoundError(`${this.url}: no object at ${quoted(key)}`, { cause });
  }

  /**
   * `e` as an AccessDeniedError naming the action, bucket and key (S3's own 403 names none of them,
   * and a HEAD's has no body at all); any other error unchanged.
   */
  private denied(e: unknown, action: S3Action, key: string): unknown {
    if (!isAccessDenied(e)) return e;
    const listing = action === 's3:ListBucket';
    const resource = listing ? `arn:aws:s3:::${this.bucket}` : `arn:aws:s3:::${this.bucket}/${this.bucketKey(key)}`;
    const what = `bucket "${this.bucket}", ${listing ? 'prefix' : 'key'} ${quoted(this.bucketKey(key))}`;
    // Without s3:ListBucket, S3 answers a read of a missing key with 403 instead of 404.
    const hint =
      action !== 's3:GetObject'
        ? ''
        : `; if the key does not exist, S3 also says this to callers without s3:ListBucket on arn:aws:s3:::${
            this.bucket
          }`;
    const message = `${this.url}: access denied: ${action} on ${what} (${
      resource
    }) is not allowed for these credentials${hint}`;
    return new AccessDeniedError(message, { cause: e });
  }

  async get(key: string): Promise<Buffer> {
    return (await this.getWithEtag(key)).body;
  }

  async getWithEtag(key: string): Promise<{ body: Buffer; etag: string }> {
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      const body = Buffer.from(await res.Body!.transformToByteArray());
      return { body, etag: res.ETag ?? '' };
    } catch (e) {
      if (isNotFound(e)) throw this.notFound(key, e);
      throw this.denied(e, 's3:GetObject', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { size: res.ContentLength ?? 0, etag: res.ETag ?? '' };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.denied(e, 's3:GetObject', key);
    }
  }

  async put(key: string, body: Buffer | string): Promise<{ etag: string }> {
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body }));
      return { etag: res.ETag ?? '' };
    } catch (e) {
      throw this.denied(e, 's3:PutObject', key);
    }
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<{ etag: string }> {
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, IfNoneMatch: '*' }),
      );
      return { etag: res.ETag ?? '' };
    } catch (e) {
      if (isPreconditionFailure(e)) throw new ConflictError(`${this.url}: ${quoted(key)} already exists`, { cause: e });
      throw this.denied(e, 's3:PutObject', key);
    }
  }

  async putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }> {
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, IfMatch: etag }),
      );
      return { etag: res.ETag ?? '' };
    } catch (e) {
      if (isPreconditionFailure(e) || isNotFound(e))
        throw new ConflictError(`${this.url}: ${quoted(key)} changed concurrently (expected version ${etag})`, {
          cause: e,
        });
      throw this.denied(e, 's3:PutObject', key);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { client, sdk } = await this.api();
    const out: string[] = [];
    let token: string | undefined;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    do {
      const list = new sdk.ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.bucketKey(checkPrefix(prefix)),
        ContinuationToken: token,
      });
      const res = await client.send(list).catch((e: unknown) => {
        throw this.denied(e, 's3:ListBucket', prefix);
      });
      for (const obj of res.Contents ?? []) if (obj.Key) out.push(obj.Key.slice(strip));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async getStream(key: string): Promise<Readable> {
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return res.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw this.notFound(key, e);
      throw this.denied(e, 's3:GetObject', key);
    }
  }

  async getRange(key: string, start: number, end: number, opts: { ifMatch?: string } = {}): Promise<Readable> {
    if (end <= start) return Readable.from([]);
    const { client, sdk } = await this.api();
    try {
      const res = await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Range: `bytes=${start}-${end - 1}`,
          IfMatch: opts.ifMatch,
        }),
      );
      return res.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw this.notFound(key);
      if (status(e) === 412)
        throw new ConflictError(`${this.url}: "${key}" changed (it is no longer version ${opts.ifMatch})`);
      throw this.denied(e, 's3:GetObject', key);
    }
  }

  /**
   * A multipart upload of UploadPartCopy parts (small pieces read and uploaded together, see
   * compose.ts), COMPOSE_CONCURRENCY at a time; a body under the minimum part size is one PutObject.
   * On failure the upload is aborted, or the error says why it could not be.
   */
  async compose(
    to: string,
    sources: ComposeSource[],
    limits: ComposeLimits = S3_COMPOSE_LIMITS,
  ): Promise<{ etag: string }> {
    const sized = await Promise.all(
      sources.map(async (source) => {
        if ('bytes' in source) return { source, size: source.bytes.length };
        const info = await this.head(source.key);
        if (!info) throw this.notFound(source.key);
        return { source, size: info.size };
      }),
    );
    const parts = planCompose(sized, limits);
    const read = async (slices: Slice[]) =>
      Buffer.concat(
        await Promise.all(
          slices.map(async (s) => {
            if ('bytes' in s) return s.bytes;
            const chunks: Buffer[] = [];
            for await (const c of await this.getRange(s.key, s.start, s.end)) chunks.push(c as Buffer);
            return Buffer.concat(chunks);
          }),
        ),
      );
    const only = parts[0];
    if (parts.length === 0) return this.put(to, Buffer.alloc(0));
    if (parts.length === 1 && only?.kind === 'upload') return this.put(to, await read(only.slices));
    const { client, sdk } = await this.api();
    const Key = this.key(to);
    let UploadId: string | undefined;
    try {
      ({ UploadId } = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key })));
      const etags: string[] = new Array(parts.length);
      let next = 0;
      let failed = false;
      const worker = async () => {
        for (let i = next++; i < parts.length && !failed; i = next++) {
          const part = parts[i]!;
          const PartNumber = i + 1;
          if (part.kind === 'copy') {
            const res = await client.send(
              new sdk.UploadPartCopyCommand({
                Bucket: this.bucket,
                Key,
                UploadId,
                PartNumber,
                CopySource: encodeURI(`${this.bucket}/${this.key(part.key)}`),
                CopySourceRange: `bytes=${part.start}-${part.end - 1}`,
              }),
            );
            etags[i] = res.CopyPartResult!.ETag!;
          } else {
            const Body = await read(part.slices);
            const res = await client.send(
              new sdk.UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body }),
            );
            etags[i] = res.ETag!;
          }
        }
      };
      const run = () =>
        worker().catch((e) => {
          failed = true; // the others stop after their part in flight: nothing is sent after the abort below
          throw e;
        });
      const workers = Array.from({ length: Math.min(COMPOSE_CONCURRENCY, parts.length) }, run);
      const settled = await Promise.allSettled(workers);
      const rejected = settled.find((r) => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      const Parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
      const res = await client.send(
        new sdk.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts } }),
      );
      return { etag: res.ETag ?? '' };
    } catch (e) {
      const failure = e instanceof NotFoundError ? e : this.denied(e, 's3:PutObject', to);
      if (!UploadId) throw failure;
      await client
        .send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch((abortFailure: unknown) => {
          throw new IncompleteUploadError(
            `${this.url}: composing "${to}" failed (${(failure as Error).message}), and aborting its multipart ` +
              `upload ${UploadId} failed too; its parts stay stored until the bucket's lifecycle rule aborts them`,
            this.denied(abortFailure, 's3:AbortMultipartUpload', to),
            { cause: failure },
          );
        });
      throw failure;
    }
  }

  /**
   * Multipart upload in PART_BYTES parts; a small body goes up as one PutObject. When the body or
   * an upload call fails, the multipart upload is aborted; if that fails too, the error says so
   * (IncompleteUploadError, with the upload id) instead of leaving billed parts behind unreported.
   */
  async putStream(key: string, body: Readable | AsyncIterable<Buffer>): Promise<{ etag: string }> {
    const { client, sdk } = await this.api();
    const Key = this.key(key);
    let buffered: Buffer[] = [];
    let size = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    const flush = async () => {
      const part = Buffer.concat(buffered);
      buffered = [];
      size = 0;
      if (!uploadId) {
        const res = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
        uploadId = res.UploadId!;
      }
      const PartNumber = parts.length + 1;
      const res = await client.send(
        new sdk.UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: part }),
      );
      parts.push({ ETag: res.ETag!, PartNumber });
    };
    try {
      for await (const chunk of body) {
        buffered.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size >= PART_BYTES) await flush();
      }
      if (!uploadId) return await this.put(key, Buffer.concat(buffered));
      if (size > 0) await flush();
      const res = await client.send(
        new sdk.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return { etag: res.ETag ?? '' };
    } catch (e) {
      const failure = this.denied(e, 's3:PutObject', key);
      if (!uploadId) throw failure;
      try {
        await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }));
      } catch (abortFailure) {
        const abortError = this.denied(abortFailure, 's3:AbortMultipartUpload', key);
        throw new IncompleteUploadError(
          `${this.url}: writing "${key}" failed (${(failure as Error).message}), and aborting its multipart upload ` +
            `${uploadId} failed too (${(abortError as Error).message}); its parts stay stored until the bucket's ` +
            'lifecycle rule aborts incomplete uploads',
          abortError,
          { cause: failure },
        );
      }
      throw failure;
    }
  }

  async delete(key: string): Promise<void> {
    const { client, sdk } = await this.api();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (e) {
      throw this.denied(e, 's3:DeleteObject', key);
    }
  }

  /**
   * S3 has no rename: a server-side copy (the bytes never leave S3), then a delete of `from`. A crash
   * in between leaves both keys with the same bytes; `to` is whole either way (a copy is atomic).
   */
  async move(from: string, to: string): Promise<void> {
    const info = await this.head(from);
    if (!info) throw this.notFound(from);
    const { client, sdk } = await this.api();
    const CopySource = encodeURI(`${this.bucket}/${this.key(from)}`);
    try {
      if (info.size <= this.copyLimits.singleCopyMaxBytes) {
        await client.send(new sdk.CopyObjectCommand({ Bucket: this.bucket, Key: this.key(to), CopySource }));
      } else {
        await this.multipartCopy(CopySource, to, info.size);
      }
    } catch (e) {
      if (e instanceof IncompleteUploadError) throw e;
      throw this.denied(e, 's3:PutObject', to);
    }
    await this.delete(from);
  }

  /** A copy over 5 GiB: UploadPartCopy of byte ranges, aborted (or reported) on failure as putStream does. */
  private async multipartCopy(CopySource: string, to: string, size: number): Promise<void> {
    const { client, sdk } = await this.api();
    const Key = this.key(to);
    const { UploadId } = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const parts: { ETag: string; PartNumber: number }[] = [];
    try {
      for (let start = 0; start < size; start += this.copyLimits.copyPartBytes) {
        const end = Math.min(size, start + this.copyLimits.copyPartBytes) - 1;
        const PartNumber = parts.length + 1;
        const res = await client.send(
          new sdk.UploadPartCopyCommand({
            Bucket: this.bucket,
            Key,
            UploadId,
            PartNumber,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ ETag: res.CopyPartResult!.ETag!, PartNumber });
      }
      const complete = { Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } };
      await client.send(new sdk.CompleteMultipartUploadCommand(complete));
    } catch (e) {
      await client
        .send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch((abortFailure: unknown) => {
          throw new IncompleteUploadError(
            `${this.url}: copying to "${to}" failed (${(e as Error).message}), and aborting its multipart upload ${
              UploadId
            } failed too`,
            this.denied(abortFailure, 's3:AbortMultipartUpload', to),
            { cause: e },
          );
        });
      throw e;
    }
  }
}
