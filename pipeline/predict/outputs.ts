// Where batch outputs go: one folder per input key, named by the input's whole key (extension and
// case included), holding the three outputs under fixed names:
//   incoming/<path>  →  predictions/<path>/predictions.csv   id, prediction, lineage columns
//                       predictions/<path>/errors.csv        row, field, reason
//                       predictions/<path>/manifest.json     lineage: input sha256, model version, counts; written last
// e.g. incoming/2026/01/y.csv → predictions/2026/01/y.csv/predictions.csv. Two inputs never share an
// output (y.csv and y.jsonl, x.csv and x.CSV each get their own folder), and scoring the same object
// again overwrites its own three objects instead of adding new ones.
// Every outcome writes all three (a rejected file: its errors, a predictions object with the header
// only, a manifest saying why), so outputs only ever overwrite: the service needs no s3:DeleteObject,
// and a crash between the writes leaves no manifest, which the monitor treats as "not scored yet".
import { resolve } from 'node:path';
import { InvalidInputError, messageLine, quoted } from '../errors/index.ts';
import {
  checkKey,
  checkLocalFile,
  INCOMING_PREFIX,
  localFileStream,
  PREDICTIONS_PREFIX,
  writeFileAtomically,
  type ObjectStore,
} from '../store/index.ts';
import {
  batchFormat,
  predictionsHeader,
  scoreBatch,
  ERRORS_HEADER,
  type BatchFormat,
  type BatchResult,
  type BatchSinks,
} from './batch.ts';
import { csvField } from './format.ts';
import type { LoadedModel } from './model.ts';

export { INCOMING_PREFIX, PREDICTIONS_PREFIX };

export interface OutputKeys {
  format: BatchFormat;
  predictions: string;
  errors: string;
  manifest: string;
}

/** The names of the outputs inside an input's folder `predictions/<path>/`. */
export const OUTPUT_FILES = {
  predictions: 'predictions.csv',
  errors: 'errors.csv',
  manifest: 'manifest.json',
} as const;

export function outputKeys(inputKey: string): OutputKeys {
  checkKey(inputKey);
  if (!inputKey.startsWith(INCOMING_PREFIX))
    throw new InvalidInputError(`${quoted(inputKey)} is not under ${INCOMING_PREFIX}; only those objects are scored`);
  const format = batchFormat(inputKey);
  if (!format) throw new InvalidInputError(`${quoted(inputKey)} is neither .csv nor .jsonl/.ndjson`);
  const folder = `${PREDICTIONS_PREFIX}${inputKey.slice(INCOMING_PREFIX.length)}/`;
  return {
    format,
    predictions: folder + OUTPUT_FILES.predictions,
    errors: folder + OUTPUT_FILES.errors,
    manifest: folder + OUTPUT_FILES.manifest,
  };
}

/** `out.csv` → `out.errors.csv` (the CLI's default errors file). */
export function errorsPathFor(outputPath: string): string {
  return /\.csv$/i.test(outputPath) ? outputPath.replace(/\.csv$/i, '.errors.csv') : `${outputPath}.errors.csv`;
}

export function storeSinks(store: ObjectStore, keys: { predictions: string; errors: string }): BatchSinks {
  return {
    predictions: (body) => store.putStream(keys.predictions, body),
    errors: (body) => store.putStream(keys.errors, body),
  };
}

/**
 * Local outputs, each written to a temp file renamed into place (it appears whole or not at all); the
 * temps a killed earlier run left beside the same outputs are removed first (store/temp.ts).
 */
export function fileSinks(paths: { predictions: string; errors: string }): BatchSinks {
  return {
    predictions: (body) => writeFileAtomically(paths.predictions, body),
    errors: (body) => writeFileAtomically(paths.errors, body),
  };
}

export type ObjectBatchResult =
  | (BatchResult & { status: 'scored'; input_key: string; outputs: Omit<OutputKeys, 'format'> })
  | {
      status: 'rejected';
      source: string;
      input_key: string;
      reason: string;
      outputs: Omit<OutputKeys, 'format'>;
      model: { name: string; version: number };
    };

