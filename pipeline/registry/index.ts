export { modelVersionSchema, aliasSchema, aliasMoveSchema, signatureSchema, type ModelVersion, type Alias, type AliasMove, type Signature } from './manifest.ts';
export {
  registerModelVersion, getModelVersion, listModelVersions, listModelNames, listVersionNumbers,
  getAlias, listAliases, aliasHistory, readAliasHistory, moveAlias, rollbackAlias, resolveModel,
  type NewModelVersion, type AliasHistory,
} from './registry.ts';
