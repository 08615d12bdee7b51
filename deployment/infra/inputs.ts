// Deploy inputs of one target, parsed once at the edge: the five `{prefix}_*` secrets,
// IMAGE_TAG, the state bucket and the region. Everything past this module trusts the types.
import { z } from 'zod';
import { ConfigError, type ErrorDetail } from '../../pipeline/errors/index.ts';
import type { DeployTarget } from '../targets.ts';

export interface EcrImage {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>`, without a tag. */
  uri: string;
  account: string;
  region: string;
  repository: string;
}

export interface TargetBuckets {
  data: string;
  model: string;
  predictions: string;
}

export interface DeployInputs {
  ecr: EcrImage;
  /** The API's custom domain, e.g. `api.dev.mltk.example.com`. */
  domainName: string;
  /** The Route 53 public zone that holds it: the domain minus its first label. */
  hostedZone: string;
  buckets: TargetBuckets;
  imageTag: string;
  /**
   * dev only, optional: the prod deploy role's ARN. The dev model bucket's policy grants it read-only
   * access to the registry, so a prod release can copy the dev-validated model (also across accounts).
   */
  modelReaderRoleArn?: string;
}

/** Where every stack keeps its Terraform state (S3 backend with S3-native locking). */
export interface StateSettings {
  bucket: string;
  region: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_REGION = 'eu-west-2';
export const EXAMPLE_STATE_BUCKET = 'mltk-terraform-state-example';
export const EXAMPLE_IMAGE_TAG = 'example';
const EXAMPLE_ACCOUNTS = { dev: '111111111111', prod: '222222222222' } as const;
const EXAMPLE_DOMAINS = { dev: 'api.dev.mltk.example.com', prod: 'api.mltk.example.com' } as const;
const EXAMPLE_PROD_DEPLOY_ROLE = `arn:aws:iam::${EXAMPLE_ACCOUNTS.prod}:role/mltk-deploy-prod`;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// ECR's own repository-name grammar; the tag is not part of the URI, it comes from IMAGE_TAG.
const ECR_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// IAM's role ARN grammar (partition aws, aws-cn or aws-us-gov; an optional path).
const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

const ecrUri = z.string().transform((uri, ctx): EcrImage => {
  const m = ECR_URI.exec(uri);
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message:
        'expected <12-digit account>.dkr.ecr.<region>.amazonaws.com/<repository> (lower-case repository, no :tag)',
    });
    return z.NEVER;
  }
  return { uri, account: m[1]!, region: m[2]!, repository: m[3]! };
});

/** S3's general-purpose bucket naming rules. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3-63 characters';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'only lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'must not start with xn--, sthree- or amzn-s3-demo-';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name))
    return 'must not end with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)';
  return undefined;
}

const bucketName = z.string().superRefine((name, ctx) => {
  const problem = bucketNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: `not a valid S3 bucket name: ${problem}` });
});

const domainName = z.string().transform((raw, ctx) => {
  const name = raw.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (
    name.length > 253 ||
    labels.length < 3 ||
    !labels.every((l) => DNS_LABEL.test(l)) ||
    /^\d+$/.test(labels.at(-1)!)
  ) {
    ctx.addIssue({
      code: 'custom',
      message:
        'expected a DNS name below a Route 53 zone, e.g. api.example.com (letters, digits, hyphens; at least ' +
        'three labels)',
    });
    return z.NEVER;
  }
  return name;
});

const deployEnvSchema = z.object({
  ecrUri: ecrUri,
  domainName: domainName,
  dataBucket: bucketName,
  modelBucket: bucketName,
  predictionsBucket: bucketName,
  imageTag: z
    .string()
    .regex(IMAGE_TAG, 'expected a Docker tag (letters, digits, _ . -; at most 128; e.g. the git SHA)'),
  stateBucket: bucketName,
  region: z.string().regex(REGION, 'expected an AWS region such as eu-west-2'),
});

/**
 * Reads one target's inputs from the environment. Every missing or malformed variable is
 * reported in ONE ConfigError (details name the variables); values are never echoed, they are secrets.
 */
export function parseDeployInputs(target: DeployTarget, env: Env): { inputs: DeployInputs; state: StateSettings } {
  const names = {
    ...target.secrets,
    imageTag: 'IMAGE_TAG',
    stateBucket: 'MLTK_STATE_BUCKET',
    region: 'AWS_REGION',
  } satisfies Record<keyof z.input<typeof deployEnvSchema>, string>;
  const raw = Object.fromEntries(
    Object.entries(names).map(([key, name]) => {
      const value = env[name]?.trim();
      return [key, value ? value : key === 'region' ? DEFAULT_REGION : undefined];
    }),
  );

  const details: ErrorDetail[] = [];
  const parsed = deployEnvSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]) as keyof typeof names;
      details.push({ field: names[key], issue: raw[key] === undefined ? 'missing' : issue.message });
    }
  } else {
    const v = parsed.data;
    if (v.ecrUri.region !== v.region) {
      details.push({
        field: names.ecrUri,
        issue: `the repository's region must be AWS_REGION (${v.region}): Lambda pulls images from its own region only`,
      });
    }
    const seen = new Map<string, string>();
    for (const key of ['dataBucket', 'modelBucket', 'predictionsBucket'] as const) {
      const other = seen.get(v[key]);
      if (other) details.push({ field: names[key], issue: `must differ from ${other}: each bucket has one role` });
      seen.set(v[key], names[key]);
    }
  }
  const readerName = target.extra.optional.MODEL_READER_ROLE_ARN;
  const reader = readerName ? env[readerName]?.trim() || undefined : undefined;
  if (readerName && reader && !ROLE_ARN.test(reader)) {
    details.push({ field: readerName, issue: 'expected an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>' });
  }
  if (details.length) {
    const lines = details.map((d) => `  - ${d.field}: ${d.issue}`).join('\n');
    throw new ConfigError(
      `DEPLOY_TARGET=${target.branch}: ${details.length} deploy input(s) missing or malformed:\n${lines}\n` +
        `Set them as repository secrets named ${target.prefix}_* (see README, "Deployment").`,
      details,
    );
  }
  const v = parsed.data!;
  return {
    inputs: {
      ecr: v.ecrUri,
      domainName: v.domainName,
      hostedZone: v.domainName.split('.').slice(1).join('.'),
      buckets: { data: v.dataBucket, model: v.modelBucket, predictions: v.predictionsBucket },
      imageTag: v.imageTag,
      ...(reader ? { modelReaderRoleArn: reader } : {}),
    },
    state: { bucket: v.stateBucket, region: v.region },
  };
}

/** The documented example inputs of a target, so anyone can synthesize and review every plan without secrets. */
export function exampleEnv(target: DeployTarget, region: string = DEFAULT_REGION): Record<string, string> {
  const bucket = (role: string) => `mltk-${target.model.replaceAll('_', '-')}-${target.env}-${role}`;
  const reader = target.extra.optional.MODEL_READER_ROLE_ARN;
  return {
    [target.secrets.ecrUri]: `${EXAMPLE_ACCOUNTS[target.env]}.dkr.ecr.${region}.amazonaws.com/mltk/${target.branch}`,
    [target.secrets.domainName]: EXAMPLE_DOMAINS[target.env],
    [target.secrets.dataBucket]: bucket('data'),
    [target.secrets.modelBucket]: bucket('models'),
    [target.secrets.predictionsBucket]: bucket('predictions'),
    // The example dev targets grant the example prod deploy role, so the synthesized plan shows the grant.
    ...(reader ? { [reader]: EXAMPLE_PROD_DEPLOY_ROLE } : {}),
  };
}
