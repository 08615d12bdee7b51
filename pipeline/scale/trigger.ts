// The hand-off of a large object to the state machine: one execution per object version, named by its
// run id (the contract's runIdFor), so a redelivered S3 event cannot start a second one. StartExecution
// with a name and input already running returns that execution; with a name already used by a closed
// execution it answers ExecutionAlreadyExists, which means the object was handed off before: done.
import type { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { AccessDeniedError, ConfigError, zodDetails } from '../errors/index.ts';
import type { HandedOff, LargeObjectRoute, ObjectToHandOff } from '../predict/index.ts';
import { awsRegion } from '../store/index.ts';
import { executionInputSchema, needsShards, runIdFor, type ExecutionInput } from './contract.ts';

type SfnSdk = typeof import('@aws-sdk/client-sfn');
let sdk: Promise<SfnSdk> | undefined;

/** The Step Functions SDK, loaded on the first hand-off: most invocations never need it. */
function sfnSdk(): Promise<SfnSdk> {
  sdk ??= import('@aws-sdk/client-sfn');
  return sdk;
}

export interface ScaleTriggerOptions {
  stateMachineArn: string;
  /** Objects of more bytes than this are handed off (config serving.batch.shard_bytes). */
  shardBytes: number;
  /** A client to use; by default one with the toolkit's region, made on first use. */
  client?: SFNClient;
}

/** The execution a run id names (what StartExecution returned when it started it). */
export const executionArnOf = (stateMachineArn: string, runId: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;

/** The route the predict service takes for objects above `shardBytes`. */
export function scaleTrigger(opts: ScaleTriggerOptions): LargeObjectRoute {
  let client: Promise<SFNClient> | undefined;
  const connect = () => {
    client ??= opts.client
      ? Promise.resolve(opts.client)
      : sfnSdk().then(({ SFNClient }) => new SFNClient({ region: awsRegion() }));
    return client;
  };
  return {
    takes: (size) => needsShards(size, opts.shardBytes),
    async start(object: ObjectToHandOff): Promise<HandedOff> {
      const input: ExecutionInput = executionInputSchema.parse({
        run_id: runIdFor({ bucket: object.bucket, key: object.key, etag: object.etag, version_id: object.versionId }),
        input: {
          bucket: object.bucket,
          key: object.key,
          etag: object.etag.replace(/^"|"$/g, ''),
          ...(object.versionId ? { version_id: object.versionId } : {}),
          size: object.size,
        },
      });
      const [{ StartExecutionCommand }, sfn] = await Promise.all([sfnSdk(), connect()]);
      const handedOff = (executionArn: string, duplicate: boolean): HandedOff => ({
        status: 'sharded',
        input_key: object.key,
        run_id: input.run_id,
        execution_arn: executionArn,
        duplicate,
      });
      try {
        const res = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: opts.stateMachineArn,
            name: input.run_id,
            input: JSON.stringify(input),
          }),
        );
        return handedOff(res.executionArn ?? executionArnOf(opts.stateMachineArn, input.run_id), false);
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'ExecutionAlreadyExists')
          return handedOff(executionArnOf(opts.stateMachineArn, input.run_id), true);
        if (name === 'AccessDeniedException')
          throw new AccessDeniedError(
            `access denied: states:StartExecution on ${opts.stateMachineArn} is not allowed for these credentials ` +
              `(object s3://${object.bucket}/${object.key} not handed off)`,
            { cause: e },
          );
        throw e;
      }
    },
  };
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

const envSchema = z.object({
  MLTK_BATCH_STATE_MACHINE_ARN: z.string().regex(STATE_MACHINE_ARN, 'expected a state machine ARN').optional(),
  MLTK_SHARD_BYTES: z.coerce.number().int().positive().optional(),
});

/**
 * The trigger the stack configures (both variables, set together from the model config), or undefined
 * where the service runs without a state machine (`mltk serve`, tests): there every object is scored here.
 */
export function scaleTriggerFromEnv(env: NodeJS.ProcessEnv = process.env): LargeObjectRoute | undefined {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`prediction service environment is invalid: ${issues}`, zodDetails(parsed.error.issues));
  }
  const { MLTK_BATCH_STATE_MACHINE_ARN: arn, MLTK_SHARD_BYTES: shardBytes } = parsed.data;
  if (arn === undefined && shardBytes === undefined) return undefined;
  if (arn === undefined || shardBytes === undefined)
    throw new ConfigError(
      'prediction service environment is invalid: MLTK_BATCH_STATE_MACHINE_ARN and MLTK_SHARD_BYTES are set together ' +
        `(got only ${arn === undefined ? 'MLTK_SHARD_BYTES' : 'MLTK_BATCH_STATE_MACHINE_ARN'})`,
    );
  return scaleTrigger({ stateMachineArn: arn, shardBytes });
}
