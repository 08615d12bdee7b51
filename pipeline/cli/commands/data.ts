// `mltk data`: version data files (add, list, show, get) and generate synthetic EPC data (synth).
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { isUrl } from '../../store/index.ts';
import {
  addDatasetVersion,
  addDatasetVersionFromObject,
  listDatasetNames,
  listDatasetVersions,
  resolveDatasetVersion,
  getDatasetVersion,
} from '../../data/index.ts';
import { writeSynthCsv } from '../../data/index.ts';
import { loadModelConfig, pinDatasetVersion } from '../../config/index.ts';
import { ConfigError, quoted } from '../../errors/index.ts';
import { action } from '../context.ts';
import { intOption } from '../options.ts';

async function checkPinnable(config: string, dataset: string): Promise<void> {
  const parsed = await loadModelConfig(config);
  if (parsed.dataset.name !== dataset)
    throw new ConfigError(
      `${config}: trains on dataset "${parsed.dataset.name}", not ${quoted(dataset)}; nothing added or pinned`,
    );
  if (parsed.dataset.file !== undefined)
    throw new ConfigError(
      `${config}: names dataset.file; a pin replaces it (remove dataset.file first); nothing added or pinned`,
    );
}

// the data subcommands' declarations (options and help) in one place; each action is a call into pipeline/data
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is the comment above
export function registerData(program: Command): void {
  const data = program.command('data').description('version data files (content-addressed, DVC-like)');

  data
    .command('add <file>')
    .description(
      'store FILE (a path, or an object URL such as s3://bucket/key, streamed once) as a new dataset version; prints ' +
        'its pin',
    )
    .requiredOption('--dataset <name>', 'dataset name')
    .option('--pin <config>', 'also write the version into this model config as dataset.version (a one-line edit)')
    .action(
      action(async (ctx, file: string, opts: { dataset: string; pin?: string }) => {
        // Refuse a config that cannot take the pin before hashing a large file.
        if (opts.pin) await checkPinnable(opts.pin, opts.dataset);
        ctx.say(`hashing and profiling ${file}${isUrl(file) ? ` while streaming it into ${ctx.storeUrl}` : ''}…`);
        const { version: v, created } = isUrl(file)
          ? await addDatasetVersionFromObject(ctx.store(), opts.dataset, file)
          : await addDatasetVersion(ctx.store(), opts.dataset, file);
        const pin = opts.pin ? await pinDatasetVersion(opts.pin, v.dataset, v.version) : null;
        const pinLine = pin
          ? `pinned   ${pin.path}: dataset.version = ${v.version}${
              pin.changed ? (pin.previous ? ` (was ${pin.previous.slice(0, 12)})` : '') : ' (already pinned)'
            }; commit it`
          : `pin it   "dataset": { "version": "${v.version}" } in the model config (or add --pin configs/MODEL.json)`;
        ctx.result(
          {
            dataset: v.dataset,
            version: v.version,
            rows: v.rows,
            bytes: v.bytes,
            columns: v.columns,
            created,
            store: ctx.storeUrl,
            pinned: pin ? { config: pin.path, previous: pin.previous, changed: pin.changed } : null,
          },
          [
            `${created ? 'added' : 'unchanged (identical content already versioned)'} ${v.dataset}@${v.version.slice(
              0,
              12,
            )}: ${v.rows} rows, ${v.columns.length} columns, ${v.bytes} bytes → ${ctx.storeUrl}`,
            pinLine,
          ],
        );
      }),
    );

  data
    .command('list [name]')
    .description('list datasets, or the versions of one')
    .action(
      action(async (ctx, name?: string) => {
        const store = ctx.store();
        if (!name) {
          const names = await listDatasetNames(store);
          const rows = await Promise.all(
            names.map(async (n) => ({ dataset: n, versions: (await listDatasetVersions(store, n)).length })),
          );
          ctx.result(
            { datasets: rows },
            rows.length ? rows.map((r) => `${r.dataset}\t${r.versions} version(s)`) : 'no datasets',
          );
          return;
        }
        const versions = await listDatasetVersions(store, name);
        ctx.result(
          {
            dataset: name,
            versions: versions.map(({ version, rows, bytes, created_at, source }) => ({
              version,
              rows,
              bytes,
              created_at,
              source,
            })),
          },
          versions.length
            ? versions.map((v) => `${v.version.slice(0, 12)}\t${v.rows} rows\t${v.created_at}\t${v.source}`)
            : `no versions of ${name}`,
        );
      }),
    );

  data
    .command('show <ref>')
    .description('show NAME[@VERSION] (latest when no version)')
    .action(
      action(async (ctx, ref: string) => {
        const v = await resolveDatasetVersion(ctx.store(), ref);
        ctx.result(v, [
          `${v.dataset}@${v.version}`,
          `rows ${v.rows}, bytes ${v.bytes}, created ${v.created_at}, source ${v.source}`,
          ...v.columns.map(
            (c) =>
              `  ${c.name}\t${c.type}\tmissing ${c.missing}${
                c.values ? `\t${c.values.join('|')}` : c.min !== undefined ? `\t[${c.min}, ${c.max}]` : ''
              }`,
          ),
        ]);
      }),
    );

  data
    .command('get <ref>')
    .description('write NAME@VERSION to a file, verifying its hash')
    .requiredOption('-o, --output <file>', 'where to write it')
    .action(
      action(async (ctx, ref: string, opts: { output: string }) => {
        const v = await getDatasetVersion(ctx.store(), ref, opts.output);
        ctx.result(
          { dataset: v.dataset, version: v.version, rows: v.rows, output: opts.output },
          `wrote ${v.dataset}@${v.version.slice(0, 12)} (${v.bytes} bytes, hash verified) to ${opts.output}`,
        );
      }),
    );

  data
    .command('synth')
    .description('write a deterministic synthetic EPC-style retrofit dataset (see pipeline/data/synth.ts)')
    .option('--rows <n>', 'rows to generate', intOption('--rows'), 20000)
    .option('--seed <n>', 'random seed', intOption('--seed'), 42)
    .requiredOption('-o, --output <file>', 'CSV file to write')
    .action(
      action(async (ctx, opts: { rows: number; seed: number; output: string }) => {
        const out = createWriteStream(opts.output);
        const res = await writeSynthCsv({ rows: opts.rows, seed: opts.seed }, out);
        await new Promise<void>((resolve, reject) => {
          out.end(() => resolve());
          out.once('error', reject);
        });
        ctx.result(
          { output: opts.output, rows: res.rows, bytes: res.bytes, seed: opts.seed },
          `wrote ${res.rows} rows (${res.bytes} bytes, seed ${opts.seed}) to ${opts.output}`,
        );
      }),
    );
}
