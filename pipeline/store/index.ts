export type { ObjectStore, ObjectInfo } from './types.ts';
export { openStore, storeUrl, isUrl, openObjectUrl, locateObject, DEFAULT_STORE, type ObjectLocation } from './open.ts';
export { LocalStore } from './local.ts';
export { S3Store, makeS3Client, awsRegion, type CopyLimits } from './s3.ts';
export {
  blobKey,
  sha256Hex,
  putBlob,
  putBlobFile,
  hashFile,
  getBlob,
  getBlobStream,
  getBlobToFile,
  copyBlob,
  stagingKey,
  commitStagedBlob,
  STAGING_PREFIX,
  type BlobRef,
} from './blobs.ts';
export {
  readJson,
  readJsonEach,
  parseJson,
  writeJsonIfAbsent,
  manifestJson,
  MalformedManifestError,
  type JsonParser,
  type MalformedEntry,
} from './json.ts';
export { checkKey, checkPrefix, checkSegment, decodeEventKey, keyProblem } from './keys.ts';
export {
  BLOBS_PREFIX,
  MODELS_PREFIX,
  INCOMING_PREFIX,
  LABELS_PREFIX,
  PREDICTIONS_PREFIX,
  MONITORING_PREFIX,
  SCALE_TMP_PREFIX,
  modelPrefix,
  modelArtifactsPrefix,
} from './layout.ts';
export {
  modelArtifactKey,
  putModelArtifact,
  getModelArtifact,
  findModelArtifact,
  migrateModelArtifacts,
  type MigrationReport,
} from './artifacts.ts';
export { currentWriter, writerGone, type WriterId } from './owner.ts';
export { openLocalFile, checkLocalFile, readLocalFile, localFileStream } from './files.ts';
export { writeFileAtomically, removeStaleTemps } from './temp.ts';
