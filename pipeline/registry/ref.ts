// The one parser of model references, `NAME`, `NAME@latest`, `NAME@N` (a version, pinned) and
// `NAME@ALIAS` (followed), used by every command, handler and job that names a model.
import { InvalidInputError, quoted } from '../errors/index.ts';

export const MODEL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

export interface ModelRef {
  name: string;
  /** An alias (followed), a version number (pinned), or neither for the latest version. */
  alias?: string;
  version?: number;
}

const EXPECTED = 'expected NAME, NAME@VERSION or NAME@ALIAS, e.g. sap_change@prod';

export function parseModelRef(ref: string): ModelRef {
  const name = modelNameOf(ref);
  const at = ref.indexOf('@');
  const tag = at < 0 ? undefined : ref.slice(at + 1);
  const shown = quoted(ref);
  if (!MODEL_NAME_RE.test(name))
    throw new InvalidInputError(
      `invalid model reference ${shown}: the name has letters, digits and _ only (${EXPECTED})`,
    );
  if (tag === undefined || tag === 'latest') return { name };
  if (/^[1-9]\d*$/.test(tag)) return { name, version: Number(tag) };
  if (!ALIAS_RE.test(tag))
    throw new InvalidInputError(
      `invalid model reference ${shown}: ${quoted(`@${tag}`)} is neither a version nor an alias (${EXPECTED})`,
    );
  return { name, alias: tag };
}

export function formatModelRef(ref: ModelRef): string {
  return `${ref.name}${ref.alias ? `@${ref.alias}` : ref.version ? `@${ref.version}` : ''}`;
}

/** The name part of a reference, unchecked: for labelling a failure (a metric dimension, a log line). */
export function modelNameOf(ref: string): string {
  const at = ref.indexOf('@');
  return at < 0 ? ref : ref.slice(0, at);
}
