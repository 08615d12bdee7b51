// The run's report as GitHub-flavoured markdown (what `mltk run` appends to $GITHUB_STEP_SUMMARY):
// data version and lineage, run id, new vs holder metrics overall and by segment, the gate, the decision.
import type { RunOutcome } from './run-job.ts';

const num = (v: number | undefined) => (v === undefined ? '—' : Number.isFinite(v) ? v.toPrecision(4) : String(v));
const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;

function verdict(o: RunOutcome): string {
  const p = o.promotion;
  if (!p.gate.passed) return `❌ gate failed — registered, not promoted to @${p.alias}`;
  if (p.already) return `✅ unchanged — already serving @${p.alias}`;
  return p.promote ? `✅ promoted to @${p.alias}` : `➖ not promoted to @${p.alias} (holder kept)`;
}

export function runSummaryMarkdown(o: RunOutcome, store: string): string {
  const { train: t, promotion: p } = o;
  const d = t.dataset;
  const lineage = [
    d.pinned ? 'pinned' : '**not pinned**',
    d.synthetic ? '**SYNTHETIC rows** (never releasable to prod)' : 'real data',
  ];
  const holder = p.holder;
  const holderHead = holder ? `holder v${holder.version}` : 'holder';
  // The segment's groups in the order the evaluation reports them, then any only the holder has.
  const bands = [...new Set([...Object.keys(t.metrics_by_band), ...Object.keys(holder?.metrics_by_band ?? {})])];
  const segment = t.manifest.segment?.name ?? 'band';
  const bandRows = bands.map((b) => {
    const limit = p.gate.checks.find((c) => c.limit === `max_rmse_by_band.${b}`);
    const rows = t.metrics_by_band[b]?.rows ?? 0;
    return row(
      `rmse ${segment} ${b} (${rows} rows)`,
      num(t.metrics_by_band[b]?.rmse),
      num(holder?.metrics_by_band?.[b]?.rmse),
      limit ? `≤ ${limit.threshold}` : '',
    );
  });
  const limitOf = (name: string, cmp: string) => {
    const c = p.gate.checks.find((x) => x.limit === name);
    return c ? `${cmp} ${c.threshold}` : '';
  };
  return [
    `### mltk run: ${t.model}@${t.version} ${verdict(o)}`,
    '',
    '| | |',
    '|---|---|',
    `| data | \`${d.name}@${d.version}\` (${d.rows} rows; ${lineage.join(', ')}) |`,
    `| run | \`${t.run_id}\` |`,
    `| version | ${t.version}${
      t.unchanged ? ' (unchanged: the same model was already registered; nothing new)' : ' (new)'
    } |`,
    `| artifact | \`sha256:${t.manifest.artifact.sha256}\` |`,
    `| gate | ${p.gate.passed ? 'passed' : '**failed**'}: ${cell(p.gate.reason)} |`,
    `| decision | ${cell(p.reason)} |`,
    `| store | ${cell(store)} |`,
    '',
    `| metric | new v${t.version} | ${holderHead} | limit |`,
    '|---|---|---|---|',
    row('rmse', num(t.metrics.rmse ?? undefined), num(holder?.metrics.rmse), limitOf('max_rmse', '≤')),
    row('mae', num(t.metrics.mae ?? undefined), num(holder?.metrics.mae), ''),
    row('r2', num(t.metrics.r2 ?? undefined), num(holder?.metrics.r2), limitOf('min_r2', '≥')),
    ...bandRows,
    '',
  ].join('\n');
}

/** A run that stopped with an error: what failed, and what (if anything) was registered before. */
export function runFailureMarkdown(model: string, message: string, context?: Record<string, unknown>): string {
  const registered =
    context?.version !== undefined
      ? ` — ${model}@${String(context.version)} was registered (run \`${String(context.run_id)}\`)`
      : '';
  return [`### mltk run: ${model} ❌ failed${registered}`, '', '```', message, '```', ''].join('\n');
}
