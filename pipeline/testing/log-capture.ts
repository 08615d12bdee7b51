// Captures the structured log lines (pipeline/log) that code under test writes to stdout and stderr, as
// a Lambda's would reach CloudWatch Logs, and lets every other write through (the test runner's own).
type Write = typeof process.stdout.write;

export interface LogCapture {
  /** The parsed lines captured so far, in order. */
  readonly lines: Record<string, unknown>[];
  restore(): void;
}

function isLogLine(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{"time":')) return undefined;
  try {
    const line = JSON.parse(text) as Record<string, unknown>;
    return typeof line.level === 'string' && typeof line.msg === 'string' ? line : undefined;
  } catch {
    return undefined;
  }
}

export function captureLogLines(): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const patched: [NodeJS.WriteStream, Write][] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    patched.push([stream, original]);
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const logged = typeof chunk === 'string' ? chunk.split('\n').filter((l) => l !== '') : [];
      const parsed = logged.map(isLogLine);
      if (logged.length > 0 && parsed.every((l) => l !== undefined)) {
        lines.push(...(parsed as Record<string, unknown>[]));
        const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        done?.();
        return true;
      }
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
  }
  return {
    lines,
    restore() {
      for (const [stream, original] of patched) stream.write = original;
    },
  };
}
