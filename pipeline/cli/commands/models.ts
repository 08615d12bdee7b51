// `mltk models`: the registry — list, show, promote, rollback, history.
import type { Command } from 'commander';
import {
  listModelVersions, listModelNames, listAliases, resolveModel, moveAlias, rollbackAlias, readAliasHistory, type AliasMove,
} from '../../registry/index.ts';
import { action } from '../context.ts';
import { intOption } from '../options.ts';

export function registerModels(program: Command): void {
  const models = program.command('models').description('model registry: versions and aliases');

  models.command('list [name]').description('list models, or the versions and aliases of one')
    .action(action(async (ctx, name?: string) => {
      const store = ctx.store();
      if (!name) {
        const names = await listModelNames(store);
        ctx.result({ models: names }, names.length ? names : 'no models');
        return;
      }
      const [{ versions, malformed }, listed] = await Promise.all([listModelVersions(store, name), listAliases(store, name)]);
      const aliases = listed.aliases;
      const skipped = [...malformed, ...listed.malformed];
      ctx.warnMalformed(skipped);
      const tags = (v: number) => aliases.filter((a) => a.version === v).map((a) => `@${a.alias}`).join(' ');
      ctx.result(
        { name, versions: versions.map((v) => ({ version: v.version, created_at: v.created_at, run_id: v.run_id, metrics: v.metrics, undefined_metrics: v.undefined_metrics ?? {}, aliases: aliases.filter((a) => a.version === v.version).map((a) => a.alias) })), aliases, malformed: skipped },
        versions.length ? versions.map((v) => `${name}@${v.version}\t${v.created_at}\trmse ${v.metrics.rmse?.toPrecision(5) ?? '—'}\t${tags(v.version)}`) : `no versions of ${name}`,
      );
    }));

  models.command('show <ref>').description('show NAME@VERSION or NAME@ALIAS')
    .action(action(async (ctx, ref: string) => {
      const v = await resolveModel(ctx.store(), ref);
      ctx.result(v, [
        `${v.name}@${v.version}  trainer ${v.trainer}  created ${v.created_at}  run ${v.run_id ?? '—'}`,
        `dataset ${v.dataset ? `${v.dataset.name}@${v.dataset.version.slice(0, 12)}` : '—'}  onnx sha256:${v.artifact.sha256.slice(0, 12)} (${v.artifact.bytes} bytes)  baseline ${v.baseline ? `sha256:${v.baseline.sha256.slice(0, 12)}` : '—'}`,
        `output ${v.signature.output.column} (${v.signature.output.unit}); ${v.signature.features.length} features`,
        `metrics ${Object.entries(v.metrics).map(([k, m]) => `${k}=${m.toPrecision(5)}`).join(' ')}`,
        ...Object.entries(v.undefined_metrics ?? {}).map(([k, why]) => `undefined ${k}: ${why}`),
      ]);
    }));

  models.command('promote <name> <version>').description('point an alias at a version (compare-and-swap)')
    .requiredOption('--alias <alias>', 'alias to move (prod, dev, champion…)')
    .action(action(async (ctx, name: string, version: string, opts: { alias: string }) => {
      const a = await moveAlias(ctx.store(), name, opts.alias, intOption('VERSION')(version), { reason: 'promote (cli)' });
      ctx.result(a, `${name}@${a.alias} → version ${a.version}${a.previous ? ` (was ${a.previous})` : ''}`);
    }));

  models.command('rollback <name>').description('move an alias back to the version it held before its latest move')
    .requiredOption('--alias <alias>', 'alias to roll back')
    .option('--to <version>', 'roll back to this version instead', intOption('--to'))
    .action(action(async (ctx, name: string, opts: { alias: string; to?: number }) => {
      const a = await rollbackAlias(ctx.store(), name, opts.alias, opts.to);
      ctx.result(a, `${name}@${a.alias} rolled back to version ${a.version} (from ${a.previous})`);
    }));

  models.command('history <name>')
    .description('every applied move of an alias, oldest first, then any that never applied')
    .requiredOption('--alias <alias>', 'alias')
    .action(action(async (ctx, name: string, opts: { alias: string }) => {
      const { moves, unapplied } = await readAliasHistory(ctx.store(), name, opts.alias);
      const line = (m: AliasMove) => `${m.seq}\t${m.at}\t${m.from ?? '—'} → ${m.to}\t${m.reason}`;
      ctx.result({ name, alias: opts.alias, moves, unapplied }, [
        ...(moves.length ? moves.map(line) : ['no moves']),
        // A claimed entry whose swap never happened (a lost race, or a process killed between the two writes).
        ...unapplied.map((m) => `not applied: ${line(m)}`),
      ]);
    }));
}
