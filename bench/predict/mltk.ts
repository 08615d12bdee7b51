// The `mltk predict` / `mltk serve` commands as their own executable, so the bench runs exactly
// what users run (the same command functions main.ts registers).
import { Command } from 'commander';
import { registerPredict } from '../../pipeline/cli/commands/predict.ts';
import { registerServe } from '../../pipeline/cli/commands/serve.ts';

const program = new Command('mltk').option('--store <url>').option('--json');
registerPredict(program);
registerServe(program);
await program.parseAsync(process.argv);
