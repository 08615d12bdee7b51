// What every command shares: the store, the --json switch, and one place that turns
// errors into a one-line reason and an exit code.
import { appendFileSync } from 'node:fs';
import type { Command } from 'commander';
import { exitCodeFor, messageLine, MltkError } from '../errors/index.ts';
import { openStore, storeUrl, type ObjectStore } from '../store/index.ts';

export interface CliContext {
  json: boolean;
  storeUrl: string;
  store(): ObjectStore;
  /** Human text, progress and warnings: always stderr in --json mode, stdout otherwise. */
  say(line: string): void;
  /** A warning: always stderr, so it never mixes with a result on stdout. */
  warn(line: string): void;
  /** Manifests a listing skipped: one warning each (the --json document also lists them). */
  warnMalformed(entries: readonly { key: string; error: string }[]): void;
  /** Progress on one updating line (stderr, only on a terminal). */
  progress(line: string): void;
  /** The command's result: the JSON document with --json, else `human` lines. */
  result(doc: unknown, human: string | string[]): void;
}

/** Appends markdown to the GitHub Actions job summary, when running there ($GITHUB_STEP_SUMMARY). */
export function writeStepSummary(markdown: string): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, `${markdown}\n`);
}

/** Sets GitHub Actions step outputs (`KEY=value` lines in $GITHUB_OUTPUT), when running there. */
export function writeStepOutputs(values: Record<string, string | number | boolean | null>): void {
  const file = process.env.GITHUB_OUTPUT;
  if (!file) return;
  appendFileSync(
    file,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v ?? ''}\n`)
      .join(''),
  );
}

function makeContext(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals() as { json?: boolean; store?: string };
  const json = Boolean(opts.json);
  const url = storeUrl(opts.store);
  let store: ObjectStore | undefined;
  const tty = process.stderr.isTTY;
  return {
    json,
    storeUrl: url,
    store: () => (store ??= openStore(url)),
    say: (line) => (json ? process.stderr : process.stdout).write(`${line}\n`),
    warn: (line) => process.stderr.write(`mltk: warning: ${line}\n`),
    warnMalformed: (entries) => {
      for (const m of entries) process.stderr.write(`mltk: warning: skipped ${m.error}\n`);
    },
    progress: (line) => {
      if (tty) process.stderr.write(`\r\x1b[K${line}`);
    },
    result: (doc, human) => {
      if (tty) process.stderr.write('\r\x1b[K');
      if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      else process.stdout.write(`${(Array.isArray(human) ? human : [human]).join('\n')}\n`);
    },
  };
}

/** Wraps a command action: builds the context, maps any error to one stderr line and an exit code. */
export function action<A extends unknown[]>(
  fn: (ctx: CliContext, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = makeContext(cmd);
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (e) {
      // One line, bounded, whatever the error quotes (errors/quote.ts).
      const message = messageLine(e instanceof Error ? e.message : String(e));
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      process.stderr.write(`mltk: ${message}\n`);
      if (ctx.json) {
        const err =
          e instanceof MltkError
            ? { code: e.code, message, details: e.details, ...(e.context ? { context: e.context } : {}) }
            : { code: 'INTERNAL', message };
        process.stdout.write(`${JSON.stringify({ error: err }, null, 2)}\n`);
      }
      // The whole error with its cause chain (a typed error names what failed; its cause says why, deeper).
      if (process.env.MLTK_DEBUG) console.error(e);
      process.exitCode = exitCodeFor(e);
    }
  };
}
