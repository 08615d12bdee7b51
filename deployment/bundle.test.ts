// What ships: the Dockerfile's rules, the build context it sees, and a bundle that runs with
// plain `node` from a folder with no node_modules above it, on the pruned onnxruntime copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HANDLER_ENTRIES, bundle } from './bundle.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    const continues = line.endsWith('\\');
    const body = continues ? line.slice(0, -1).trim() : line;
    if (pending) pending.args += ` ${body}`;
    else {
      const [keyword = '', ...rest] = body.split(/\s+/);
      pending = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: i + 1 };
    }
    if (!continues) {
      out.push(pending);
      pending = undefined;
    }
  });
  return out;
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'deployment', 'Dockerfile'), 'utf8'));
const only = (keyword: string) => dockerfile.filter((i) => i.keyword === keyword);

test('the image builds on the pinned Lambda Node.js 22 base image, in one stage', () => {
  const from = only('FROM');
  assert.equal(from.length, 1);
  assert.match(from[0]!.args, /^public\.ecr\.aws\/lambda\/nodejs:22(@sha256:[0-9a-f]{64})?$/);
});

test('the image copies only the bundle, never fetches, and never installs', () => {
  assert.deepEqual(only('ADD'), [], 'ADD can fetch URLs and unpack archives; COPY says what it does');
  assert.deepEqual(only('RUN'), [], 'everything is built before docker build: what is tested is what ships');
  const copies = only('COPY');
  assert.ok(copies.length > 0);
  for (const c of copies) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--chown') && !p.startsWith('--chmod'));
    assert.ok(!parts.some((p) => p.startsWith('--')), `line ${c.line}: no --from or other sources`);
    const sources = parts.slice(0, -1);
    for (const s of sources) assert.match(s, /^dist\//, `line ${c.line}: copies ${s}`);
    assert.equal(parts.at(-1), '${LAMBDA_TASK_ROOT}/');
  }
});

test('the prediction handler is the default CMD and both handlers are bundled', () => {
  const cmd = only('CMD');
  assert.equal(cmd.length, 1);
  assert.deepEqual(
    JSON.parse(cmd[0]!.args),
    ['predict.handler'],
    'exec form: the Lambda runtime takes it as the handler',
  );
  assert.deepEqual(Object.keys(HANDLER_ENTRIES).sort(), ['monitor', 'predict']);
});

test('.dockerignore lets only dist/ into the build context', () => {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(rules, ['*', '!dist/']);
});

test('a bundle runs with plain node on onnxruntime-node with only its linux x64 binaries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-bundle-'));
  try {
    // A stand-in handler: the shipped layout, the ESM `require` shim and the native binding are
    // what this pins; the real handlers' behaviour is pinned where they are tested.
    const entry = join(dir, 'probe.ts');
    writeFileSync(
      entry,
      `import * as ort from 'onnxruntime-node';
       import { createHash } from 'node:crypto';
       export async function handler(event: { text: string }) {
         const tensor = new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]);
         const native = await ort.InferenceSession.create(new Uint8Array([1, 2, 3]))
            .then(() => 'loaded', (e: Error) => e.message);
         return { dims: tensor.dims, native, hash: createHash('sha256').update(event.text).digest('hex').slice(0, 8) };
       }`,
    );
    const outdir = join(dir, 'dist');
    const { files } = await bundle(outdir, { probe: entry });

    const shipped = files.filter((f) => f.startsWith('node_modules/'));
    for (const f of shipped) {
      assert.match(f, /^node_modules\/onnxruntime-(node|common)\//, f);
      assert.doesNotMatch(f, /darwin|win32|arm64|\.d\.ts$|\.map$/, f);
    }
    assert.ok(shipped.includes('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'));
    assert.ok(files.includes('probe.mjs') && files.includes('probe.mjs.map'));

    const script =
      `import('./probe.mjs').then(async (m) => console.log(JSON.stringify(await m.handler({ ` + `text: 'x' }))))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: outdir,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const out = JSON.parse(stdout) as { dims: number[]; native: string; hash: string };
    assert.deepEqual(out.dims, [1, 3]);
    // The garbage model is refused by ONNX Runtime's native code: the binding loaded and ran.
    assert.notEqual(out.native, 'loaded');
    assert.match(out.native, /protobuf|model|parse|load/i);
    assert.equal(out.hash, '2d711642');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
