// Branch → deploy target. A protected branch is `<model>-<env>`; the models are the
// configs in `configs/`, so a new model needs only its config file to get two branches.

import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../pipeline/errors/index.ts';

export const ENVIRONMENTS = ['dev', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Names of the GitHub secrets (and the env vars the stacks read) that configure one target. */
export interface TargetSecrets {
  ecrUri: string;
  domainName: string;
  dataBucket: string;
  modelBucket: string;
  predictionsBucket: string;
}

export interface DeployTarget {
  branch: string;
  model: string;
  env: Environment;
  /** Branch upper-cased with `-` → `_`: the prefix of every secret name of this target. */
  prefix: string;
  secrets: TargetSecrets;
}

const DEFAULT_CONFIGS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'configs');

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
  return { branch, model, env, prefix, secrets: secretNames(prefix) };
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
