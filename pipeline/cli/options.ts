// Option parsers shared by commands: a bad flag value is a one-line error naming the flag.
import { InvalidArgumentError } from 'commander';
import { quoted } from '../errors/index.ts';

export function intOption(flag: string, min = 1): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${flag} expects a whole number ≥ ${min}, got ${quoted(v)}`);
    return n;
  };
}

/** --scorer: `auto` serves with the fast evaluator where it is proven equal to ONNX Runtime; `onnxruntime` never does. */
const SCORERS = ['auto', 'onnxruntime'] as const;
export type ScorerChoice = (typeof SCORERS)[number];

export function scorerOption(v: string): ScorerChoice {
  if (!(SCORERS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`--scorer expects ${SCORERS.join(' or ')}, got ${quoted(v)}`);
  return v as ScorerChoice;
}
