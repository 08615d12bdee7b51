export { modelVersionSchema, aliasSchema, aliasMoveSchema, signatureSchema, type ModelVersion, type Alias, type AliasMove, type Signature } from './manifest.ts';
export {
  registerModelVersion, getModelVersion, listModelVersions, listModelNames, listVersionNumbers,
  getAlias, listAliases, aliasHistory, moveAlias, rollbackAlias, resolveModel, type NewModelVersion,
} from './registry.ts';
