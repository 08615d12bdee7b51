// The mltk CLI: one commander program; each command group lives in commands/.
import { Command } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { registerData } from './commands/data.ts';
import { registerRuns } from './commands/runs.ts';
import { registerModels } from './commands/models.ts';
import { registerTrain } from './commands/train.ts';
import { registerMonitor } from './commands/monitor.ts';
import { registerQuality } from './commands/quality.ts';
import { registerPredict } from './commands/predict.ts';
import { registerScaleShard } from './commands/scale.ts';
import { registerServe } from './commands/serve.ts';
import { registerUi } from './commands/ui.ts';
import { registerStore } from './commands/store.ts';

// The AWS SDK warns on every command under Node 20 that its releases after January 2027 need Node 22:
// the SDK is pinned by package-lock.json, so the warning is not about anything this command does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function buildProgram(): Command {
  const program = new Command('mltk')
    .description('Serverless MLOps toolkit: data versions, runs, model registry, training, prediction and monitoring')
    .version(pkg.version, '-V, --version', 'print the mltk version')
    .option(
      '--store <url>',
      'object store: a folder, file://PATH or s3://bucket/prefix (default: $MLTK_STORE or ./.mltk)',
    )
    .option('--json', 'print exactly one JSON document on stdout; human text goes to stderr')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(`mltk: ${str.replace(/^error: /, '')}`) });
  registerData(program);
  registerRuns(program);
  registerModels(program);
  registerTrain(program);
  registerPredict(program);
  registerScaleShard(program);
  registerServe(program);
  registerMonitor(program);
  registerUi(program);
  registerStore(program);
  registerQuality(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
