// Security rules checked on a synthesized stack, the way checkov or tfsec would check the plan:
// every bucket private, encrypted, versioned, TLS-only and owner-enforced; ECR tags immutable;
// no wildcard IAM action or resource, and code run (a function invoked, an execution started) named
// exactly; every log group with retention; API stages throttled and access-logged; every Lambda with an
// on-failure destination; every state machine logging to a group of the stack. Pure: JSON in, findings out.

export type SecurityRule =
  | 'S3_PUBLIC'
  | 'S3_ENCRYPTION'
  | 'S3_VERSIONING'
  | 'S3_TLS_ONLY'
  | 'S3_OWNERSHIP'
  | 'ECR_MUTABLE_TAGS'
  | 'ECR_SCAN_ON_PUSH'
  | 'IAM_WILDCARD_ACTION'
  | 'IAM_WILDCARD_RESOURCE'
  | 'IAM_BROAD_INVOKE'
  | 'LOG_RETENTION'
  | 'API_THROTTLING'
  | 'API_ACCESS_LOGS'
  | 'LAMBDA_ON_FAILURE'
  | 'SFN_LOGGING'
  | 'SQS_ENCRYPTION';

export interface Finding {
  rule: SecurityRule;
  /** `<type>.<name>` of the offending resource. */
  resource: string;
  message: string;
}

type Block = Record<string, unknown>;
type Resources = Record<string, Record<string, Block>>;

/**
 * Actions AWS authorizes only on `Resource: "*"` (no resource-level permissions). Allowed on `*`
 * when the statement carries the condition that scopes them (PutMetricData: `cloudwatch:namespace`);
 * `null`: AWS offers neither a resource nor a condition key to scope them, so `*` alone is their least
 * privilege (CloudWatch Logs' log-delivery API, which Step Functions logging needs on its role).
 */
const RESOURCELESS_ACTIONS: Record<string, string | null> = {
  'cloudwatch:putmetricdata': 'cloudwatch:namespace',
  'logs:createlogdelivery': null,
  'logs:getlogdelivery': null,
  'logs:updatelogdelivery': null,
  'logs:deletelogdelivery': null,
  'logs:listlogdeliveries': null,
  'logs:putresourcepolicy': null,
  'logs:describeresourcepolicies': null,
  'logs:describeloggroups': null,
};

/** Actions that run code: a role may do them only on resources it names exactly. */
const RUNS_CODE = ['lambda:invokefunction', 'states:startexecution', 'states:startsyncexecution'];

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const first = (v: unknown): Block | undefined => asArray(v as Block | Block[] | undefined)[0];

/** Does `value` (an attribute of another resource) point at resource `type.name` or at its literal `literal`? */
function refersTo(value: unknown, type: string, name: string, literal?: unknown): boolean {
  if (literal !== undefined && value === literal) return true;
  return typeof value === 'string' && value.includes(`${type}.${name}.`);
}

interface Statement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

function statementsOf(policy: unknown): Statement[] | undefined {
  if (typeof policy !== 'string') return undefined;
  try {
    return asArray((JSON.parse(policy) as { Statement?: Statement | Statement[] }).Statement);
  } catch {
    return undefined;
  }
}

function conditionKeys(s: Statement): string[] {
  return Object.values(s.Condition ?? {}).flatMap((byKey) => Object.keys(byKey).map((k) => k.toLowerCase()));
}

function checkIamStatements(resource: string, statements: Statement[] | undefined, findings: Finding[]): void {
  if (!statements) {
    findings.push({
      rule: 'IAM_WILDCARD_ACTION',
      resource,
      message: 'policy is not a literal JSON document; cannot prove it is least-privilege',
    });
    return;
  }
  for (const s of statements) {
    if (s.Effect !== 'Allow') continue;
    const actions = asArray(s.Action).map((a) => a.toLowerCase());
    if (s.NotAction !== undefined || actions.some((a) => a.includes('*'))) {
      findings.push({
        rule: 'IAM_WILDCARD_ACTION',
        resource,
        message: `allows wildcard actions: ${JSON.stringify(s.NotAction ?? s.Action)}`,
      });
    }
    const runsCode = actions.filter((a) => RUNS_CODE.includes(a));
    const patterns = asArray(s.Resource).filter((r) => r.includes('*'));
    if (runsCode.length > 0 && patterns.length > 0)
      findings.push({
        rule: 'IAM_BROAD_INVOKE',
        resource,
        message: `allows ${runsCode.join(', ')} on a pattern (${patterns.join(', ')}): name the function or machine`,
      });
    const wildcardResource = s.NotResource !== undefined || asArray(s.Resource).includes('*');
    if (!wildcardResource) continue;
    const keys = conditionKeys(s);
    const justified =
      actions.length > 0 &&
      actions.every((a) => {
        const scope = RESOURCELESS_ACTIONS[a];
        return scope === null || (scope !== undefined && keys.includes(scope));
      });
    if (!justified)
      findings.push({
        rule: 'IAM_WILDCARD_RESOURCE',
        resource,
        message: `allows ${actions.join(', ')} on Resource "*"`,
      });
  }
}

