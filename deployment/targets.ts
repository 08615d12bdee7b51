// Branch → deploy target. A protected branch is `<model>-<env>`; the models are the
// configs in `configs/`, so a new model needs only its config file to get two branches.

import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../pipeline/config/index.ts';
import { ConfigError } from '../pipeline/errors/index.ts';

const ENVIRONMENTS = ['dev', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Names of the GitHub secrets (and the env vars the stacks read) that configure one target. */
export interface TargetSecrets {
  ecrUri: string;
  domainName: string;
  dataBucket: string;
  modelBucket: string;
  predictionsBucket: string;
}

/** A target's settings beyond the stacks' five: what the deploy workflow needs for its environment. */
export interface TargetExtraSettings {
  /** Required, setting → secret name (prod: `<prefix>_SOURCE_MODEL_BUCKET`, the dev bucket a release copies from). */
  required: Record<string, string>;
  /** Used when set (dev: `<prefix>_MODEL_READER_ROLE_ARN`, the prod deploy role, granted read-only on the models). */
  optional: Record<string, string>;
}

export interface DeployTarget {
  branch: string;
  model: string;
  env: Environment;
  /** Branch upper-cased with `-` → `_`: the prefix of every secret name of this target. */
  prefix: string;
  secrets: TargetSecrets;
  extra: TargetExtraSettings;
}

/** The five settings every target's stacks read, by their unprefixed names (`<prefix>_<NAME>` secrets). */
export const STACK_SETTINGS = ['ECR_URI', 'DOMAIN_NAME', 'DATA_BUCKET', 'MODEL_BUCKET', 'PREDICTIONS_BUCKET'] as const;

/** Settings by environment: a prod release copies from the dev bucket; a dev bucket may grant the prod role. */
const EXTRA_SETTINGS: Record<Environment, { required: string[]; optional: string[] }> = {
  dev: { required: [], optional: ['MODEL_READER_ROLE_ARN'] },
  prod: { required: ['SOURCE_MODEL_BUCKET'], optional: [] },
};

const DEFAULT_CONFIGS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'configs');

/** The config file of a model. */
export function configPath(model: string, configsDir: string = DEFAULT_CONFIGS_DIR): string {
  return join(configsDir, `${model}.json`);
}

/** Model names, one per `configs/<name>.json`, sorted. */
export function listModels(configsDir: string = DEFAULT_CONFIGS_DIR): string[] {
  return readdirSync(configsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

function secretNames(prefix: string): TargetSecrets {
  return {
    ecrUri: `${prefix}_ECR_URI`,
    domainName: `${prefix}_DOMAIN_NAME`,
    dataBucket: `${prefix}_DATA_BUCKET`,
    modelBucket: `${prefix}_MODEL_BUCKET`,
    predictionsBucket: `${prefix}_PREDICTIONS_BUCKET`,
  };
}

function target(model: string, env: Environment): DeployTarget {
  const branch = `${model}-${env}`;
  const prefix = branch.toUpperCase().replaceAll('-', '_');
  const named = (names: string[]) => Object.fromEntries(names.map((n) => [n, `${prefix}_${n}`]));
  const extra = { required: named(EXTRA_SETTINGS[env].required), optional: named(EXTRA_SETTINGS[env].optional) };
  return { branch, model, env, prefix, secrets: secretNames(prefix), extra };
}

/** Every protected branch's target: each model × each environment. */
export function allTargets(models: string[] = listModels()): DeployTarget[] {
  return models.flatMap((model) => ENVIRONMENTS.map((env) => target(model, env)));
}

/** The target a protected branch deploys to; any other branch is a ConfigError naming the valid ones. */
export function resolveTarget(branch: string, models: string[] = listModels()): DeployTarget {
  const targets = allTargets(models);
  const found = targets.find((t) => t.branch === branch);
  if (found) return found;
  throw new ConfigError(
    `Branch "${branch}" is not a protected deploy branch. ` +
      `Expected <model>-<env> with model in configs/ and env in {${ENVIRONMENTS.join(', ')}}: ` +
      targets.map((t) => t.branch).join(', '),
  );
}

/**
 * The alias a target serves, and so the one its deploy moves: dev serves `dev` (a model bucket shared by
 * mistake can never make dev serve prod's model), prod the config's `serving.alias`.
 */
export function servingAlias(target: Pick<DeployTarget, 'env'>, config: Pick<ModelConfig, 'serving'>): string {
  return target.env === 'prod' ? config.serving.alias : 'dev';
}
