// `mltk models`: the registry — list, show, promote, rollback, history.
import type { Command } from 'commander';
import { datasetVersionKey, datasetVersionSchema } from '../../data/index.ts';
import {
  listModelVersions,
  listModelNames,
  listAliases,
  resolveModel,
  moveAlias,
  rollbackAlias,
  readAliasHistory,
  getAlias,
  getModelVersion,
  copyModelVersion,
  checkReleasable,
  type AliasMove,
  type ModelVersion,
} from '../../registry/index.ts';
import { openStore, readJson, type ObjectStore } from '../../store/index.ts';
import { action, writeStepOutputs, writeStepSummary } from '../context.ts';
import { intOption } from '../options.ts';

function lineage(v: ModelVersion): string {
  return [v.dataset?.pinned ? 'pinned' : 'not pinned', v.dataset?.synthetic ? 'synthetic' : 'real data'].join(', ');
}

/** The release check against what the store holds: the version's lineage and its dataset-version manifest. */
async function checkStoredLineage(store: ObjectStore, mv: ModelVersion): Promise<void> {
  const key = mv.dataset && datasetVersionKey(mv.dataset.name, mv.dataset.version);
  const dataset = key && (await store.head(key)) ? await readJson(store, key, datasetVersionSchema) : undefined;
  checkReleasable(mv, store.url, dataset);
}

