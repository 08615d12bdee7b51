// The CLI's compiled build: esbuild bundles pipeline/cli/main.ts (and the worker entry points) into
// build/cli/<id>/ once, so `mltk` starts without transpiling TypeScript. Plain JavaScript on purpose:
// it runs before anything is compiled. `npm ci` builds through the `prepare` script; the bin checks
// the build against its sources on every start (one stat per source file) and rebuilds a stale one,
// so an edited checkout never runs old code.
//
// Layout (a contract with bin.js and the tests):
//   build/cli/current.json         {"id", "entries": {name: file}, "inputs": [[path, mtimeMs, size], ...]}
//   build/cli/<id>/main.mjs        the CLI; <id>/<worker>.mjs the worker entry points; chunk-*.mjs shared code
// A build is written to <id>.tmp-<pid>-<random>/ and renamed into place, then current.json is replaced
// by rename: a reader sees the old build or the new one, never half of one, and concurrent builders
// (parallel test processes) each publish a complete build. Builds other than the newest few are pruned.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Entry points of the CLI build: name → source (relative to the repo root). Workers are loaded by file name. */
const CLI_ENTRIES = {
  main: 'pipeline/cli/main.ts',
  'score-worker': 'pipeline/predict/score-worker.ts',
  'counting-worker': 'pipeline/monitor/counting-worker.ts',
};

// Bundled CommonJS dependencies (commander, protobufjs) `require` Node built-ins, which an ES module
// lacks; esbuild's documented workaround is to define one in a banner.
const REQUIRE_SHIM =
  "import { createRequire as __mltkCreateRequire } from 'node:module';\n" +
  'const require = __mltkCreateRequire(import.meta.url);';

/** Builds kept besides the current one (a process still running an older build may load its chunks lazily). */
const KEEP_BUILDS = 3;

/**
 * Where a project's build lives and what it is built from; the tests point it at a scratch project.
 * @typedef {{ root: string; outDir: string; entries: Record<string, string> }} BuildTarget
 */

/** @returns {BuildTarget} */
export function cliTarget() {
  return { root: REPO_ROOT, outDir: join(REPO_ROOT, 'build/cli'), entries: CLI_ENTRIES };
}

/**
 * The current build if every source it was built from is unchanged (same mtime and size), else undefined.
 * @param {BuildTarget} target
 * @returns {{ id: string; dir: string; entries: Record<string, string> } | undefined}
 */
export function freshBuild(target) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(target.outDir, 'current.json'), 'utf8'));
  } catch {
    return undefined;
  }
  for (const [path, mtimeMs, size] of manifest.inputs) {
    let info;
    try {
      info = statSync(resolve(target.root, path));
    } catch {
      return undefined;
    }
    if (info.mtimeMs !== mtimeMs || info.size !== size) return undefined;
  }
  return { id: manifest.id, dir: join(target.outDir, manifest.id), entries: manifest.entries };
}

/**
 * Builds `target` and publishes it as the current build.
 * @param {BuildTarget} target
 */
export async function build(target) {
  const { build: esbuild } = await import('esbuild');
  mkdirSync(target.outDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const tmp = join(target.outDir, `tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    let result;
    try {
      result = await esbuild({
        absWorkingDir: target.root,
        entryPoints: target.entries,
        outdir: tmp,
        outExtension: { '.js': '.mjs' },
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        // Native and large dependencies load from node_modules when first used; pure-JS ones are bundled.
        external: ['onnxruntime-node', '@aws-sdk/*', 'esbuild', 'tsx'],
        banner: { js: REQUIRE_SHIM },
        sourcemap: 'linked',
        metafile: true,
        logLevel: 'silent',
      });
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    // Inputs as esbuild saw them (sources and bundled packages; not its virtual ones such as "<define:…>").
    // This script is an input too: a change to how builds are made makes a new one.
    const sources = [
      ...Object.keys(result.metafile.inputs).filter((path) => !/^[<(]|:/.test(path)),
      fileURLToPath(import.meta.url),
    ];
    const inputs = sources
      .map((path) => {
        const info = statSync(resolve(target.root, path));
        return [path, info.mtimeMs, info.size];
      })
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    // A source saved while esbuild ran may not be what it read: build again rather than stamp it.
    if (inputs.some(([, mtimeMs]) => mtimeMs > started) && attempt < 3) {
      rmSync(tmp, { recursive: true, force: true });
      continue;
    }
    return publish(target, tmp, inputs);
  }
}

function publish(target, tmp, inputs) {
  const id = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
  const dir = join(target.outDir, id);
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // the same build is already in place (a concurrent builder)
  }
  const entries = Object.fromEntries(Object.keys(target.entries).map((name) => [name, `${name}.mjs`]));
  const manifest = join(target.outDir, `current.json.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(manifest, `${JSON.stringify({ id, entries, inputs })}\n`);
  renameSync(manifest, join(target.outDir, 'current.json'));
  try {
    prune(target.outDir, id);
  } catch {
    // Housekeeping only: a concurrent builder removing the same old build can make a removal fail here.
  }
  return { id, dir, entries };
}

/**
 * Removes builds older than the newest KEEP_BUILDS (never `current`), and scratch dirs older than an hour.
 * Concurrent builders prune the same folder: an entry another one removed between the listing and its stat is
 * skipped, never an error (a failed prune must not fail the build it follows).
 */
function prune(outDir, current) {
  const now = Date.now();
  const dirs = readdirSync(outDir, { withFileTypes: true }).flatMap((d) => {
    if (!d.isDirectory()) return [];
    const path = join(outDir, d.name);
    const info = statSync(path, { throwIfNoEntry: false });
    return info ? [{ name: d.name, path, mtime: info.mtimeMs }] : [];
  });
  const builds = dirs.filter((d) => !d.name.startsWith('tmp-') && d.name !== current).sort((a, b) => b.mtime - a.mtime);
  for (const old of builds.slice(KEEP_BUILDS)) rmSync(old.path, { recursive: true, force: true });
  for (const scratch of dirs.filter((d) => d.name.startsWith('tmp-') && now - d.mtime > 3600_000)) {
    rmSync(scratch.path, { recursive: true, force: true });
  }
}

/**
 * The URL of entry `name` of a fresh build, building first when the current one is stale or missing.
 * Undefined when no build can be made here (esbuild not installed, or the build folder not writable).
 * @param {BuildTarget} target
 * @param {string} name
 */
export async function ensureBuilt(target, name) {
  let current = freshBuild(target);
  if (!current) {
    try {
      current = await build(target);
    } catch (e) {
      if (process.env.MLTK_DEBUG) console.error('mltk: cannot build the CLI; running the TypeScript sources', e);
      return undefined;
    }
  }
  return pathToFileURL(join(current.dir, current.entries[name])).href;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { id, dir } = await build(cliTarget());
  console.log(`built the mltk CLI (${id}) into ${relative(process.cwd(), dir) || dir}`);
}
