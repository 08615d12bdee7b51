import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runMltk } from '../testing/cli.ts';
import { cliTarget, ensureBuilt, freshBuild } from './build.js';

const run = promisify(execFile);
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A scratch project: main.ts prints what dep.ts exports. */
async function project(): Promise<{
  root: string;
  target: { root: string; outDir: string; entries: Record<string, string> };
}> {
  const root = await mkdtemp(join(tmpdir(), 'mltk-build-'));
  dirs.push(root);
  await writeFile(join(root, 'package.json'), '{"type":"module"}\n');
  await writeFile(
    join(root, 'main.ts'),
    "import { word } from './dep.ts';\nconst shown: string = word;\nconsole.log(shown);\n",
  );
  await writeFile(join(root, 'dep.ts'), "export const word = 'first';\n");
  return { root, target: { root, outDir: join(root, 'build'), entries: { main: 'main.ts' } } };
}

/** Runs a built entry in its own process, as the bin does. */
async function runBuilt(url: string): Promise<string> {
  return (
    await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`])
  ).stdout.trim();
}

test('a source changed after the build is never run stale: the next start rebuilds from it', async () => {
  const { root, target } = await project();
  const first = await ensureBuilt(target, 'main');
  assert.ok(first);
  assert.equal(await runBuilt(first), 'first');
  assert.ok(freshBuild(target), 'the build is current right after it is made');
  assert.equal(await ensureBuilt(target, 'main'), first, 'an unchanged project reuses its build');

  await writeFile(join(root, 'dep.ts'), "export const word = 'second';\n");
  assert.equal(freshBuild(target), undefined, 'an edited import makes the build stale');
  const second = await ensureBuilt(target, 'main');
  assert.ok(second && second !== first);
  assert.equal(await runBuilt(second), 'second');

  // Same size, mtime set back to the old one's second: still a different stamp (mtimes are compared to the nanosecond).
  await writeFile(join(root, 'dep.ts'), "export const word = 'thirdd';\n");
  const past = new Date(Date.now() - 3600_000);
  await utimes(join(root, 'dep.ts'), past, past);
  assert.equal(await runBuilt((await ensureBuilt(target, 'main'))!), 'thirdd');
});

test('concurrent starts after a change each run a complete, current build', async () => {
  const { root, target } = await project();
  await ensureBuilt(target, 'main');
  await writeFile(join(root, 'dep.ts'), "export const word = 'raced';\n");
  const script = `import { ensureBuilt } from ${JSON.stringify(new URL('./build.js', import.meta.url).href)};
const url = await ensureBuilt(${JSON.stringify(target)}, 'main'); await import(url);`;
  const outs = await Promise.all(
    Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', script])),
  );
  assert.deepEqual(
    outs.map((o) => o.stdout.trim()),
    ['raced', 'raced', 'raced', 'raced'],
  );
  const manifest = JSON.parse(await readFile(join(target.outDir, 'current.json'), 'utf8')) as { id: string };
  assert.ok(freshBuild(target)?.id === manifest.id);
});

test('mltk --version prints the package version and leaves the compiled build current', async () => {
  const r = await runMltk(['--version']);
  assert.equal(r.code, 0, r.stderr);
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(r.stdout.trim(), pkg.version);
  const current = freshBuild(cliTarget());
  assert.ok(current, 'after a start the CLI build matches every source it was built from');
});
