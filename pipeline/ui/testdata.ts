// Test support (not part of the public surface): a store as the pipeline leaves it, made by the real
// parts: the training job (few trees, a loss estimator), the registry (an alias promoted and rolled
// back), batch scoring into a predictions store, the monitor writing drift reports (metrics to moto's
// CloudWatch) and measuring the late labels of two batches. Untrusted text is planted where a store can carry it: a
// config description, a run
// param, a dataset source, an alias reason, a run error, a category seen in a scored batch.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig, type ModelConfig } from '../config/index.ts';
import { runTrainJob } from '../jobs/index.ts';
import { labelsKey, metricsClient, monitorBatchObject, monitorLabelsObject } from '../monitor/index.ts';
import { uniqueIds } from '../monitor/testmodel.ts';
import { loadModelVersion, scoreObject } from '../predict/index.ts';
import { synthCsv } from '../predict/testdata.ts';
import { getModelVersion, moveAlias, rollbackAlias } from '../registry/index.ts';
import { listRuns, trackRun } from '../runs/index.ts';
import { openStore, type ObjectStore } from '../store/index.ts';

/** Markup that would run if any page let it through unescaped; each sets a flag the browser test reads. */
export const XSS = {
  description: 'Change in SAP <script>window.__xss="description"</script> points',
  param: '<img src=x onerror="window.__xss=\'param\'">',
  source: '"\'><img src=x onerror=window.__xss=1>.csv',
  reason: 'promote "\'><script>window.__xss="reason"</script>',
  category: '<img src=x onerror=window.__xss=2>',
  error: '<script>window.__xss="error"</script>',
};

export interface UiFixture {
  dir: string;
  store: ObjectStore;
  predictions: ObjectStore;
  runIds: string[];
  failedRunId: string;
}

const quiet = { say: () => {}, progress: () => {} };

async function config(name: string, trees: number, learningRate: number): Promise<ModelConfig> {
  const raw = JSON.parse(await readFile(new URL(`../../configs/${name}.json`, import.meta.url), 'utf8'));
  raw.trainer.params = { ...raw.trainer.params, trees, learning_rate: learningRate, early_stopping_rounds: undefined };
  raw.description = XSS.description;
  return parseModelConfig(raw, `${name} (test)`);
}

/** `csv` with `value` as property_type on a few rows: the monitor counts it as an unseen category. */
function withCategory(csv: string, value: string): string {
  const lines = csv.trimEnd().split('\n');
  const col = lines[0]!.split(',').indexOf('property_type');
  for (const i of [2, 5, 9]) {
    const f = lines[i]!.split(',');
    f[col] = value;
    lines[i] = f.join(',');
  }
  return `${lines.join('\n')}\n`;
}

/** `csv` with current_sap raised, so the batch drifts. */
function shifted(csv: string, delta: number): string {
  const rows = csv.trimEnd().split('\n');
  const k = rows[0]!.split(',').indexOf('current_sap');
  return `${rows
    .map((l, i) => {
      if (!i) return l;
      const f = l.split(',');
      f[k] = String(Math.min(120, Number(f[k]) + delta));
      return f.join(',');
    })
    .join('\n')}\n`;
}

/** The id and target columns of the first `share` of the rows of a synthetic CSV: its late labels. */
function labelsOf(csv: string, share: number): string {
  const [head, ...rows] = csv.trimEnd().split('\n');
  const y = head!.split(',').indexOf('sap_change');
  const kept = rows.slice(0, Math.round(rows.length * share));
  return `home_id,sap_change\n${kept.map((l) => `${l.split(',')[0]},${l.split(',')[y]}`).join('\n')}\n`;
}

/**
 * Four batches scored by v1 (one with an untrusted category, one shifted, one rejected whole), each
 * monitored; then the late labels of two of them measured (every row of the first, half of the shifted one).
 */
