// The `command` trainer: an external program trains and writes an ONNX model that must follow the
// same input contract as our own export; we only run it, time it out, and check what it wrote.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { TrainingError } from '../errors/index.ts';
import { writeTableCsv } from './csv.ts';
import { openContractSession, scoreOnnx } from './onnx/session.ts';
import type { TrainedModel, TrainOptions } from './types.ts';

const STDERR_TAIL = 2000;

export async function trainCommand(
  config: ModelConfig,
  argv: string[],
  timeoutS: number,
  train: Table,
  opts: TrainOptions,
): Promise<TrainedModel> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-train-'));
  try {
    const paths = {
      train: join(dir, 'train.csv'),
      test: join(dir, 'test.csv'),
      output: join(dir, 'model.onnx'),
      config: join(dir, 'config.json'),
    };
    await writeTableCsv(train, paths.train);
    await writeTableCsv(opts.test ?? { rows: 0, columns: train.columns }, paths.test);
    await writeFile(paths.config, JSON.stringify(config, null, 2));
    const args = argv.map((a) => a.replace(/\{(train|test|output|config)\}/g, (_, k: keyof typeof paths) => paths[k]));
    await run(args, timeoutS);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(paths.output));
    } catch {
      throw new TrainingError(`trainer command exited 0 but wrote no model at {output} (${args.join(' ')})`);
    }
    const session = await openContractSession(config, bytes, 'the model written by the trainer command');
    return {
      onnx: bytes,
      predict: (table) => scoreOnnx(session, config, table),
      rounds: [],
      params: { command: JSON.stringify(argv), timeout_s: timeoutS },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(args: string[], timeoutS: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-STDERR_TAIL);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new TrainingError(`cannot start trainer command "${args[0]}": ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new TrainingError(`trainer command timed out after ${timeoutS}s: ${args.join(' ')}`));
      else if (code !== 0)
        reject(
          new TrainingError(
            `trainer command failed (${code !== null ? `exit ${code}` : signal}): ${args.join(' ')}\n${stderr.trim()}`,
            [{ issue: stderr.trim().slice(-500) }],
          ),
        );
      else resolve();
    });
  });
}
