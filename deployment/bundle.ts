// Builds what the Lambda image ships: `dist/predict.mjs` and `dist/monitor.mjs` (esbuild, ESM,
// node22, AWS SDK included) plus `dist/node_modules/onnxruntime-node` with only its linux x64
// binaries. The Dockerfile copies `dist/` as is, so the bundle test runs exactly what ships.

import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Lambda handler file name (`<name>.handler`) → entry point. */
export const HANDLER_ENTRIES = {
  predict: 'handlers/predict.ts',
  monitor: 'handlers/monitor.ts',
} as const;

/** Worker threads the handlers start by file name (a sibling .mjs of the bundle that starts them). */
const WORKER_ENTRIES = {
  'score-worker': 'pipeline/predict/score-worker.ts',
  'counting-worker': 'pipeline/monitor/counting-worker.ts',
} as const;

/** Native code can't be bundled; it is loaded from `<outdir>/node_modules` at run time. */
const EXTERNAL = 'onnxruntime-node';
/** Lambda runs x86_64 Linux: the other platforms' binaries (~300 MB) stay out of the image. */
const NATIVE_DIR = 'bin/napi-v6/linux/x64';

// Bundled CommonJS dependencies (the AWS SDK among them) call `require` for Node built-ins,
// which an ES module lacks; esbuild's documented workaround is to define one in a banner.
const REQUIRE_SHIM =
  "import { createRequire as __mltkCreateRequire } from 'node:module';\n" +
  'const require = __mltkCreateRequire(import.meta.url);';

export interface BundleResult {
  outdir: string;
  /** Output files relative to `outdir`, sorted. */
  files: string[];
}

/** Bundles the handlers into a fresh `outdir` (default `<repo>/dist`) ready to `COPY` into the image. */
export async function bundle(
  outdir: string = join(REPO_ROOT, 'dist'),
  entries: Record<string, string> = HANDLER_ENTRIES,
): Promise<BundleResult> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { ...entries, ...WORKER_ENTRIES },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // Keep our own copy of @aws-sdk/*: the runtime's version drifts under us.
    external: [EXTERNAL],
    banner: { js: REQUIRE_SHIM },
    sourcemap: true,
    logLevel: 'warning',
  });
  copyOnnxRuntime(outdir);
  return { outdir, files: listFiles(outdir) };
}

function copyOnnxRuntime(outdir: string): void {
  const from = (pkg: string) => join(REPO_ROOT, 'node_modules', pkg);
  const to = (pkg: string) => join(outdir, 'node_modules', pkg);
  const runtimeJs = (src: string) => !src.endsWith('.map') && !src.endsWith('.d.ts');

  cpSync(join(from(EXTERNAL), 'package.json'), join(to(EXTERNAL), 'package.json'));
  cpSync(join(from(EXTERNAL), 'dist'), join(to(EXTERNAL), 'dist'), { recursive: true, filter: runtimeJs });
  cpSync(join(from(EXTERNAL), NATIVE_DIR), join(to(EXTERNAL), NATIVE_DIR), { recursive: true });
  // onnxruntime-node `require`s its only runtime dependency, so the CommonJS build is all it needs.
  const common = 'onnxruntime-common';
  cpSync(join(from(common), 'package.json'), join(to(common), 'package.json'));
  cpSync(join(from(common), 'dist', 'cjs'), join(to(common), 'dist', 'cjs'), { recursive: true, filter: runtimeJs });
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory() ? listFiles(dir, rel) : [rel];
    })
    .sort();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { outdir, files } = await bundle(process.argv[2]);
  const shown = files.filter((f) => !f.startsWith('node_modules/'));
  console.log(`bundled ${shown.join(', ')} + onnxruntime-node (linux x64) into ${outdir}`);
}