function isPublicPrincipal(p: unknown): boolean {
  if (p === '*') return true;
  return (
    typeof p === 'object' &&
    p !== null &&
    asArray((p as Record<string, unknown>).AWS as string | string[] | undefined).includes('*')
  );
}

function deniesInsecureTransport(statements: Statement[] | undefined): boolean {
  return (statements ?? []).some(
    (s) =>
      s.Effect === 'Deny' &&
      String(s.Condition?.Bool?.['aws:SecureTransport'] ?? '') === 'false' &&
      asArray(s.Action).some((a) => a === 's3:*'),
  );
}

function checkBuckets(r: Resources, findings: Finding[]): void {
  const related = (type: string, name: string, literal: unknown) =>
    Object.values(r[type] ?? {}).filter((b) => refersTo(b.bucket, 'aws_s3_bucket', name, literal));
  for (const [name, bucket] of Object.entries(r.aws_s3_bucket ?? {})) {
    const id = `aws_s3_bucket.${name}`;
    const literal = bucket.bucket;
    if (typeof bucket.acl === 'string' && bucket.acl.startsWith('public'))
      findings.push({ rule: 'S3_PUBLIC', resource: id, message: `ACL ${bucket.acl}` });
    const blocked = related('aws_s3_bucket_public_access_block', name, literal).some(
      (b) =>
        b.block_public_acls === true &&
        b.block_public_policy === true &&
        b.ignore_public_acls === true &&
        b.restrict_public_buckets === true,
    );
    if (!blocked)
      findings.push({ rule: 'S3_PUBLIC', resource: id, message: 'no public access block with all four settings true' });
    const encrypted = related('aws_s3_bucket_server_side_encryption_configuration', name, literal).some((b) =>
      asArray(b.rule as Block[]).some((rule) =>
        ['AES256', 'aws:kms', 'aws:kms:dsse'].includes(
          String(first(rule.apply_server_side_encryption_by_default)?.sse_algorithm),
        ),
      ),
    );
    if (!encrypted)
      findings.push({ rule: 'S3_ENCRYPTION', resource: id, message: 'no default server-side encryption' });
    const versioned = related('aws_s3_bucket_versioning', name, literal).some(
      (b) => first(b.versioning_configuration)?.status === 'Enabled',
    );
    if (!versioned) findings.push({ rule: 'S3_VERSIONING', resource: id, message: 'versioning not enabled' });
    const owned = related('aws_s3_bucket_ownership_controls', name, literal).some(
      (b) => first(b.rule)?.object_ownership === 'BucketOwnerEnforced',
    );
    if (!owned)
      findings.push({
        rule: 'S3_OWNERSHIP',
        resource: id,
        message: 'object ownership is not BucketOwnerEnforced (ACLs still apply)',
      });
    const policies = related('aws_s3_bucket_policy', name, literal).map((b) => statementsOf(b.policy));
    if (!policies.some(deniesInsecureTransport))
      findings.push({
        rule: 'S3_TLS_ONLY',
        resource: id,
        message: 'no bucket policy denying aws:SecureTransport=false',
      });
    for (const s of policies.flatMap((p) => p ?? [])) {
      if (s.Effect === 'Allow' && isPublicPrincipal(s.Principal) && !s.Condition)
        findings.push({ rule: 'S3_PUBLIC', resource: id, message: 'bucket policy allows Principal "*"' });
    }
  }
}

