export type { ObjectStore, ObjectInfo } from './types.ts';
export { openStore, storeUrl, isUrl, openObjectUrl, DEFAULT_STORE } from './open.ts';
export { LocalStore } from './local.ts';
export { S3Store, makeS3Client, awsRegion, type CopyLimits } from './s3.ts';
export {
  blobKey, sha256Hex, putBlob, putBlobFile, hashFile, getBlob, getBlobStream, getBlobToFile, copyBlob,
  stagingKey, commitStagedBlob, STAGING_PREFIX, type BlobRef,
} from './blobs.ts';
export {
  readJson, readJsonEach, parseJson, writeJsonIfAbsent, manifestJson, MalformedManifestError, type JsonParser, type MalformedEntry,
} from './json.ts';
