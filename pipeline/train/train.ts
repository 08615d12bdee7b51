// trainModel: checks the training table once, then hands typed columns to the configured trainer
// and wraps its result with the ONNX bytes and the trainer's own scorer.
import type { ModelConfig } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { TrainingError } from '../errors/index.ts';
import { trainCommand } from './command.ts';
import { predictTrees } from './ensemble.ts';
import { checkColumns, featureColumns } from './features.ts';
import { trainGbdt } from './gbdt.ts';
import { predictLinear, trainLinear } from './linear.ts';
import { exportOnnx } from './onnx/export.ts';
import type { TrainedModel, TrainOptions } from './types.ts';

export async function trainModel(config: ModelConfig, train: Table, opts: TrainOptions = {}): Promise<TrainedModel> {
  if (train.rows === 0) throw new TrainingError(`training table for ${config.name} has zero rows`);
  checkColumns(config, train);
  const { target, rows } = targetRows(config, train);
  const trainer = config.trainer;
  switch (trainer.type) {
    case 'gbdt': {
      const m = await trainGbdt(config, trainer.params, train, target, rows, opts);
      const onnx = await exportOnnx(config, { kind: 'trees', ensemble: m.ensemble, codes: m.codes });
      return {
        onnx,
        predict: async (table) => predictTrees(m.ensemble, featureColumns(config, table, m.codes), table.rows),
        rounds: m.rounds,
        params: { ...definedOnly(trainer.params), threads: m.threads, base_value: m.ensemble.base, rows: rows.length },
        trees: m.ensemble.trees.length,
      };
    }
    case 'linear': {
      const m = trainLinear(config, trainer.params.alpha, train, target, rows);
      return {
        onnx: await exportOnnx(config, { kind: 'linear', linear: m }),
        predict: async (table) => predictLinear(config, m, table),
        rounds: [],
        params: { alpha: trainer.params.alpha, rows: rows.length },
      };
    }
    case 'command':
      return trainCommand(config, trainer.params.command, trainer.params.timeout_s, train, opts);
  }
}

/** The target column and the rows where it is present; rows without a target cannot be learned from. */
function targetRows(config: ModelConfig, train: Table): { target: Float64Array; rows: Int32Array } {
  const name = config.target.column;
  const col = train.columns.get(name);
  if (!col)
    throw new TrainingError(`training table has no target column "${name}"`, [
      { field: name, issue: 'column missing' },
    ]);
  if (col.kind !== 'numeric')
    throw new TrainingError(`target column "${name}" must be numeric, got ${col.kind}`, [
      { field: name, issue: 'expected a numeric column' },
    ]);
  const keep: number[] = [];
  for (let i = 0; i < train.rows; i++) if (Number.isFinite(col.values[i]!)) keep.push(i);
  if (keep.length === 0)
    throw new TrainingError(`target column "${name}" is missing in all ${train.rows} rows`, [
      { field: name, issue: 'all values missing' },
    ]);
  return { target: col.values, rows: Int32Array.from(keep) };
}

function definedOnly(params: Record<string, unknown>): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(params))
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
  return out;
}
