// Scoring a Table through onnxruntime-node per the input contract; used for `command` models and
// to check that a produced file follows the contract.
import type * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../config/index.ts';
import type { Table } from '../../data/index.ts';
import { TrainingError } from '../../errors/index.ts';
import { onnxInputSpec, OUTPUT_NAME } from './export.ts';
import { onnxRuntime } from './runtime.ts';

/** One [N,1] tensor per config feature: float32 with NaN for missing, or strings with "" for missing. */
export function onnxFeeds(config: ModelConfig, table: Table): Record<string, ort.Tensor> {
  const { Tensor } = onnxRuntime();
  const feeds: Record<string, ort.Tensor> = {};
  for (const f of config.features) {
    const col = table.columns.get(f.name);
    if (!col) throw new TrainingError(`table has no column "${f.name}"`, [{ field: f.name, issue: 'column missing' }]);
    if (col.kind === 'categorical') {
      feeds[f.name] = new Tensor(
        'string',
        Array.from(col.codes, (c) => (c < 0 ? '' : col.categories[c]!)),
        [table.rows, 1],
      );
    } else if (col.kind === 'numeric') {
      feeds[f.name] = new Tensor('float32', Float32Array.from(col.values), [table.rows, 1]);
    } else {
      feeds[f.name] = new Tensor(
        'string',
        col.values.map((v) => v ?? ''),
        [table.rows, 1],
      );
    }
  }
  return feeds;
}

export async function scoreOnnx(
  session: ort.InferenceSession,
  config: ModelConfig,
  table: Table,
): Promise<Float64Array> {
  const out = await session.run(onnxFeeds(config, table));
  return Float64Array.from(out[OUTPUT_NAME]!.data as Float32Array);
}

/**
 * Opens a model and checks its inputs and output against the contract; throws a TrainingError listing every mismatch.
 */
export async function openContractSession(
  config: ModelConfig,
  bytes: Uint8Array,
  source: string,
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await onnxRuntime().InferenceSession.create(bytes);
  } catch (e) {
    throw new TrainingError(`${source} is not a valid ONNX model: ${(e as Error).message}`, [], { cause: e });
  }
  const problems: string[] = [];
  const have = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? String(m.type) : 'non-tensor']));
  for (const { name, type } of onnxInputSpec(config)) {
    const got = have.get(name);
    const want = type === 'float' ? 'float32' : 'string';
    if (got === undefined) problems.push(`missing input "${name}" (${want})`);
    else if (got !== want) problems.push(`input "${name}" is ${got}, expected ${want}`);
    have.delete(name);
  }
  for (const name of have.keys()) problems.push(`unexpected input "${name}" (not a feature of ${config.name})`);
  if (!session.outputNames.includes(OUTPUT_NAME))
    problems.push(`no output named "${OUTPUT_NAME}" (outputs: ${session.outputNames.join(', ') || 'none'})`);
  if (problems.length) {
    await session.release();
    throw new TrainingError(
      `${source} does not follow the model input contract: ${problems.join('; ')}`,
      problems.map((issue) => ({ issue })),
    );
  }
  return session;
}
