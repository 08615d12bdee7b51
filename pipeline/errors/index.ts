// Typed errors for the whole toolkit. Each carries a message a user can act on, and the error it was
// raised from as `cause` (the CLI prints it with MLTK_DEBUG);
// exit codes (CLI) and HTTP statuses (handlers) are mapped from `code` in one place each.
import { DETAIL_MAX_CHARS, messageLine, QUOTE_MAX_CHARS } from './quote.ts';

export interface ErrorDetail {
  row?: number;
  field?: string;
  issue: string;
}

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INPUT_INVALID'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INTEGRITY'
  | 'STORE_UNSUPPORTED'
  | 'TRAINING_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'ACCESS_DENIED'
  | 'GATE_FAILED'
  | 'INTERNAL';

/**
 * A detail as an error keeps it: a field named by input (a header, a JSON key) and an issue quoting
 * input stay one escaped, bounded line whatever built them (zod's own messages quote unknown keys whole).
 */
function boundedDetail(d: ErrorDetail): ErrorDetail {
  const field = d.field === undefined ? undefined : messageLine(d.field, QUOTE_MAX_CHARS);
  const issue = messageLine(d.issue, DETAIL_MAX_CHARS);
  return field === d.field && issue === d.issue ? d : { ...d, field, issue };
}

export class MltkError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];
  /** What was done before the failure (e.g. the version a run registered), for the CLI's error document. */
  context?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details.map(boundedDetail);
  }
}

/** A config file (model config, deploy inputs) failed validation. */
export class ConfigError extends MltkError {
  constructor(message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super('CONFIG_INVALID', message, details, options);
  }
}

/** User-supplied data (a CSV, a request body, a CLI argument) is malformed. */
export class InvalidInputError extends MltkError {
  constructor(message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super('INPUT_INVALID', message, details, options);
  }
}

export class NotFoundError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('NOT_FOUND', message, [], options);
  }
}

/** A conditional write lost a race (put-if-absent on an existing key, put-if-match on a stale etag). */
export class ConflictError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFLICT', message, [], options);
  }
}

/** Stored bytes do not match the hash that names them. */
export class IntegrityError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('INTEGRITY', message, [], options);
  }
}

export class UnsupportedStoreError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_UNSUPPORTED', message, [], options);
  }
}

export class TrainingError extends MltkError {
  constructor(message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super('TRAINING_FAILED', message, details, options);
  }
}

export class PayloadTooLargeError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, [], options);
  }
}

/** The caller's credentials may not do what was asked: the message names the action and the resource. */
export class AccessDeniedError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('ACCESS_DENIED', message, [], options);
  }
}

/**
 * A streamed upload failed and its multipart upload could not be aborted either: `cause` is why the
 * upload failed, `abortError` why the abort did; the parts stay stored (and billed) until removed.
 */
export class IncompleteUploadError extends MltkError {
  constructor(
    message: string,
    readonly abortError: unknown,
    options?: ErrorOptions,
  ) {
    super('INTERNAL', message, [], options);
  }
}

/**
 * A trained model failed an absolute limit of its config's `promotion` (max_rmse, min_r2,
 * max_rmse_by_band): it is registered (the run is evidence) but not promoted.
 */
export class GateFailedError extends MltkError {
  constructor(message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super('GATE_FAILED', message, details, options);
  }
}

/** The CLI's exit code for an error: 1 for anything unexpected, a distinct code per class otherwise. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof MltkError)) return 1;
  const codes: Record<ErrorCode, number> = {
    CONFIG_INVALID: 3,
    INPUT_INVALID: 4,
    NOT_FOUND: 5,
    CONFLICT: 6,
    INTEGRITY: 7,
    STORE_UNSUPPORTED: 8,
    TRAINING_FAILED: 9,
    PAYLOAD_TOO_LARGE: 4,
    ACCESS_DENIED: 10,
    GATE_FAILED: 11,
    INTERNAL: 1,
  };
  return codes[err.code];
}

/** Formats zod issues as "path: message" details, the shape every parser in the toolkit reports. */
export function zodDetails(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): ErrorDetail[] {
  return issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join('.') : '(root)',
    issue: i.message,
  }));
}

export {
  quoted,
  quotedList,
  shownValue,
  messageLine,
  QUOTE_MAX_CHARS,
  QUOTE_MAX_ITEMS,
  DETAIL_MAX_CHARS,
  MESSAGE_MAX_CHARS,
} from './quote.ts';
export { fileError } from './files.ts';
