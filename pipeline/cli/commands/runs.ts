// `mltk runs`: list, show and compare tracked training runs.
import type { Command } from 'commander';
import { action } from '../context.ts';

// Loaded when the command runs: the other commands (and --help) do not compile and evaluate its code.
const loadRuns = () => import('../../runs/index.ts');

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(5);
  return String(v);
}

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('training runs (MLflow-like tracking)');

  runs
    .command('list')
    .description('list runs, newest first')
    .option('--model <name>', 'only runs of this model')
    .action(
      action(async (ctx, opts: { model?: string }) => {
        const { listRuns } = await loadRuns();
        const { runs: all, malformed } = await listRuns(ctx.store(), { model: opts.model });
        ctx.warnMalformed(malformed);
        const rows = all.map((r) => ({
          id: r.id,
          model: r.model,
          status: r.status,
          ...(r.abandoned ? { abandoned: r.abandoned } : {}),
          dataset: r.dataset,
          metrics: r.metrics,
          undefined_metrics: r.undefined_metrics ?? {},
          started_at: r.started_at,
          ended_at: r.ended_at,
        }));
        ctx.result(
          { runs: rows, malformed },
          rows.length
            ? rows.map((r) => `${r.id}\t${r.model}\t${r.status}\trmse ${fmt(r.metrics.rmse)}\t${r.started_at}`)
            : 'no runs',
        );
      }),
    );

  runs
    .command('show <id>')
    .description('show one run')
    .action(
      action(async (ctx, id: string) => {
        const { getRun } = await loadRuns();
        const r = await getRun(ctx.store(), id);
        ctx.result(r, [
          `${r.id}  ${r.model}  ${r.status}${r.error ? `  error: ${r.error}` : ''}${
            r.abandoned ? `  (${r.abandoned})` : ''
          }`,
          `dataset ${r.dataset ? `${r.dataset.name}@${r.dataset.version.slice(0, 12)}` : '—'}  config ${
            r.config.source
          } (${r.config.sha256.slice(0, 12)})  git ${
            r.git ? `${r.git.commit.slice(0, 10)}${r.git.dirty ? ' (dirty)' : ''}` : '—'
          }`,
          `started ${r.started_at}  ended ${r.ended_at ?? '—'}`,
          'params:',
          ...Object.entries(r.params).map(([k, v]) => `  ${k} = ${fmt(v)}`),
          'metrics:',
          ...Object.entries(r.metrics).map(
            ([k, v]) => `  ${k} = ${fmt(v)}${r.metric_history[k] ? ` (${r.metric_history[k]!.length} steps)` : ''}`,
          ),
          ...Object.entries(r.undefined_metrics ?? {}).map(([k, why]) => `  ${k} undefined: ${why}`),
          'artifacts:',
          ...Object.entries(r.artifacts).map(([k, v]) => `  ${k}  sha256:${v.sha256.slice(0, 12)}  ${v.bytes} bytes`),
        ]);
      }),
    );

  runs
    .command('compare <ids...>')
    .description('params and metrics of runs side by side')
    .action(
      action(async (ctx, ids: string[]) => {
        const { getRun, compareRuns } = await loadRuns();
        const found = await Promise.all(ids.map((id) => getRun(ctx.store(), id)));
        const cmp = compareRuns(found);
        const line = (k: string, vals: unknown[]) => [k, ...vals.map(fmt)].join('\t');
        ctx.result(cmp, [
          ['', ...cmp.runs].join('\t'),
          ...Object.entries(cmp.params).map(([k, v]) => line(`param ${k}`, v)),
          ...Object.entries(cmp.metrics).map(([k, v]) => line(`metric ${k}`, v)),
        ]);
      }),
    );
}
