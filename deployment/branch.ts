// CLI for the workflows: which target a branch deploys, as KEY=value lines, so no YAML
// repeats the branch → model/env/secret-name rules of targets.ts.

import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModelConfig } from '../pipeline/config/index.ts';
import { InvalidInputError, exitCodeFor } from '../pipeline/errors/index.ts';
import { STACK_SETTINGS, configPath, resolveTarget, servingAlias, type DeployTarget } from './targets.ts';

const USAGE = `Usage: npx tsx deployment/branch.ts <branch> [--github-output]

Prints the deploy target of a protected branch (<model>-<env>) as KEY=value lines:
DEPLOY_TARGET, MODEL, DEPLOY_ENV, PREFIX, SERVING_ALIAS (the alias the target serves
and its deploy moves), the names of its secrets (ECR_URI_SECRET, DOMAIN_NAME_SECRET,
DATA_BUCKET_SECRET, MODEL_BUCKET_SECRET, PREDICTIONS_BUCKET_SECRET; prod also
SOURCE_MODEL_BUCKET_SECRET, dev MODEL_READER_ROLE_ARN_SECRET), and the settings
deployment/export-target-env.sh checks: REQUIRED_SETTINGS and OPTIONAL_SETTINGS.
Exits 3 for a branch that is not a protected one.

  --github-output  also append the lines to $GITHUB_OUTPUT and $GITHUB_ENV`;

/** The KEY=value lines for a target; keys are what the workflows read. */
function targetLines(t: DeployTarget, alias: string): string[] {
  const extra = { ...t.extra.required, ...t.extra.optional };
  const values: Record<string, string> = {
    DEPLOY_TARGET: t.branch,
    MODEL: t.model,
    DEPLOY_ENV: t.env,
    PREFIX: t.prefix,
    SERVING_ALIAS: alias,
    ECR_URI_SECRET: t.secrets.ecrUri,
    DOMAIN_NAME_SECRET: t.secrets.domainName,
    DATA_BUCKET_SECRET: t.secrets.dataBucket,
    MODEL_BUCKET_SECRET: t.secrets.modelBucket,
    PREDICTIONS_BUCKET_SECRET: t.secrets.predictionsBucket,
    ...Object.fromEntries(Object.entries(extra).map(([name, secret]) => [`${name}_SECRET`, secret])),
    REQUIRED_SETTINGS: [...STACK_SETTINGS, ...Object.keys(t.extra.required)].join(' '),
    OPTIONAL_SETTINGS: Object.keys(t.extra.optional).join(' '),
  };
  return Object.entries(values).map(([k, v]) => `${k}=${v}`);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'github-output': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1) {
    throw new InvalidInputError(`Expected exactly one branch name, got ${positionals.length}.\n${USAGE}`);
  }
  const target = resolveTarget(positionals[0]!);
  const files = values['github-output'] ? githubFiles() : [];
  const alias = servingAlias(target, await loadModelConfig(configPath(target.model)));
  const text = `${targetLines(target, alias).join('\n')}\n`;
  process.stdout.write(text);
  for (const file of files) appendFileSync(file, text);
}

/** The files GitHub Actions reads step outputs and job env from. */
function githubFiles(): string[] {
  const files = [process.env.GITHUB_OUTPUT, process.env.GITHUB_ENV].filter((f): f is string => !!f);
  if (files.length === 0) {
    throw new InvalidInputError('--github-output needs $GITHUB_OUTPUT or $GITHUB_ENV (set by GitHub Actions).');
  }
  return files;
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  console.error(`branch: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = exitCodeFor(err);
}
