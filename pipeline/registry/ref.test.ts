import assert from 'node:assert/strict';
import test from 'node:test';
import { InvalidInputError } from '../errors/index.ts';
import { formatModelRef, parseModelRef } from './ref.ts';

test('model references: name, latest, a version, an alias', () => {
  assert.deepEqual(parseModelRef('sap_change'), { name: 'sap_change' });
  assert.deepEqual(parseModelRef('sap_change@latest'), { name: 'sap_change' });
  assert.deepEqual(parseModelRef('sap_change@3'), { name: 'sap_change', version: 3 });
  assert.deepEqual(parseModelRef('sap_change@prod'), { name: 'sap_change', alias: 'prod' });
  assert.deepEqual(parseModelRef('sap_change@canary-2'), { name: 'sap_change', alias: 'canary-2' });
  for (const ref of ['sap_change', 'sap_change@3', 'sap_change@prod'])
    assert.equal(formatModelRef(parseModelRef(ref)), ref);
});

test('a bad reference is an input error that says which part is wrong and shows the expected form', () => {
  const cases: [string, RegExp][] = [
    ['sap change@prod', /the name has letters, digits and _ only/],
    ['', /the name has/],
    ['@prod', /the name has/],
    ['sap_change@', /"@" is neither a version nor an alias/],
    ['sap_change@0', /"@0" is neither/],
    ['sap_change@03', /"@03" is neither/],
    ['sap_change@a@b', /"@a@b" is neither/],
    ['sap_change@../x', /is neither/],
  ];
  for (const [ref, why] of cases) {
    assert.throws(
      () => parseModelRef(ref),
      (e: unknown) => e instanceof InvalidInputError && why.test(e.message) && /NAME@ALIAS/.test(e.message),
      ref,
    );
  }
  const long = `${'x'.repeat(5000)}@prod`;
  assert.throws(
    () => parseModelRef(` ${long}`),
    (e: unknown) => e instanceof InvalidInputError && e.message.length < 300,
  );
});
