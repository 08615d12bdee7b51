import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  executionInputSchema,
  finalizeResultSchema,
  isScaleEvent,
  needsShards,
  planResultSchema,
  runIdFor,
  runKeys,
  RUN_ID_PATTERN,
  scaleEventSchema,
  shardEventSchema,
} from './index.ts';

const input = { bucket: 'mltk-data', key: 'incoming/2026/01/homes.csv', etag: 'abc123', size: 3 * 2 ** 30 };

test('the same object version always gets the same run id, a valid execution name', () => {
  const id = runIdFor(input);
  assert.equal(runIdFor({ ...input, etag: '"abc123"' }), id, 'quoted (HeadObject) and bare (event) ETags agree');
  assert.match(id, RUN_ID_PATTERN);
  assert.match(id, /^homes_csv-[0-9a-f]{32}$/);
  const others = [
    runIdFor({ ...input, etag: 'abc124' }),
    runIdFor({ ...input, version_id: 'v2' }),
    runIdFor({ ...input, bucket: 'other' }),
    runIdFor({ ...input, key: 'incoming/2026/02/homes.csv' }),
  ];
  assert.equal(new Set([id, ...others]).size, 5, 'another ETag, version, bucket or key is another run');
  const long = runIdFor({ ...input, key: `incoming/${'ü x'.repeat(100)}.csv` });
  assert.ok(long.length <= 80 && RUN_ID_PATTERN.test(long), long);
  assert.match(runIdFor({ ...input, key: 'incoming/.../' }), /^[0-9a-f]{32}$/, 'no readable slug: the hash alone');
});

test('the run keys live under tmp/scale/<run_id>/ and parts sort in input order', () => {
  const keys = runKeys('r-1');
  assert.equal(keys.plan, 'tmp/scale/r-1/plan.json');
  assert.equal(keys.items, 'tmp/scale/r-1/items.json');
  assert.equal(keys.part(7).predictions, 'tmp/scale/r-1/parts/000007/predictions.csv');
  const names = [10, 9, 100].map((i) => keys.part(i).errors).sort();
  assert.deepEqual(
    names,
    [9, 10, 100].map((i) => keys.part(i).errors),
  );
  assert.throws(() => runKeys('../x'), /not a run id/);
});

test('events are routed by mltk_step and parsed strictly', () => {
  const id = runIdFor(input);
  const plan = scaleEventSchema.parse({ mltk_step: 'plan', run_id: id, input });
  assert.equal(plan.mltk_step, 'plan');
  const shard = { mltk_step: 'shard', run_id: id, index: 2, start: 100, end: 200, first_row: 40, rows: 10 };
  assert.deepEqual(scaleEventSchema.parse(shard), shard);
  assert.equal(scaleEventSchema.parse({ mltk_step: 'finalize', run_id: id }).mltk_step, 'finalize');
  assert.ok(isScaleEvent(shard));
  assert.ok(!isScaleEvent({ Records: [] }));
  assert.ok(!isScaleEvent(null));

  const refused: [unknown, RegExp][] = [
    [{ ...shard, end: 100 }, /end must be past start/],
    [{ ...shard, first_row: -1 }, /first_row/],
    [{ ...shard, run_id: 'a b' }, /run id/],
    [{ ...shard, run_id: 'x'.repeat(81) }, /run id/],
    [{ ...shard, extra: 1 }, /extra/],
    [{ mltk_step: 'score', run_id: id }, /mltk_step/],
    [{ mltk_step: 'plan', run_id: id, input: { ...input, etag: '' } }, /etag/],
    [{ mltk_step: 'finalize' }, /run_id/],
  ];
  for (const [raw, message] of refused) {
    const r = scaleEventSchema.safeParse(raw);
    assert.ok(!r.success, JSON.stringify(raw));
    assert.match(JSON.stringify(r.error.issues), message);
  }
  assert.ok(!shardEventSchema.safeParse({ ...shard, mltk_step: 'plan' }).success);
});

test('execution input and step results keep their shapes', () => {
  const id = runIdFor(input);
  assert.ok(executionInputSchema.safeParse({ run_id: id, input }).success);
  assert.ok(!executionInputSchema.safeParse({ run_id: id, input, mltk_step: 'plan' }).success);
  assert.ok(
    planResultSchema.safeParse({ run_id: id, shards: 0, items: { bucket: 'p', key: runKeys(id).items } }).success,
  );
  assert.ok(!planResultSchema.safeParse({ run_id: id, shards: 1.5, items: { bucket: 'p', key: 'k' } }).success);
  const outputs = { predictions: 'a', errors: 'b', manifest: 'c' };
  const fin = { run_id: id, status: 'scored', input_key: input.key, shards: 3, rows: 9, scored: 8, errors: 1, outputs };
  assert.ok(finalizeResultSchema.safeParse(fin).success);
  assert.ok(!finalizeResultSchema.safeParse({ ...fin, status: 'partial' }).success);
});

test('only objects larger than one shard are sharded', () => {
  assert.equal(needsShards(256, 256), false);
  assert.equal(needsShards(257, 256), true);
});
