// serving.batch: when an object is scored in shards by the state machine, and how many shards at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors/index.ts';
import { parseModelConfig } from './index.ts';

const shipped = async () => JSON.parse(await readFile('configs/sap_change.json', 'utf8'));

test('serving.batch defaults to 256 MiB shards, 100 at a time, with or without a serving section', async () => {
  const raw = await shipped();
  assert.deepEqual(parseModelConfig(raw, 'c.json').serving.batch, { shard_bytes: 268_435_456, max_concurrency: 100 });
  delete raw.serving;
  assert.deepEqual(parseModelConfig(raw, 'c.json').serving.batch, { shard_bytes: 268_435_456, max_concurrency: 100 });
  raw.serving = { batch: { shard_bytes: 64 * 2 ** 20, max_concurrency: 1000 } };
  assert.deepEqual(parseModelConfig(raw, 'c.json').serving.batch, { shard_bytes: 67_108_864, max_concurrency: 1000 });
});

test('a shard under 1 MiB, a concurrency past Distributed Map limit or an unknown key is refused by name', async () => {
  const raw = await shipped();
  for (const [batch, message] of [
    [{ shard_bytes: 1000 }, /serving\.batch\.shard_bytes: .*1048576/],
    [{ shard_bytes: 2 ** 20 + 0.5 }, /serving\.batch\.shard_bytes: .*expected int/],
    [{ max_concurrency: 10_001 }, /serving\.batch\.max_concurrency: .*10000/],
    [{ max_concurrency: 0 }, /serving\.batch\.max_concurrency/],
    [{ shards: 4 }, /serving\.batch: .*shards/],
  ] as const) {
    raw.serving.batch = batch;
    assert.throws(
      () => parseModelConfig(raw, 'configs/x.json'),
      (e: unknown) => e instanceof ConfigError && message.test(e.message) && e.message.startsWith('configs/x.json: '),
      JSON.stringify(batch),
    );
  }
});
