// Option parsers shared by commands: a bad flag value is a one-line error naming the flag.
import { InvalidArgumentError } from 'commander';

export function intOption(flag: string, min = 1): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} expects a whole number ≥ ${min}, got "${v}"`);
    return n;
  };
}
