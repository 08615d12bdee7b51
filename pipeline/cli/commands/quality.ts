// `mltk quality`: realized quality of a scored batch from its late labels, next to the version's test
// metrics and the loss estimator's estimate for the same rows.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { QualityReport } from '../../monitor/index.ts';
import { modelNameOf } from '../../registry/index.ts';
import { checkLocalFile, isUrl, locateObject, type ObjectStore } from '../../store/index.ts';
import { action } from '../context.ts';
import { estimatedLine, loadMonitor } from './monitor.ts';

export interface QualityCommandOptions {
  model: string;
  predictions: string;
  labels: string;
  input?: string;
  report?: string;
  publish?: boolean;
  namespace?: string;
}

/** The command's work without commander, for scripts and tests. */
async function runQualityCommand(store: ObjectStore, opts: QualityCommandOptions) {
  const { publishMonitorFailure, publishQualityMetrics, renderQualityReport, runQuality } = await loadMonitor();
  try {
    // Local files are checked before anything is read: missing, a directory or unreadable, as every command says it.
    const files = { 'predictions file': opts.predictions, 'labels file': opts.labels, 'input file': opts.input };
    for (const [what, ref] of Object.entries(files)) if (ref && !isUrl(ref)) await checkLocalFile(ref, what);
    const report = await runQuality({
      store,
      model: opts.model,
      predictions: locateObject(opts.predictions),
      labels: locateObject(opts.labels),
      input: opts.input ? locateObject(opts.input) : undefined,
    });
    if (opts.report) await writeFile(opts.report, renderQualityReport(report));
    const published = opts.publish ? await publishQualityMetrics(report, { namespace: opts.namespace }) : null;
    return { report, published };
  } catch (e) {
    if (opts.publish)
      await publishMonitorFailure(e, {
        model: modelNameOf(opts.model),
        source: opts.labels,
        namespace: opts.namespace,
      });
    throw e;
  }
}

const f = (x: number | null, digits = 4): string => (x === null ? '–' : x.toPrecision(digits));
const ratio = (x: number | null): string => (x === null ? '' : ` ×${x.toFixed(2)}`);

function summary(r: QualityReport, opts: QualityCommandOptions): string[] {
  const l = r.labels,
    m = r.realized;
  const why = l.refused === null ? '' : ` (${l.unknown} unknown, ${l.refused} refused at scoring)`;
  return [
    `${r.model.name} v${r.model.version}: ${l.joined} labelled rows, ` +
      `${(100 * l.coverage).toFixed(1)}% of the batch's predictions`,
    `realized   rmse ${f(m.rmse)}  mae ${f(m.mae)}  bias ${m.bias >= 0 ? '+' : ''}${f(m.bias, 3)}  r2 ${f(
      m.r2,
      3,
    )}  (test rmse ${f(r.test.rmse)}${ratio(r.ratio.rmse)}: ${r.level})`,
    r.estimated
      ? estimatedLine(r.estimated, ` — same ${r.estimated.rows} rows`)
      : `estimated  – (${
          r.sources.input
            ? 'no loss estimator in this version'
            : 'no input: pass --input, or keep the lineage manifest beside the predictions'
        })`,
    ...(r.by_band
      ? [
          `by ${r.segment!.name.padEnd(7)} ${Object.entries(r.by_band)
            .map(([b, s]) => `${b}:${f(s.rmse, 3)}${ratio(s.rmse_ratio)}(${s.rows})`)
            .join('  ')}`,
        ]
      : []),
    `labels     ${l.rows} rows: ${l.joined} joined, ${l.unmatched} ids not in the predictions${why}, ${
      l.ambiguous
    } for ids scored more than once, ${l.duplicates} duplicates, ${l.non_numeric} not numbers, ${
      l.missing
    } without id or label`,
    ...(opts.report ? [`report: ${opts.report}`] : []),
  ];
}

export function registerQuality(program: Command): void {
  program
    .command('quality')
    .description(
      'realized quality of a scored batch from late labels (joined by id), by segment and next to the test metrics ' +
        'and the estimate',
    )
    .requiredOption('--model <ref>', 'NAME@ALIAS or NAME@VERSION: the version that scored the batch')
    .requiredOption(
      '--predictions <file|s3://…>',
      "the batch's predictions (mltk predict's output, or a batch's predictions/<path>/predictions.csv)",
    )
    .requiredOption('--labels <file|s3://…>', 'CSV or JSON lines with the id and target columns')
    .option(
      '--input <file|s3://…>',
      'the scored input, for the by-segment breakdown, the estimate and refused ids (default: from the lineage ' +
        'manifest beside the predictions)',
    )
    .option('--report <file.html>', 'write the self-contained HTML report here')
    .option(
      '--publish',
      'publish RealizedRMSE, RealizedMAE, Bias, LabelCoverage … to CloudWatch (namespace mltk/<model>)',
    )
    .option('--namespace <ns>', 'CloudWatch namespace instead of mltk/<model>')
    .action(
      action(async (ctx, opts: QualityCommandOptions) => {
        const { report, published } = await runQualityCommand(ctx.store(), opts);
        ctx.result({ ...report, published }, [
          ...summary(report, opts),
          ...(published
            ? [`published ${published.datums} datums to ${published.namespace} in ${published.calls} call(s)`]
            : []),
        ]);
      }),
    );
}
