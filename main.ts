// The CDKTF app: which stacks exist for which branch. With DEPLOY_TARGET=<model>-<env> it
// synthesizes that target from its `{prefix}_*` secrets; without, every target from the
// documented example values, so anyone (and CI) can review every plan's input without secrets.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { App } from 'cdktf';
import { loadModelConfig } from './pipeline/config/index.ts';
import { ConfigError, exitCodeFor, MltkError } from './pipeline/errors/index.ts';
import { allTargets, listModels, resolveTarget, type DeployTarget } from './deployment/targets.ts';
import {
  DEFAULT_REGION,
  EXAMPLE_IMAGE_TAG,
  EXAMPLE_STATE_BUCKET,
  exampleEnv,
  parseDeployInputs,
  type DeployInputs,
  type Env,
  type StateSettings,
} from './deployment/infra/inputs.ts';
import { BaseStack, DomainStack, ServiceStack, stackNames } from './deployment/infra/stacks.ts';

export { stackNames };

const REPO_ROOT = dirname(fileURLToPath(import.meta.url));

export interface TargetStacks {
  target: DeployTarget;
  inputs: DeployInputs;
  domain: DomainStack;
  base: BaseStack;
  service: ServiceStack;
}

export interface BuildOptions {
  app?: App;
  configsDir?: string;
}

interface Planned {
  target: DeployTarget;
  inputs: DeployInputs;
  state: StateSettings;
}

/** Which targets this run synthesizes, with their parsed inputs. */
function plan(env: Env, models: string[]): Planned[] {
  const branch = env.DEPLOY_TARGET?.trim();
  if (branch) {
    const target = resolveTarget(branch, models);
    return [{ target, ...parseDeployInputs(target, env) }];
  }
  const region = env.AWS_REGION?.trim() || DEFAULT_REGION;
  return allTargets(models).map((target) => ({
    target,
    ...parseDeployInputs(target, {
      ...exampleEnv(target, region),
      IMAGE_TAG: EXAMPLE_IMAGE_TAG,
      MLTK_STATE_BUCKET: env.MLTK_STATE_BUCKET?.trim() || EXAMPLE_STATE_BUCKET,
      AWS_REGION: region,
    }),
  }));
}

/** Adds every stack of the selected target(s) to the app; throws ConfigError on bad inputs. */
export async function buildApp(env: Env, options: BuildOptions = {}): Promise<{ app: App; targets: TargetStacks[] }> {
  const configsDir = options.configsDir ?? join(REPO_ROOT, 'configs');
  const planned = plan(env, listModels(configsDir));
  const app = options.app ?? new App();
  const domains = new Map<string, { stack: DomainStack; domainName: string }>();
  const targets: TargetStacks[] = [];
  for (const { target, inputs, state } of planned) {
    const config = await loadModelConfig(join(configsDir, `${target.model}.json`));
    const names = stackNames(target);
    let domain = domains.get(names.domain);
    if (!domain) {
      domain = {
        domainName: inputs.domainName,
        stack: new DomainStack(app, names.domain, {
          env: target.env,
          domainName: inputs.domainName,
          hostedZone: inputs.hostedZone,
          state,
        }),
      };
      domains.set(names.domain, domain);
    } else if (domain.domainName !== inputs.domainName) {
      throw new ConfigError(
        `${target.branch}: every ${target.env} model must share one domain (${domain.domainName}), got ` +
          `${inputs.domainName}`,
      );
    }
    targets.push({
      target,
      inputs,
      domain: domain.stack,
      base: new BaseStack(app, names.base, { target, inputs, state }),
      service: new ServiceStack(app, names.service, { target, inputs, state, config }),
    });
  }
  return { app, targets };
}

async function main(): Promise<void> {
  try {
    const { app } = await buildApp(process.env);
    app.synth();
  } catch (err) {
    if (!(err instanceof MltkError)) throw err;
    console.error(err.message);
    process.exit(exitCodeFor(err));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
