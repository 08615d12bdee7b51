// `mltk store`: maintenance of the store itself (layout migrations).
import type { Command } from 'commander';
import { MltkError } from '../../errors/index.ts';
import { migrateRegistryArtifacts } from '../../registry/index.ts';
import { action } from '../context.ts';

export function registerStore(program: Command): void {
  const store = program.command('store').description('maintain the store (layout migrations)');

  store
    .command('migrate')
    .description(
      'copy model artifacts of registered versions from blobs/sha256/ to models/NAME/artifacts/ (idempotent)',
    )
    .action(
      action(async (ctx) => {
        const r = await migrateRegistryArtifacts(ctx.store());
        ctx.warnMalformed(r.malformed);
        if (r.missing.length) {
          // The rest was migrated; a version whose artifact is stored nowhere cannot be served: fail naming it.
          const list = r.missing.map((m) => `${m.model} ${m.sha256.slice(0, 12)}`).join(', ');
          const details = r.missing.map((m) => ({ field: m.model, issue: `artifact ${m.sha256} is stored nowhere` }));
          const done = `${r.copied.length} copied, ${r.present} already in place`;
          throw new MltkError(
            'INTEGRITY',
            `${ctx.storeUrl}: ${done}; ${r.missing.length} artifact(s) of registered versions are stored ` +
              `nowhere: ${list}`,
            details,
          );
        }
        ctx.result({ store: ctx.storeUrl, copied: r.copied, present: r.present, malformed: r.malformed }, [
          ...r.copied.map((c) => `copied ${c.from} → ${c.to}`),
          `${r.copied.length} artifact(s) copied, ${r.present} already in place (${ctx.storeUrl})`,
        ]);
      }),
    );
}