// Why noExcessiveLinesPerFunction is waived: the models subcommands' declarations (options and help) in one place; each
// action is a call into pipeline/registry
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is above
export function registerModels(program: Command): void {
  const models = program.command('models').description('model registry: versions and aliases');

  models
    .command('list [name]')
    .description('list models, or the versions and aliases of one')
    .action(
      action(async (ctx, name?: string) => {
        const store = ctx.store();
        if (!name) {
          const names = await listModelNames(store);
          ctx.result({ models: names }, names.length ? names : 'no models');
          return;
        }
        const [{ versions, malformed }, listed] = await Promise.all([
          listModelVersions(store, name),
          listAliases(store, name),
        ]);
        const aliases = listed.aliases;
        const skipped = [...malformed, ...listed.malformed];
        ctx.warnMalformed(skipped);
        const tags = (v: number) =>
          aliases
            .filter((a) => a.version === v)
            .map((a) => `@${a.alias}`)
            .join(' ');
        ctx.result(
          {
            name,
            versions: versions.map((v) => ({
              version: v.version,
              created_at: v.created_at,
              run_id: v.run_id,
              metrics: v.metrics,
              undefined_metrics: v.undefined_metrics ?? {},
              aliases: aliases.filter((a) => a.version === v.version).map((a) => a.alias),
            })),
            aliases,
            malformed: skipped,
          },
          versions.length
            ? versions.map(
                (v) =>
                  `${name}@${v.version}\t${v.created_at}\trmse ` +
                  `${v.metrics.rmse?.toPrecision(5) ?? '—'}\t${tags(v.version)}`,
              )
            : `no versions of ${name}`,
        );
      }),
    );

  models
    .command('show <ref>')
    .description('show NAME@VERSION or NAME@ALIAS')
    .action(
      action(async (ctx, ref: string) => {
        const v = await resolveModel(ctx.store(), ref);
        ctx.result(v, [
          `${v.name}@${v.version}  trainer ${v.trainer}  created ${v.created_at}  run ${v.run_id ?? '—'}`,
          `dataset ${v.dataset ? `${v.dataset.name}@${v.dataset.version.slice(0, 12)}` : '—'}  onnx ` +
            `sha256:${v.artifact.sha256.slice(0, 12)} (${v.artifact.bytes} bytes)  baseline ` +
            `${v.baseline ? `sha256:${v.baseline.sha256.slice(0, 12)}` : '—'}`,
          `output ${v.signature.output.column} (${v.signature.output.unit}); ${v.signature.features.length} features`,
          `metrics ${Object.entries(v.metrics)
            .map(([k, m]) => `${k}=${m.toPrecision(5)}`)
            .join(' ')}`,
          ...Object.entries(v.undefined_metrics ?? {}).map(([k, why]) => `undefined ${k}: ${why}`),
        ]);
      }),
    );

  models
    .command('promote <name> <version>')
    .description('point an alias at a version (compare-and-swap); no move if it already does')
    .requiredOption('--alias <alias>', 'alias to move (prod, dev, champion…)')
    .option('--require-pinned', 'refuse a version trained on synthetic or unpinned data (a prod release)')
    .action(
      action(async (ctx, name: string, version: string, opts: { alias: string; requirePinned?: boolean }) => {
        const store = ctx.store();
        const n = intOption('VERSION')(version);
        if (opts.requirePinned) await checkStoredLineage(store, await getModelVersion(store, name, n));
        const current = await getAlias(store, name, opts.alias);
        if (current?.version === n) {
          ctx.result(
            { ...current, moved: false },
            `${name}@${current.alias} already points at version ${n}; nothing moved`,
          );
          return;
        }
        const a = await moveAlias(store, name, opts.alias, n, { reason: 'promote (cli)' });
        ctx.result(
          { ...a, moved: true },
          `${name}@${a.alias} → version ${a.version}${a.previous ? ` (was ${a.previous})` : ''}`,
        );
      }),
    );

  models
    .command('copy <ref>')
    .description('copy NAME@VERSION|ALIAS with its ONNX, baseline, run and dataset-version manifests to another store')
    .requiredOption('--from <url>', 'source store (a folder or s3://bucket[/prefix])')
    .requiredOption('--to <url>', 'target store')
    .option('--with-data', 'also copy the training data bytes')
    .option(
      '--require-pinned',
      'refuse, writing nothing, a version trained on synthetic or unpinned data (a prod release)',
    )
    .action(
      action(
        async (ctx, ref: string, opts: { from: string; to: string; withData?: boolean; requirePinned?: boolean }) => {
          ctx.say(`copying ${ref} from ${opts.from} to ${opts.to}${opts.withData ? ' with its training data' : ''}…`);
          const r = await copyModelVersion(openStore(opts.from), openStore(opts.to), ref, {
            withData: opts.withData,
            requirePinned: opts.requirePinned,
          });
          const v = r.version;
          const what = r.created
            ? `registered as ${v.name}@${v.version}`
            : `already there as ${v.name}@${v.version}: reused, nothing registered`;
          writeStepOutputs({ model: v.name, version: v.version, sha256: v.artifact.sha256, created: r.created });
          writeStepSummary(
            [
              `### mltk models copy: ${r.source.name}@${r.source.version} → ` +
                `${v.name}@${v.version}${r.created ? '' : ' (reused)'}`,
              '',
              `| from | ${r.source.store} |`,
              '|---|---|',
              `| to | ${opts.to} |`,
              `| artifact | \`sha256:${v.artifact.sha256}\` |`,
              `| data | ${v.dataset ? `\`${v.dataset.name}@${v.dataset.version}\` (${lineage(v)})` : '—'} |`,
              `| written | ${r.written.length} objects |`,
              '',
            ].join('\n'),
          );
          ctx.result(
            {
              model: v.name,
              version: v.version,
              created: r.created,
              sha256: v.artifact.sha256,
              source: r.source,
              to: opts.to,
              written: r.written,
            },
            [
              `${r.source.name}@${r.source.version} (${r.source.store}) → ${opts.to}: ${what}`,
              `onnx sha256:${v.artifact.sha256}; ${r.written.length} objects written`,
            ],
          );
        },
      ),
    );

  models
    .command('rollback <name>')
    .description('move an alias back to the version it held before its latest move')
    .requiredOption('--alias <alias>', 'alias to roll back')
    .option('--to <version>', 'roll back to this version instead', intOption('--to'))
    .action(
      action(async (ctx, name: string, opts: { alias: string; to?: number }) => {
        const a = await rollbackAlias(ctx.store(), name, opts.alias, opts.to);
        ctx.result(a, `${name}@${a.alias} rolled back to version ${a.version} (from ${a.previous})`);
      }),
    );

  models
    .command('history <name>')
    .description('every applied move of an alias, oldest first, then any that never applied')
    .requiredOption('--alias <alias>', 'alias')
    .action(
      action(async (ctx, name: string, opts: { alias: string }) => {
        const { moves, unapplied } = await readAliasHistory(ctx.store(), name, opts.alias);
        const line = (m: AliasMove) => `${m.seq}\t${m.at}\t${m.from ?? '—'} → ${m.to}\t${m.reason}\t${m.by ?? '—'}`;
        ctx.result({ name, alias: opts.alias, moves, unapplied }, [
          ...(moves.length ? moves.map(line) : ['no moves']),
          // A claimed entry whose swap never happened (a lost race, or a process killed between the two writes).
          ...unapplied.map((m) => `not applied: ${line(m)}`),
        ]);
      }),
    );
}
