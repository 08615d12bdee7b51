import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../pipeline/errors/index.ts';
import { allTargets, listModels, resolveTarget } from './targets.ts';

const PROTECTED = [
  { branch: 'sap_change-dev', model: 'sap_change', env: 'dev', prefix: 'SAP_CHANGE_DEV' },
  { branch: 'sap_change-prod', model: 'sap_change', env: 'prod', prefix: 'SAP_CHANGE_PROD' },
  { branch: 'heat_change-dev', model: 'heat_change', env: 'dev', prefix: 'HEAT_CHANGE_DEV' },
  { branch: 'heat_change-prod', model: 'heat_change', env: 'prod', prefix: 'HEAT_CHANGE_PROD' },
  { branch: 'carbon_change-dev', model: 'carbon_change', env: 'dev', prefix: 'CARBON_CHANGE_DEV' },
  { branch: 'carbon_change-prod', model: 'carbon_change', env: 'prod', prefix: 'CARBON_CHANGE_PROD' },
] as const;

test('the models are the configs in configs/', () => {
  assert.deepEqual(listModels(), ['carbon_change', 'heat_change', 'sap_change']);
});

for (const want of PROTECTED) {
  test(`${want.branch} resolves to ${want.model} in ${want.env} with ${want.prefix}_* secrets`, () => {
    const t = resolveTarget(want.branch);
    assert.equal(t.branch, want.branch);
    assert.equal(t.model, want.model);
    assert.equal(t.env, want.env);
    assert.equal(t.prefix, want.prefix);
    assert.deepEqual(t.secrets, {
      ecrUri: `${want.prefix}_ECR_URI`,
      domainName: `${want.prefix}_DOMAIN_NAME`,
      dataBucket: `${want.prefix}_DATA_BUCKET`,
      modelBucket: `${want.prefix}_MODEL_BUCKET`,
      predictionsBucket: `${want.prefix}_PREDICTIONS_BUCKET`,
    });
  });
}

test('allTargets is exactly the six protected branches', () => {
  assert.deepEqual(
    allTargets()
      .map((t) => t.branch)
      .sort(),
    PROTECTED.map((p) => p.branch).sort(),
  );
});

for (const branch of ['main', 'sap_change-staging', 'foo-dev', 'sap_change', '']) {
  test(`"${branch}" is refused with a message naming it and the valid branches`, () => {
    assert.throws(
      () => resolveTarget(branch),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(`Branch "${branch}" is not a protected deploy branch`));
        for (const p of PROTECTED) assert.ok(err.message.includes(p.branch), `message lists ${p.branch}`);
        return true;
      },
    );
  });
}

test('a fourth model needs only its config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-configs-'));
  try {
    for (const name of ['sap_change', 'heat_change', 'carbon_change', 'water_change']) {
      writeFileSync(join(dir, `${name}.json`), '{}');
    }
    writeFileSync(join(dir, 'README.md'), 'not a config');
    const models = listModels(dir);
    assert.deepEqual(models, ['carbon_change', 'heat_change', 'sap_change', 'water_change']);
    assert.equal(allTargets(models).length, 8);
    const t = resolveTarget('water_change-prod', models);
    assert.equal(t.prefix, 'WATER_CHANGE_PROD');
    assert.equal(t.secrets.ecrUri, 'WATER_CHANGE_PROD_ECR_URI');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
