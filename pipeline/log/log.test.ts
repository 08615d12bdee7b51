import assert from 'node:assert/strict';
import test from 'node:test';
import { jsonLogger } from './index.ts';

test('every line has time, level and msg first, then the bound fields, then its own', () => {
  const lines: string[] = [];
  const log = jsonLogger((l) => lines.push(l), { service: 'mltk' }).with({ model: 'sap_change' });
  log.log('warn', 'fast_path_disabled', { reason: 'differs at row 3', model: 'override' });
  const line = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(line), ['time', 'level', 'msg', 'service', 'model', 'reason']);
  assert.equal(line.level, 'warn');
  assert.equal(line.msg, 'fast_path_disabled');
  assert.equal(line.model, 'override');
  assert.ok(!Number.isNaN(Date.parse(line.time)));
  assert.equal(lines.length, 1);
});