async function scoreAndMonitor(
  store: ObjectStore,
  data: ObjectStore,
  predictions: ObjectStore,
  cloudwatchEndpoint: string,
): Promise<void> {
  const model = await loadModelVersion(store, await getModelVersion(store, 'sap_change', 1));
  const metrics = await metricsClient({ endpoint: cloudwatchEndpoint });
  try {
    // One id per row, so late labels join one to one.
    const base = uniqueIds(await synthCsv(600, 11));
    const batches: [string, string][] = [
      ['2026/01/05/batch', base],
      ['2026/01/06/batch', withCategory(uniqueIds(await synthCsv(600, 12)), XSS.category)],
      ['2026/01/07/batch', shifted(uniqueIds(await synthCsv(600, 13)), 25)],
      ['2026/01/08/rejected', base.replace(',current_sap,', ',sap_now,')],
    ];
    const deps = { registry: store, data, predictions, model: 'sap_change@prod', metrics, log: () => {} };
    for (const [stem, csv] of batches) {
      const path = `${stem}.csv`; // a batch's path is its input key under incoming/
      await data.put(`incoming/${path}`, csv);
      await scoreObject(model, { store: data, key: `incoming/${path}` }, predictions);
      await monitorBatchObject(path, deps);
    }
    for (const [stem, csv, share] of [
      [batches[0]![0], batches[0]![1], 1],
      [batches[2]![0], batches[2]![1], 0.5],
    ] as const) {
      await data.put(labelsKey(`${stem}.csv`), labelsOf(csv, share));
      await monitorLabelsObject(`${stem}.csv`, deps);
    }
  } finally {
    model.retire();
    metrics.destroy();
  }
}

export async function buildUiFixture(opts: { cloudwatchEndpoint: string }): Promise<UiFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-ui-'));
  const store = openStore(join(dir, 'store'));
  const predictions = openStore(join(dir, 'predictions'));
  const data = openStore(join(dir, 'data'));
  await mkdir(join(dir, 'files'));
  const file = join(dir, 'files', XSS.source);
  // 1,100 rows: 220 held out, enough for the loss estimator (MIN_ESTIMATOR_ROWS), so batches get an estimate.
  await writeFile(file, await synthCsv(1100, 5));

  const runIds: string[] = [];
  for (const [trees, lr] of [
    [8, 0.3],
    [14, 0.2],
    [20, 0.15],
  ] as const) {
    runIds.push(
      (
        await runTrainJob({
          store,
          config: await config('sap_change', trees, lr),
          configSource: 'configs/sap_change.json',
          data: { kind: 'file', path: file },
          ...quiet,
        })
      ).run_id,
    );
  }
  runIds.push(
    (
      await runTrainJob({
        store,
        config: await config('carbon_change', 6, 0.3),
        configSource: 'configs/carbon_change.json',
        data: { kind: 'file', path: file },
        ...quiet,
      })
    ).run_id,
  );
  await trackRun(
    store,
    { model: 'sap_change', configSource: 'notebook', config: { description: XSS.description } },
    async (run) => {
      run.logParams({ note: XSS.param, trees: 3 });
      run.logMetric('rmse', 9.5);
    },
  ).then((r) => runIds.push(r.run.id));

  const bad = join(dir, 'files', 'bad.csv');
  const lines = (await readFile(file, 'utf8')).split('\n');
  const col = lines[0]!.split(',').indexOf('wall_type');
  const f = lines[3]!.split(',');
  f[col] = XSS.error;
  lines[3] = f.join(',');
  await writeFile(bad, lines.join('\n'));
  await runTrainJob({
    store,
    config: await config('sap_change', 5, 0.3),
    configSource: 'configs/sap_change.json',
    data: { kind: 'file', path: bad },
    ...quiet,
  }).catch(() => undefined);
  const failedRunId = (await listRuns(store)).runs.find((r) => r.status === 'FAILED')!.id;

  await moveAlias(store, 'sap_change', 'prod', 1, { reason: 'promote' });
  await moveAlias(store, 'sap_change', 'prod', 2, { reason: XSS.reason });
  await rollbackAlias(store, 'sap_change', 'prod');

  await scoreAndMonitor(store, data, predictions, opts.cloudwatchEndpoint);
  return { dir, store, predictions, runIds, failedRunId };
}
