// How every command reports a local file it cannot read (an --input, a config, `data add FILE`): the
// same words and exit code for the same problem, whichever command met it.
import { MltkError } from './index.ts';
import { quoted } from './quote.ts';

/**
 * The error for reading `path` (`what`: "input file", "model config", …) that failed with `e`: missing
 * → not found (exit 5), a directory → bad input (4), no permission → access denied (10), anything
 * else → bad input naming the system's code; `cause` keeps the system error.
 */
export function fileError(e: unknown, path: string, what: string): MltkError {
  if (e instanceof MltkError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const named = `${what} ${quoted(path)}`;
  const cause = { cause: e };
  switch (code) {
    case 'ENOENT':
      return new MltkError('NOT_FOUND', `${named} does not exist`, [], cause);
    case 'ENOTDIR':
      return new MltkError('NOT_FOUND', `${named} does not exist (a folder on its path is a file)`, [], cause);
    case 'EISDIR':
      return new MltkError('INPUT_INVALID', `${named} is a directory, not a file`, [], cause);
    case 'EACCES':
    case 'EPERM':
      return new MltkError('ACCESS_DENIED', `${named} cannot be read: permission denied`, [], cause);
    default:
      return new MltkError(
        'INPUT_INVALID',
        `${named} cannot be read (${code ?? (e as Error)?.message ?? e})`,
        [],
        cause,
      );
  }
}
