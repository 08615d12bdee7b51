// The one logger of every handler and command: one JSON object per line with the same fields everywhere
// — `time`, `level`, `msg` (what happened, a stable snake_case name that log metric filters and queries
// match), then the fields a logger was made `with` (model, version, request id) and the line's own.
// In Lambda, CloudWatch Logs ingests stdout; commands whose stdout carries their result log to stderr.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (model, version, request id). */
  with(fields: LogFields): Logger;
}

/** Where finished lines go (one line per call, no trailing newline). */
export type LineSink = (line: string) => void;

export const stdoutSink: LineSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export const stderrSink: LineSink = (line) => {
  process.stderr.write(`${line}\n`);
};

export function jsonLogger(sink: LineSink = stdoutSink, base: LogFields = {}): Logger {
  return {
    log(level, msg, fields) {
      sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }));
    },
    with(fields) {
      return jsonLogger(sink, { ...base, ...fields });
    },
  };
}
