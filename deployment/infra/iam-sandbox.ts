// Test support: the Lambda roles of a synthesized stack, recreated in a moto_server that enforces IAM
// (pipeline/testing/moto.ts with `iam: true`), so a test can run each handler as its role would.
// Reads whatever the synthesized policies say: a change of scope in the stack is proven here as is.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { MotoServer } from '../../pipeline/testing/moto.ts';
import { policyDocument, type PolicyStatement } from './iam.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A Lambda function of the stack with the statements of its role. */
export interface SynthesizedFunction {
  functionName: string;
  /** The image command, e.g. `predict.handler`. */
  command: string;
  environment: Record<string, string>;
  roleName: string;
  /** Statements on literal resources: what the handler's own calls need. */
  statements: PolicyStatement[];
  /**
   * Statements on other resources of the stack (`${aws_…}` references: its log group, the dead-letter
   * queue). Lambda's service uses them on the function's behalf; a handler never calls them.
   */
  serviceStatements: PolicyStatement[];
  /**
   * The `${aws_cloudwatch_log_group.…}` reference the function logs to, and the on-failure destination of its
   * asynchronous invocations.
   */
  logGroup: string | undefined;
  failureDestination: string | undefined;
}

type Block = Record<string, unknown>;

const REFERENCE = /\$\{[^}]+\}/;
/** The deploying account as a stack refers to it (ARNs it builds before their resource exists). */
const CALLER_ACCOUNT = /\$\{data\.aws_caller_identity\.[^.}]+\.account_id\}/g;

/**
 * Every aws_lambda_function of a synthesized stack with its role's inline policy; with `accountId`, the
 * stack's references to the deploying account read as that account (the sandbox's), so ARNs built from
 * it (the batch state machine's) are literal resources of the handler's own calls.
 */
export function synthesizedFunctions(synthesized: string, opts: { accountId?: string } = {}): SynthesizedFunction[] {
  const text = opts.accountId ? synthesized.replace(CALLER_ACCOUNT, opts.accountId) : synthesized;
  const r = (JSON.parse(text) as { resource?: Record<string, Record<string, Block>> }).resource ?? {};
  const roleId = (ref: unknown) => /^\$\{aws_iam_role\.([^.]+)\.(?:arn|id|name)\}$/.exec(String(ref))?.[1];
  return Object.entries(r.aws_lambda_function ?? {}).map(([name, fn]) => {
    const id = roleId(fn.role);
    const role = id ? r.aws_iam_role?.[id] : undefined;
    if (!id || !role)
      throw new Error(`function ${String(fn.function_name)}: role ${String(fn.role)} is not in this stack`);
    const statements = Object.values(r.aws_iam_role_policy ?? {})
      .filter((p) => roleId(p.role) === id)
      .flatMap((p) => (JSON.parse(String(p.policy)) as { Statement: PolicyStatement[] }).Statement);
    const refersElsewhere = (s: PolicyStatement) => (s.Resource ?? []).some((res) => REFERENCE.test(res));
    const invokeConfig = Object.values(r.aws_lambda_function_event_invoke_config ?? {}).find((c) =>
      String(c.function_name).includes(`aws_lambda_function.${name}.`),
    );
    const onFailure = (invokeConfig?.destination_config as { on_failure?: { destination?: string } } | undefined)
      ?.on_failure;
    return {
      functionName: String(fn.function_name),
      command: String((fn.image_config as { command?: string[] } | undefined)?.command?.[0]),
      environment: (fn.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {},
      roleName: String(role.name),
      statements: statements.filter((s) => !refersElsewhere(s)),
      serviceStatements: statements.filter(refersElsewhere),
      logGroup: (fn.logging_config as { log_group?: string } | undefined)?.log_group,
      failureDestination: onFailure?.destination,
    };
  });
}

/** One action on one resource, under the statement's condition: the unit a least-privilege check removes. */
export interface Grant {
  sid: string;
  action: string;
  resource: string;
  condition?: PolicyStatement['Condition'];
}

export function grantsOf(statements: PolicyStatement[]): Grant[] {
  return statements.flatMap((s) =>
    s.Effect !== 'Allow'
      ? []
      : s.Action.flatMap((action) =>
          (s.Resource ?? ['*']).map((resource) => ({
            sid: s.Sid ?? '',
            action,
            resource,
            ...(s.Condition ? { condition: s.Condition } : {}),
          })),
        ),
  );
}

/** The statements with one grant taken out (each remaining grant its own statement: the same permissions). */
export function withoutGrant(statements: PolicyStatement[], drop: Grant): PolicyStatement[] {
  return grantsOf(statements)
    .filter((g) => !(g.sid === drop.sid && g.action === drop.action && g.resource === drop.resource))
    .map((g) => ({
      Effect: 'Allow',
      Action: [g.action],
      Resource: [g.resource],
      ...(g.condition ? { Condition: g.condition } : {}),
    }));
}

export const grantLabel = (g: Grant): string =>
  `${g.action} on ${g.resource}${g.condition ? ` if ${JSON.stringify(g.condition)}` : ''}`;

const POLICY_NAME = 'synthesized';

/**
 * IAM identities in a moto server started with `iam: true`. Create them before `enforceIam()`:
 * an administrator (for fixtures and checks) and a role per function, assumed at once (moto checks
 * no trust policy before enforcement, and the Lambda service principal is not one it can act as).
 */
export class IamSandbox {
  private readonly iam: IAMClient;
  private readonly sts: STSClient;
  private admin?: IAMClient;

  constructor(private readonly moto: MotoServer) {
    const setup = {
      region: moto.env.AWS_REGION,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'setup', secretAccessKey: 'setup' },
    };
    this.iam = new IAMClient(setup);
    this.sts = new STSClient(setup);
  }

  /** An IAM user allowed everything: the test's own hands. */
  async administrator(): Promise<Credentials> {
    await this.iam.send(new CreateUserCommand({ UserName: 'test-admin' }));
    await this.iam.send(
      new PutUserPolicyCommand({
        UserName: 'test-admin',
        PolicyName: 'everything',
        PolicyDocument: policyDocument([{ Effect: 'Allow', Action: ['*'], Resource: ['*'] }]),
      }),
    );
    const key = (await this.iam.send(new CreateAccessKeyCommand({ UserName: 'test-admin' }))).AccessKey!;
    const credentials = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
    this.admin = new IAMClient({ region: this.moto.env.AWS_REGION, endpoint: this.moto.endpoint, credentials });
    return credentials;
  }

  /** The function's role with its synthesized statements, and a session of it (what Lambda hands the handler). */
  async roleSession(fn: SynthesizedFunction): Promise<Credentials> {
    const role = await this.iam.send(
      new CreateRoleCommand({
        RoleName: fn.roleName,
        AssumeRolePolicyDocument: policyDocument([
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: ['sts:AssumeRole'] },
        ]),
      }),
    );
    await this.setPolicy(fn.roleName, fn.statements, this.iam);
    const c = (
      await this.sts.send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: fn.functionName }))
    ).Credentials!;
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  }

  /** Replaces the role's policy; sessions already issued see the change at their next call, as on AWS. */
  async setPolicy(roleName: string, statements: PolicyStatement[], client = this.admin): Promise<void> {
    if (!client) throw new Error('create the administrator first');
    await client.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: POLICY_NAME,
        PolicyDocument: policyDocument(statements),
      }),
    );
  }

  destroy(): void {
    this.iam.destroy();
    this.sts.destroy();
    this.admin?.destroy();
  }
}
