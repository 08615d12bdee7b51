// One side of the bench in its own process (so peak RSS is ours alone): trains our GBDT for each
// config on the first `train` rows of the CSV, scores the remaining rows, prints JSON.
import { loadModelConfig, type ModelConfig } from '../../pipeline/config/index.ts';
import { numericColumn, takeRows } from '../../pipeline/data/index.ts';
import { evaluate, trainModel } from '../../pipeline/train/index.ts';
import { readBenchTable } from './data.ts';

const [csv, trainRowsArg, ...configPaths] = process.argv.slice(2);
const trainRows = Number(trainRowsArg);
const configs: ModelConfig[] = await Promise.all(configPaths.map((p) => loadModelConfig(p)));
const table = await readBenchTable(csv!, configs);
// With no test rows (the peak-RSS run) the table is used as is: a copy would double the footprint.
const train =
  trainRows >= table.rows
    ? table
    : takeRows(
        table,
        Int32Array.from({ length: trainRows }, (_, i) => i),
      );
const test = takeRows(
  table,
  Int32Array.from({ length: Math.max(0, table.rows - trainRows) }, (_, i) => trainRows + i),
);
const results: Record<string, unknown> = {};
for (const c of configs) {
  if (c.trainer.type !== 'gbdt') throw new Error(`${c.name}: bench expects a gbdt config`);
  // The bench's fixed settings: 300 trees, depth 6, lr 0.1, 256 bins, no early stopping, 2 threads.
  const config: ModelConfig = {
    ...c,
    trainer: {
      type: 'gbdt',
      params: {
        ...c.trainer.params,
        trees: 300,
        max_depth: 6,
        learning_rate: 0.1,
        max_bins: 256,
        early_stopping_rounds: undefined,
        threads: 2,
      },
    },
  };
  const t0 = performance.now();
  const model = await trainModel(config, train, { seed: 1 });
  const seconds = (performance.now() - t0) / 1000;
  const rmse = test.rows ? evaluate(numericColumn(test, c.target.column), await model.predict(test)).rmse : NaN;
  results[c.target.column] = { seconds, rmse, trees: model.trees };
}
console.log(JSON.stringify({ rows: trainRows, results, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