/**
 * Scores one stored object into `out`. A file that cannot be read as rows at all (missing
 * columns, broken quoting) is refused whole: its errors object says why, and its predictions
 * object holds the header only (replacing any from an earlier scoring of the same key).
 */
export async function scoreObject(
  model: LoadedModel,
  input: { store: ObjectStore; key: string },
  out: ObjectStore,
  opts: { chunkRows?: number } = {},
): Promise<ObjectBatchResult> {
  const keys = outputKeys(input.key);
  const source = `${input.store.url}/${input.key}`;
  const body = await input.store.getStream(input.key);
  const at = new Date().toISOString();
  try {
    const res = await scoreBatch(
      model,
      body,
      { format: keys.format, source, chunkRows: opts.chunkRows },
      storeSinks(out, keys),
    );
    const result = {
      status: 'scored' as const,
      input_key: input.key,
      outputs: { predictions: keys.predictions, errors: keys.errors, manifest: keys.manifest },
      ...res,
    };
    await out.put(
      keys.manifest,
      `${JSON.stringify({ kind: 'mltk.predictions', scored_at: at, ...result }, null, 2)}\n`,
    );
    return result;
  } catch (e) {
    (body as { destroy?: () => void }).destroy?.();
    if (!(e instanceof InvalidInputError)) throw e;
    return writeRejected(model, out, { source, inputKey: input.key, keys, error: e, at });
  }
}

/**
 * The three outputs of an input refused whole: its errors (why), a predictions object with the header
 * only, and a manifest with `"status":"rejected"` (last). `extra` joins the manifest (a sharded run's id).
 */
export async function writeRejected(
  model: LoadedModel,
  out: ObjectStore,
  r: {
    source: string;
    inputKey: string;
    keys: Omit<OutputKeys, 'format'>;
    error: InvalidInputError;
    at: string;
    extra?: Record<string, unknown>;
  },
): Promise<ObjectBatchResult & { status: 'rejected' }> {
  const { keys, error: e } = r;
  const lines = (e.details.length ? e.details : [{ row: 0, field: '(file)', issue: messageLine(e.message) }]).map(
    (d) => `${d.row ?? 0},${csvField(d.field ?? '(file)')},${csvField(d.issue)}\n`,
  );
  await out.put(keys.errors, ERRORS_HEADER + lines.join(''));
  await out.put(keys.predictions, predictionsHeader(model.signature));
  const result = {
    status: 'rejected' as const,
    source: r.source,
    input_key: r.inputKey,
    reason: messageLine(e.message),
    outputs: { predictions: keys.predictions, errors: keys.errors, manifest: keys.manifest },
    model: { name: model.name, version: model.version },
  };
  await out.put(
    keys.manifest,
    `${JSON.stringify({ kind: 'mltk.predictions', scored_at: r.at, ...result, ...r.extra }, null, 2)}\n`,
  );
  return result;
}

/** Scores a local file into two local files (CLI `mltk predict`); both appear whole or not at all. */
export async function scoreFile(
  model: LoadedModel,
  paths: { input: string; output: string; errors?: string },
  opts: { chunkRows?: number; workers?: number } = {},
): Promise<BatchResult & { output: string; errors_output: string }> {
  await checkLocalFile(paths.input, 'input file');
  const format = batchFormat(paths.input);
  if (!format) throw new InvalidInputError(`${quoted(paths.input)}: expected a .csv, .jsonl or .ndjson file`);
  const errorsOutput = paths.errors ?? errorsPathFor(paths.output);
  if (resolve(errorsOutput) === resolve(paths.output) || resolve(paths.input) === resolve(paths.output)) {
    throw new InvalidInputError(`--input, --output and the errors file must be three different files`);
  }
  const input = await localFileStream(paths.input, 'input file');
  const res = await scoreBatch(
    model,
    input,
    { format, source: paths.input, chunkRows: opts.chunkRows, workers: opts.workers },
    fileSinks({ predictions: paths.output, errors: errorsOutput }),
  );
  return { ...res, output: paths.output, errors_output: errorsOutput };
}
