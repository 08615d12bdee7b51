import assert from 'node:assert/strict';
import test from 'node:test';
import { LevelRunner, sharedArray, type LevelBuffers } from './threads.ts';

/** Buffers for an empty level (no histograms to build, no splits) over two byte columns. */
function emptyLevel(): LevelBuffers {
  const i32 = (n: number) => sharedArray(Int32Array, n, true);
  const f64 = (n: number) => sharedArray(Float64Array, n, true);
  return {
    bins: sharedArray(Uint8Array, 2, true),
    grad: f64(1),
    idx: i32(1),
    hist: f64(1024),
    task: i32(64),
    taskGrad: f64(64),
    layout: i32(64),
    members: i32(64),
    codeBins: i32(64),
    params: f64(64),
    result: f64(1024),
    columns: 2,
    maxSplits: 4,
    ptask: i32(64),
    ltask: f64(64),
    lefts: i32(64),
    mids: i32(64),
    scratch: i32(2),
    byFeature: sharedArray(Uint8Array, 2, true),
    rows: 1,
  };
}

test("an exception in a worker thread fails the training with the worker's message and stack", async () => {
  const b = emptyLevel();
  const task = b.task;
  // The worker receives the buffers once, by structured clone when the runner starts: hand it no task
  // table (a real TypeError inside the worker's kernel) while the main thread keeps the real one.
  let reads = 0;
  Object.defineProperty(b, 'task', { enumerable: true, get: () => (reads++ === 0 ? undefined : task) });
  const runner = await LevelRunner.start(b, 2);
  try {
    assert.equal(runner.threads, 2);
    assert.throws(
      () => runner.run(),
      (e: Error) =>
        /^training worker thread 1 failed: TypeError: Cannot read properties of undefined/.test(e.message) &&
        /in the worker:\n\s*TypeError: Cannot read properties of undefined[\s\S]*at levelTask/.test(e.stack ?? '') &&
        (e.cause as Error).name === 'TypeError',
    );
  } finally {
    await runner.close();
  }
});

test('a level without failures runs on every thread and reports nothing', async () => {
  const runner = await LevelRunner.start(emptyLevel(), 2);
  try {
    for (let level = 0; level < 40; level++) runner.run();
    runner.partition();
    runner.addLeaves();
  } finally {
    await runner.close();
  }
});
