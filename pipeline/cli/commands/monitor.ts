// `mltk monitor`: drift of one input file against a model's baseline profile.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidInputError, quotedList } from '../../errors/index.ts';
import { inputFormat, readCsvTable } from '../../data/index.ts';
import { modelNameOf, resolveModel } from '../../registry/index.ts';
import { checkLocalFile, localFileStream, readLocalFile, type ObjectStore } from '../../store/index.ts';
import type { BaselineProfile, EstimatedQuality, MonitorRun } from '../../monitor/index.ts';
import { action } from '../context.ts';

// Loaded when the command runs: the other commands (and --help) do not compile and evaluate its code.
export const loadMonitor = () => import('../../monitor/index.ts');

export interface MonitorCommandOptions {
  model: string;
  input: string;
  report?: string;
  publish?: boolean;
  namespace?: string;
  baseline?: string;
  features?: string;
}

/** --baseline FILE: a stored profile (.json) or a reference CSV profiled here, for models trained elsewhere. */
async function referenceBaseline(store: ObjectStore, opts: MonitorCommandOptions): Promise<MonitorRun['reference']> {
  if (!opts.baseline) return undefined;
  const { monitorColumnSpecs, parseBaselineProfile, profileFromReference } = await loadMonitor();
  const mv = await resolveModel(store, opts.model);
  const names = opts.features
    ? opts.features
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : mv.signature.features.map((f) => f.name);
  const unknown = names.filter((n) => !mv.signature.features.some((f) => f.name === n));
  if (unknown.length)
    throw new InvalidInputError(`--features: ${quotedList(unknown)} not in the signature of ${mv.name} v${mv.version}`);
  const features = mv.signature.features.filter((f) => names.includes(f.name));
  let baseline: BaselineProfile;
  if (opts.baseline.endsWith('.json')) {
    baseline = parseBaselineProfile(String(await readLocalFile(opts.baseline, 'baseline file')), opts.baseline);
  } else {
    const out = mv.signature.output.column;
    // The reference's prediction column is profiled when the file has one (the header decides, read once).
    const specs = (header: string[]) =>
      monitorColumnSpecs(features, header.includes(out) ? out : undefined).map((s) =>
        s.type === 'text'
          ? {
              ...s,
              type: 'categorical' as const,
              values: (features.find((f) => f.name === s.name) as { values: string[] }).values,
            }
          : s,
      );
    const table = await readCsvTable(await localFileStream(opts.baseline, 'baseline file'), specs, {
      source: opts.baseline,
    });
    const pred = table.columns.get(out);
    // Derived features are profiled where both their inputs are among the monitored features.
    const derived = mv.signature.derived.filter((d) => d.inputs.every((i) => names.includes(i)));
    baseline = profileFromReference(
      table,
      features,
      pred?.kind === 'numeric' ? pred.values : null,
      opts.baseline,
      derived,
    );
  }
  return { baseline, features };
}

/** The command's work without commander, for scripts and tests. */
export async function runMonitorCommand(store: ObjectStore, opts: MonitorCommandOptions) {
  const { modelScorer, openLossEstimator, publishDriftMetrics, publishMonitorFailure, renderReport, runMonitor } =
    await loadMonitor();
  try {
    // Both files are opened and checked before the model loads: a missing one fails here, alike in every command.
    if (opts.baseline) await checkLocalFile(opts.baseline, 'baseline file');
    const input = await localFileStream(opts.input, 'input file');
    const reference = await referenceBaseline(store, opts).catch((e: unknown) => {
      input.destroy();
      throw e;
    });
    const { report, baseline, scoring } = await runMonitor({
      store,
      model: opts.model,
      input,
      source: opts.input,
      reference,
      openScorer: modelScorer(store),
      format: inputFormat(opts.input) ?? 'csv',
      openEstimator: (mv) => openLossEstimator(store, mv),
    });
    if (opts.report) await writeFile(opts.report, renderReport(report, baseline));
    const published = opts.publish ? await publishDriftMetrics(report, { namespace: opts.namespace }) : null;
    return { report, scoring, published };
  } catch (e) {
    if (opts.publish)
      await publishMonitorFailure(e, {
        model: modelNameOf(opts.model),
        source: opts.input,
        namespace: opts.namespace,
      });
    throw e;
  }
}

/** One line for an estimate: RMSE with its band, MAE, and the ratio to the test RMSE. */
export function estimatedLine(e: EstimatedQuality, rows = ''): string {
  const ratio =
    e.rmse_ratio === null ? '' : `  (×${e.rmse_ratio.toFixed(2)} test rmse ${e.test_rmse!.toPrecision(4)}: ${e.level})`;
  const band = `[${e.rmse_low.toPrecision(4)} – ${e.rmse_high.toPrecision(4)}]`;
  return `estimated  rmse ${e.rmse.toPrecision(4)} ${band}  mae ${e.mae.toPrecision(4)}${ratio}${rows}`;
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description(
      "drift of an input file against a model version's baseline profile (PSI, KS, JS, missing and out-of-range rates)",
    )
    .requiredOption('--model <ref>', 'NAME@ALIAS or NAME@VERSION')
    .requiredOption(
      '--input <file>',
      "CSV or JSON lines (.jsonl/.ndjson) with the model's features; without its output column the model version " +
        'scores it here',
    )
    .option('--report <file.html>', 'write the self-contained HTML report here')
    .option('--publish', 'publish the drift metrics to CloudWatch (namespace mltk/<model>)')
    .option('--namespace <ns>', 'CloudWatch namespace instead of mltk/<model>')
    .option(
      '--baseline <file>',
      'for a model not trained here: a baseline profile (.json) or a reference CSV to profile',
    )
    .option('--features <a,b,c>', 'with --baseline: the signature features to monitor (default all)')
    .action(
      action(async (ctx, opts: MonitorCommandOptions) => {
        const { report, scoring, published } = await runMonitorCommand(ctx.store(), opts);
        const f = (x: number | null) => (x === null ? '–' : x.toFixed(3));
        ctx.result({ ...report, scoring, published }, [
          `${report.model.name} v${report.model.version}: ${report.rows} rows, drift share ${(
            100 * report.drift_share
          ).toFixed(1)}%${report.dataset_drift ? ' — DATASET DRIFT' : ''}`,
          ...report.features.map(
            (x) =>
              `${x.level.padEnd(5)} ${(x.derived ? `${x.name} (derived)` : x.name).padEnd(28)} ` +
              `psi ${f(x.psi)}  ks ${f(x.ks_statistic)}  js ${f(x.js_distance)}  ` +
              `missing ${(100 * x.missing_rate).toFixed(1)}%`,
          ),
          ...(report.prediction
            ? [
                `${report.prediction.level.padEnd(5)} ${'(prediction)'.padEnd(28)} ` +
                  `psi ${f(report.prediction.psi)}  ks ${f(report.prediction.ks_statistic)}`,
              ]
            : []),
          ...(report.estimated ? [estimatedLine(report.estimated)] : []),
          ...(scoring
            ? [
                `predictions: scored here with ${report.model.name} v${report.model.version} (${scoring.scored} rows; ${
                  scoring.refused
                } refused as batch scoring would, counted as missing)`,
              ]
            : []),
          ...(opts.report ? [`report: ${opts.report}`] : []),
          ...(published
            ? [`published ${published.datums} datums to ${published.namespace} in ${published.calls} call(s)`]
            : []),
        ]);
      }),
    );
}
