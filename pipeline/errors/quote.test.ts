import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidInputError,
  messageLine,
  MESSAGE_MAX_CHARS,
  QUOTE_MAX_CHARS,
  quoted,
  quotedList,
  shownValue,
} from './index.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: what a one-line message must never hold
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/;

test(
  'quoted input is one line, escaped and bounded: a 50 MB value, a newline, gzip bytes, bidi and control ' +
    'characters',
  () => {
    assert.equal(quoted('sap_change'), '"sap_change"');
    const huge = quoted('x'.repeat(50_000_000));
    assert.equal(huge, `"${'x'.repeat(QUOTE_MAX_CHARS)}…" (50000000 characters)`);
    assert.equal(quoted('semi\ndetached'), '"semi\\ndetached"');
    assert.equal(quoted('a"b\\c'), '"a\\"b\\\\c"');
    const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x9a, 0xff, 0x00, 0x0d, 0x0a, 0x1b, 0x5b, 0x32, 0x4a]).toString();
    const shownGzip = quoted(gzip);
    assert.doesNotMatch(shownGzip, RAW_CONTROL, shownGzip);
    assert.equal(shownGzip, '"\\u001f\\ufffd\\b\\u0000\\ufffd\\ufffd\\u0000\\r\\n\\u001b[2J"');
    assert.equal(quoted('evil\u202Etxt.csv'), '"evil\\u202etxt.csv"');
    assert.equal(quoted('line\u2028break\u0085'), '"line\\u2028break\\u0085"');
    // Emoji and accents are text: kept as they are.
    assert.equal(quoted('température 🌡'), '"température 🌡"');
  },
);

test('lists show ten values then a count; JSON values by kind', () => {
  assert.equal(quotedList(['a', 'b']), '"a", "b"');
  const names = Array.from({ length: 25_000_000 }, (_, i) => `c${i}`);
  const shown = quotedList(names);
  assert.ok(shown.endsWith('"c9" and 24999990 more'), shown);
  assert.equal(shownValue('big'), '"big"');
  assert.equal(shownValue(12.5), '12.5');
  assert.equal(shownValue(null), 'null');
  assert.equal(shownValue([1]), 'an array');
  assert.equal(shownValue({ a: 1 }), 'an object');
});

test("a message leaving the process is one bounded line, whatever a Node or SDK error's own text holds", () => {
  assert.equal(messageLine('first\nsecond\r\nthird'), 'first\\nsecond\\r\\nthird');
  const long = messageLine(`boom ${'y'.repeat(60_000_000)}`);
  assert.ok(long.length < MESSAGE_MAX_CHARS + 40, String(long.length));
  assert.match(long, /… \(60000005 characters\)$/);
  assert.doesNotMatch(messageLine('a\u0000b\u001b[31mc\u2028d'), RAW_CONTROL);
});

test("an error's details stay bounded: a 1 MB field name or issue is cut, with its length", () => {
  const e = new InvalidInputError('x', [
    { row: 1, field: 'k'.repeat(1_000_000), issue: `got ${'v'.repeat(1_000_000)}` },
  ]);
  assert.ok(e.details[0]!.field!.length < 200);
  assert.ok(e.details[0]!.issue.length < 600);
  assert.match(e.details[0]!.issue, /… \(1000004 characters\)$/);
});
