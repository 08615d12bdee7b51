// Amazon States Language as typed values: a state machine definition is built from these constructors
// and serialized once (`definitionJson`), never written as a JSON string by hand. Only what our
// workflows use is modelled: Lambda tasks, Distributed Map over an S3 items file, a linear chain.
import { MAX_BATCH_CONCURRENCY } from '../../pipeline/config/index.ts';

/** A JSONPath into the state's input (or the context object, `$$.…`): `fromPath('$.run_id')`. */
export interface InputPath {
  readonly path: string;
}

export function fromPath(path: string): InputPath {
  if (!/^\$\$?(\.|\[|$)/.test(path)) throw new Error(`internal: "${path}" is not a JSONPath (starts with $ or $$)`);
  return { path };
}

/** A payload template: literal JSON, with `fromPath(...)` where a value comes from the state's input. */
export type Template = InputPath | string | number | boolean | null | Template[] | { [key: string]: Template };

const isPath = (v: Template): v is InputPath =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as InputPath).path === 'string';

/** The ASL form of a template: a field whose value is a path is named `field.$` (ASL's rule). */
export function payloadTemplate(template: { [key: string]: Template }): Record<string, unknown> {
  const render = (v: Template): unknown => {
    if (Array.isArray(v)) return v.map(render);
    if (v !== null && typeof v === 'object' && !isPath(v)) return payloadTemplate(v);
    return v;
  };
  return Object.fromEntries(
    Object.entries(template).map(([key, value]) => (isPath(value) ? [`${key}.$`, value.path] : [key, render(value)])),
  );
}

/** One retrier: errors it matches, and how often and how far apart it retries them. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  /** 0: never retried (a retrier that stops the errors it names from reaching a later catch-all). */
  MaxAttempts: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/** ASL's catch-all error name; must stand alone in the last retrier. */
export const ALL_ERRORS = 'States.ALL';

interface Transition {
  Next?: string;
  End?: true;
}

export interface TaskState extends Transition {
  Type: 'Task';
  Comment?: string;
  Resource: string;
  Parameters: Record<string, unknown>;
  ResultSelector?: Record<string, unknown>;
  OutputPath?: string;
  Retry?: Retrier[];
}

/** Child workflows of a Distributed Map: STANDARD (exactly once, ≤ 1 year, history kept) or EXPRESS (≤ 5 min). */
export type ChildExecutionType = 'STANDARD' | 'EXPRESS';

export interface MapState extends Transition {
  Type: 'Map';
  Comment?: string;
  Label: string;
  ItemReader: { Resource: string; ReaderConfig: { InputType: 'JSON' }; Parameters: Record<string, unknown> };
  ItemProcessor: Workflow & { ProcessorConfig: { Mode: 'DISTRIBUTED'; ExecutionType: ChildExecutionType } };
  MaxConcurrency: number;
  ToleratedFailurePercentage: number;
  /** null: the map's results are dropped and its input passes on unchanged. */
  ResultPath: null;
}

export type State = TaskState | MapState;

/** A state without its transition: `chain` adds Next/End. */
export type Step = Omit<TaskState, 'Next' | 'End'> | Omit<MapState, 'Next' | 'End'>;

export interface Workflow {
  StartAt: string;
  States: Record<string, State>;
}

export interface StateMachineDefinition extends Workflow {
  Comment: string;
}

/** Runs `steps` one after the other, in the order given; the last one ends the workflow. */
export function chain(steps: [name: string, step: Step][]): Workflow {
  if (steps.length === 0) throw new Error('internal: a workflow needs at least one state');
  const names = steps.map(([name]) => name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`internal: state "${duplicate}" is named twice`);
  const States = Object.fromEntries(
    steps.map(([name, step], i) => [
      name,
      { ...step, ...(i < steps.length - 1 ? { Next: names[i + 1] } : { End: true }) },
    ]),
  ) as Record<string, State>;
  return { StartAt: names[0]!, States };
}

/** The optimized Lambda integration: waits for the function and fails with its `errorType`. */
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

/**
 * Invoke a Lambda function synchronously with `payload`; the state's output is the function's return
 * value (the integration wraps it in `Payload`, which OutputPath unwraps), or with `select` only the
 * fields it picks from that wrapper (`fromPath('$.Payload.index')`).
 */
export function lambdaInvoke(props: {
  functionArn: string;
  payload: { [key: string]: Template } | InputPath;
  retry: Retrier[];
  select?: { [key: string]: Template };
  comment?: string;
}): Omit<TaskState, 'Next' | 'End'> {
  checkRetriers(props.retry);
  const payload = isPath(props.payload)
    ? { 'Payload.$': props.payload.path }
    : { Payload: payloadTemplate(props.payload) };
  return {
    Type: 'Task',
    ...(props.comment ? { Comment: props.comment } : {}),
    Resource: LAMBDA_INVOKE,
    Parameters: { FunctionName: props.functionArn, ...payload },
    ...(props.select ? { ResultSelector: payloadTemplate(props.select) } : { OutputPath: '$.Payload' }),
    Retry: props.retry,
  };
}

/** A JSON array in one S3 object, read by the map itself (each element is one item). */
export function s3JsonItems(location: { bucket: InputPath; key: InputPath }): MapState['ItemReader'] {
  return {
    Resource: 'arn:aws:states:::s3:getObject',
    ReaderConfig: { InputType: 'JSON' },
    Parameters: payloadTemplate({ Bucket: location.bucket, Key: location.key }),
  };
}

/**
 * A Distributed Map: one child workflow execution per item of `items`, at most `maxConcurrency` at a
 * time. `toleratedFailurePercentage` 0: one child that fails (after its own retries) fails the map.
 */
export function distributedMap(props: {
  label: string;
  items: MapState['ItemReader'];
  processor: Workflow;
  executionType: ChildExecutionType;
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  comment?: string;
}): Omit<MapState, 'Next' | 'End'> {
  // The label prefixes child execution names (<machine>/<label>:<id>): ASL allows 40 characters, no separators.
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(props.label))
    throw new Error(`internal: map label "${props.label}" must be 1–40 characters of A-Z, a-z, 0-9, "-", "_"`);
  if (
    !Number.isInteger(props.maxConcurrency) ||
    props.maxConcurrency < 1 ||
    props.maxConcurrency > MAX_BATCH_CONCURRENCY
  )
    throw new Error(
      `internal: MaxConcurrency ${props.maxConcurrency} is not an integer in 1..${MAX_BATCH_CONCURRENCY}`,
    );
  return {
    Type: 'Map',
    ...(props.comment ? { Comment: props.comment } : {}),
    Label: props.label,
    ItemReader: props.items,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: props.executionType },
      ...props.processor,
    },
    MaxConcurrency: props.maxConcurrency,
    ToleratedFailurePercentage: props.toleratedFailurePercentage,
    ResultPath: null,
  };
}

/** ASL's rules on retriers that a schema cannot express: States.ALL alone, and in the last one. */
function checkRetriers(retry: Retrier[]): void {
  retry.forEach((r, i) => {
    if (r.ErrorEquals.length === 0) throw new Error('internal: a retrier names at least one error');
    if (r.ErrorEquals.includes(ALL_ERRORS) && (r.ErrorEquals.length > 1 || i !== retry.length - 1))
      throw new Error(`internal: ${ALL_ERRORS} must be alone in the last retrier`);
  });
}

/** The definition as Step Functions takes it. */
export function definitionJson(definition: StateMachineDefinition): string {
  return JSON.stringify(definition);
}
