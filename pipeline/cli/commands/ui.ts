// `mltk ui`: the read-only browser over the store, served on 127.0.0.1 or written as a static site.
import type { Command } from 'commander';
import { openStore } from '../../store/index.ts';
// Loaded when the command runs: the other commands (and --help) do not compile and evaluate its code.
const loadUi = () => import('../../ui/index.ts');
import { action } from '../context.ts';
import { intOption } from '../options.ts';

interface UiFlags {
  port: number;
  predictions?: string;
  output?: string;
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('browse the store read-only: runs, compare, models (versions, aliases, lineage), data, monitoring')
    .option('--port <n>', 'port on 127.0.0.1 (0 picks a free one)', intOption('--port', 0), 8080)
    .option('--predictions <url>', 'store or bucket holding predictions/ and monitoring/ (default: the --store)')
    .option(
      '--output <dir>',
      'write the site as static files to DIR (relative links; open DIR/index.html) instead of serving it',
    )
    .action(
      action(async (ctx, flags: UiFlags) => {
        const { startUiServer, writeStaticSite } = await loadUi();
        const stores = {
          store: ctx.store(),
          predictions: flags.predictions ? openStore(flags.predictions) : ctx.store(),
        };
        if (flags.output) {
          const r = await writeStaticSite(stores, flags.output, { onPage: (p) => ctx.progress(`writing ${p}`) });
          ctx.result({ output: r.output, pages: r.pages, problems: r.problems }, [
            `wrote ${r.pages} pages to ${r.output} — open ${r.output}/index.html`,
            ...r.problems.map(
              (p) => `warning: ${p.path} (${p.status}, linked from ${p.linkedFrom || 'the start'}): ${p.error}`,
            ),
          ]);
          return;
        }
        const server = await startUiServer(stores, { port: flags.port });
        ctx.result(
          { url: `${server.url}/`, store: stores.store.url, predictions: stores.predictions.url },
          `mltk ui on ${server.url}/ (read-only over ${stores.store.url}; Ctrl-C stops)`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            void server.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
