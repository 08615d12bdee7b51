import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INSTANCES,
  instancesWithin,
  loadModelConfig,
  parseModelConfig,
  widestInstanceBytes,
  widestRequestBytes,
} from './index.ts';

const configs = ['sap_change', 'heat_change', 'carbon_change'].map((m) =>
  join(import.meta.dirname, `../../configs/${m}.json`),
);

test(
  'the widest instance of a signature: every feature present, numbers as long as a double prints, the longest ' +
    'category',
  async () => {
    const config = await loadModelConfig(configs[0]!);
    const widest = Object.fromEntries(
      config.features.map((f) => [
        f.name,
        f.type === 'numeric'
          ? -2.2250738585072014e-308
          : f.type === 'boolean'
            ? false
            : f.values.reduce((a, b) => (JSON.stringify(b).length > JSON.stringify(a).length ? b : a)),
      ]),
    );
    assert.equal(widestInstanceBytes(config.features), JSON.stringify(widest).length);
    assert.equal(
      widestRequestBytes(config.features, 3),
      JSON.stringify({ instances: [widest, widest, widest] }).length,
    );
    assert.equal(instancesWithin(config.features, widestRequestBytes(config.features, 7)), 7);
  },
);

test(
  'every shipped config allows a request of max_instances instances under max_body_bytes, and the defaults ' + 'agree',
  async () => {
    for (const path of configs) {
      const config = await loadModelConfig(path);
      assert.ok(widestRequestBytes(config.features, config.serving.max_instances) <= config.serving.max_body_bytes);
      const { serving: _, ...rest } = JSON.parse(await readFile(path, 'utf8'));
      const defaults = parseModelConfig(rest, path).serving;
      assert.deepEqual(
        [defaults.max_body_bytes, defaults.max_instances],
        [DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INSTANCES],
      );
    }
  },
);

test('limits that disagree, or a body Lambda cannot take, are config errors naming what would fit', async () => {
  const raw = JSON.parse(await readFile(configs[0]!, 'utf8'));
  const withServing = (serving: Record<string, unknown>) => ({ ...raw, serving: { ...raw.serving, ...serving } });
  // The limits before #17: ten thousand instances in one megabyte.
  assert.throws(
    () => parseModelConfig(withServing({ max_body_bytes: 1_000_000, max_instances: 10_000 }), 'old.json'),
    /serving\.max_instances: 10000 instances can take 7000015 bytes \(every feature at its widest, compact JSON\), over serving\.max_body_bytes 1000000: allow at most 1428 instances, or more bytes/,
  );
  assert.throws(
    () => parseModelConfig(withServing({ max_body_bytes: 6_000_000 }), 'big.json'),
    /serving\.max_body_bytes: at most 5500000 bytes: Lambda takes 6 MB for the whole API Gateway event/,
  );
});