function checkFunctions(r: Resources, findings: Finding[]): void {
  const logGroups = Object.entries(r.aws_cloudwatch_log_group ?? {});
  for (const [name, fn] of Object.entries(r.aws_lambda_function ?? {})) {
    const id = `aws_lambda_function.${name}`;
    const hasDestination = Object.values(r.aws_lambda_function_event_invoke_config ?? {}).some(
      (c) =>
        refersTo(c.function_name, 'aws_lambda_function', name, fn.function_name) &&
        Boolean(first(first(c.destination_config)?.on_failure)?.destination),
    );
    if (!hasDestination && !first(fn.dead_letter_config)?.target_arn) {
      findings.push({
        rule: 'LAMBDA_ON_FAILURE',
        resource: id,
        message: 'no on-failure destination or dead-letter queue for asynchronous invocations',
      });
    }
    const target = first(fn.logging_config)?.log_group;
    const ownGroup = logGroups.some(
      ([groupName, g]) =>
        (target !== undefined && refersTo(target, 'aws_cloudwatch_log_group', groupName, g.name)) ||
        (target === undefined && g.name === `/aws/lambda/${String(fn.function_name)}`),
    );
    if (!ownGroup)
      findings.push({
        rule: 'LOG_RETENTION',
        resource: id,
        message: 'logs go to a log group this stack does not declare (auto-created, kept forever)',
      });
  }
}

function checkStateMachines(r: Resources, findings: Finding[]): void {
  const groups = Object.entries(r.aws_cloudwatch_log_group ?? {});
  for (const [name, machine] of Object.entries(r.aws_sfn_state_machine ?? {})) {
    const logging = first(machine.logging_configuration);
    const destination = logging?.log_destination;
    const declared = groups.some(([groupName]) => refersTo(destination, 'aws_cloudwatch_log_group', groupName));
    if (!logging || logging.level === undefined || logging.level === 'OFF' || !declared)
      findings.push({
        rule: 'SFN_LOGGING',
        resource: `aws_sfn_state_machine.${name}`,
        message: 'no execution logging to a log group this stack declares (with its retention)',
      });
  }
}

/** Every finding on one synthesized stack (the JSON `Testing.synth` or `cdktf synth` produces). */
export function checkStack(synthesized: string | Block): Finding[] {
  const config = (typeof synthesized === 'string' ? JSON.parse(synthesized) : synthesized) as { resource?: Resources };
  const r = config.resource ?? {};
  const findings: Finding[] = [];
  checkBuckets(r, findings);
  for (const [name, repo] of Object.entries(r.aws_ecr_repository ?? {})) {
    if (repo.image_tag_mutability !== 'IMMUTABLE')
      findings.push({
        rule: 'ECR_MUTABLE_TAGS',
        resource: `aws_ecr_repository.${name}`,
        message: 'image tags are mutable',
      });
    if (first(repo.image_scanning_configuration)?.scan_on_push !== true)
      findings.push({
        rule: 'ECR_SCAN_ON_PUSH',
        resource: `aws_ecr_repository.${name}`,
        message: 'images are not scanned on push',
      });
  }
  for (const type of ['aws_iam_role_policy', 'aws_iam_policy'] as const) {
    for (const [name, p] of Object.entries(r[type] ?? {}))
      checkIamStatements(`${type}.${name}`, statementsOf(p.policy), findings);
  }
  for (const [name, role] of Object.entries(r.aws_iam_role ?? {})) {
    for (const inline of asArray(role.inline_policy as Block[] | undefined))
      checkIamStatements(`aws_iam_role.${name}`, statementsOf(inline.policy), findings);
  }
  for (const [name, g] of Object.entries(r.aws_cloudwatch_log_group ?? {})) {
    if (!(typeof g.retention_in_days === 'number' && g.retention_in_days > 0)) {
      findings.push({
        rule: 'LOG_RETENTION',
        resource: `aws_cloudwatch_log_group.${name}`,
        message: 'no retention: logs are kept forever',
      });
    }
  }
  for (const [name, stage] of Object.entries(r.aws_apigatewayv2_stage ?? {})) {
    const id = `aws_apigatewayv2_stage.${name}`;
    const settings = first(stage.default_route_settings);
    if (!(Number(settings?.throttling_burst_limit) > 0 && Number(settings?.throttling_rate_limit) > 0)) {
      findings.push({ rule: 'API_THROTTLING', resource: id, message: 'no default throttling (burst and rate limits)' });
    }
    if (!first(stage.access_log_settings)?.destination_arn)
      findings.push({ rule: 'API_ACCESS_LOGS', resource: id, message: 'no access logs' });
  }
  checkFunctions(r, findings);
  checkStateMachines(r, findings);
  for (const [name, q] of Object.entries(r.aws_sqs_queue ?? {})) {
    if (q.sqs_managed_sse_enabled !== true && !q.kms_master_key_id)
      findings.push({ rule: 'SQS_ENCRYPTION', resource: `aws_sqs_queue.${name}`, message: 'queue is not encrypted' });
  }
  return findings;
}

export function formatFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.rule} ${f.resource}: ${f.message}`).join('\n');
}
