// The serving errors the shared error module lacks, and the one place any error becomes an
// HTTP status: client mistakes are 4xx, a model that cannot be loaded 503, anything else 500.
import { messageLine, MltkError, NotFoundError, type ErrorDetail } from '../errors/index.ts';

export class MethodNotAllowedError extends MltkError {
  constructor(
    readonly allow: readonly string[],
    message: string,
  ) {
    super('INPUT_INVALID', message);
  }
}

export class RouteNotFoundError extends NotFoundError {}

/** No session can serve: the first load failed (missing alias, corrupt blob, bad graph). */
export class ModelUnavailableError extends MltkError {
  constructor(
    message: string,
    readonly reason: unknown,
  ) {
    super('INTERNAL', message);
  }
}

export interface HttpError {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; details: ErrorDetail[] } };
}

/** Details kept in a response: enough to fix a request, bounded so a 10k-row mistake stays small. */
export const MAX_DETAILS = 100;

export function httpError(e: unknown): HttpError {
  const of = (
    status: number,
    code: string,
    message: string,
    details: ErrorDetail[] = [],
    headers: Record<string, string> = {},
  ): HttpError => ({
    status,
    headers,
    body: { error: { code, message: messageLine(message), details: details.slice(0, MAX_DETAILS) } },
  });
  if (e instanceof MethodNotAllowedError)
    return of(405, 'METHOD_NOT_ALLOWED', e.message, [], { allow: e.allow.join(', ') });
  if (e instanceof RouteNotFoundError) return of(404, 'NOT_FOUND', e.message);
  if (e instanceof ModelUnavailableError) return of(503, 'MODEL_UNAVAILABLE', e.message);
  if (e instanceof MltkError) {
    switch (e.code) {
      case 'INPUT_INVALID':
        return of(400, e.code, e.message, e.details);
      case 'PAYLOAD_TOO_LARGE':
        return of(413, e.code, e.message);
      default:
        break;
    }
  }
  // Anything else is ours, not the client's: no internals in the answer (they are in the log).
  return of(500, 'INTERNAL', 'internal error');
}
