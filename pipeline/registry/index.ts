export {
  modelVersionSchema, aliasSchema, aliasMoveSchema, signatureSchema, datasetLineageSchema, versionSourceSchema, lossCalibrationSchema,
  type ModelVersion, type Alias, type AliasMove, type Signature, type DatasetLineage, type VersionSource, type LossCalibrationManifest,
} from './manifest.ts';
export {
  registerModelVersion, getModelVersion, listModelVersions, listModelNames, listVersionNumbers,
  migrateRegistryArtifacts, type StoreMigration,
  getAlias, listAliases, aliasHistory, readAliasHistory, getAliasMove, appliedMoves, currentActor, moveAlias, rollbackAlias, resolveModel,
  findEquivalentVersion, checkAlias, type NewModelVersion, type AliasHistory,
} from './registry.ts';
export { copyModelVersion, checkReleasable, COPY_SOURCE_PREFIXES, type CopyOptions, type CopyResult } from './copy.ts';
