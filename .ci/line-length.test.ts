import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_LINE } from './line-length.ts';

const SCRIPT = join(import.meta.dirname, 'line-length.ts');
const check = (root: string) => spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, root], { encoding: 'utf8' });

test('a line over the limit fails the check, named by file, line and length; exempt lines and data files pass', () => {
  const root = mkdtempSync(join(tmpdir(), 'mltk-lines-'));
  try {
    mkdirSync(join(root, 'src'));
    const fits = `const s = '${'x'.repeat(MAX_LINE - 13)}';`;
    assert.equal([...fits].length, MAX_LINE);
    // Width is counted in characters, not bytes: 120 arrows are 360 bytes and fit.
    const arrows = `// ${'→'.repeat(MAX_LINE - 3)}`;
    const regex = `    /${'a'.repeat(MAX_LINE)}: expected message/,`;
    const longImport = `import { X } from '@scope/${'p'.repeat(MAX_LINE)}/index.js';`;
    writeFileSync(join(root, 'src/ok.ts'), [fits, arrows, regex, longImport, ''].join('\n'));
    writeFileSync(join(root, 'notes.md'), `${'m'.repeat(300)}\n`);
    writeFileSync(join(root, 'data.json'), `{"k": "${'j'.repeat(300)}"}\n`);
    const ok = check(root);
    assert.equal(ok.status, 0, ok.stderr);

    writeFileSync(join(root, 'src/long.ts'), `const a = 1;\nconst s = '${'y'.repeat(MAX_LINE)}';\n`);
    writeFileSync(join(root, 'run.sh'), `echo ${'z'.repeat(MAX_LINE)}\n`);
    const bad = check(root);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^run\.sh:1: 125 characters \(limit 120\)$/m);
    assert.match(bad.stderr, /^src\/long\.ts:2: 133 characters \(limit 120\)$/m);
    assert.match(bad.stderr, /2 lines over 120 characters/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
