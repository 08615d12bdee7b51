// Proofs of the fast path kept on this machine, so a command that loads a model it has already proven,
// with the same code, does not prove it again: the second `mltk predict` of a model skips ONNX Runtime's
// load, the graph's read and compile, and the probe (0.3 s of its 0.6 s fixed cost).
//
// Why a kept proof still honours "the fast path serves only where proven equal to ONNX Runtime at load":
// the proof is a deterministic function of what the key names (the model's bytes, the baseline they
// were probed with, the signature, the output, ONNX Runtime's version, Node's, and the code that
// compiled, probed and compared: the cache lives inside one CLI build, build/cli/<id>/proofs/, and a
// changed source is a new build with an empty cache). Made again, it would give the same answer; so
// any change to any of them is a different key, and a miss proves afresh. Only proofs that passed are
// kept; a model the evaluator cannot serve is tried again on every load. An entry carries the sha256
// of its body and is written by rename: a torn or altered file reads as a miss. MLTK_PROOF_CACHE=0
// turns the cache off.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Signature } from '../registry/index.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import type { FastPathVerdict } from './fast-path.ts';

/** A proof that passed: its verdict and the program it proved (what a scoring worker builds its evaluator from). */
export interface KeptProof {
  verdict: FastPathVerdict;
  program: EvaluatorProgram;
}

export interface ProofCache {
  get(key: string): KeptProof | undefined;
  /** Best effort: a cache that cannot be written (read-only install, full disk) is only slower. */
  put(key: string, proof: KeptProof): void;
}

/** What a proof depends on besides the code (which the cache's place pins). */
export interface ProofInputs {
  /** sha256 of the model's ONNX bytes. */
  model: string;
  /** sha256 of the baseline profile whose sample the probe took, or null when it had none. */
  baseline: string | null;
  /** The signature: its categories are probed, its features are the inputs. */
  signature: Signature;
  /** The graph output proven. */
  output: string;
}

/** Bumped when an entry's layout changes. */
const FORMAT = 'mltk-proof-1';
const HEADER_BYTES = FORMAT.length + 1 + 64 + 1; // format, space, sha256 hex of the body, newline

let runtimeVersion: string | undefined;

/** onnxruntime-node's version, read from its package.json (loading the runtime itself is what a hit saves). */
function onnxRuntimeVersion(): string {
  runtimeVersion ??= (
    JSON.parse(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  return runtimeVersion;
}

/** The key of a proof: the sha256 of everything it depends on besides the code. */
export function proofKey(inputs: ProofInputs): string {
  const parts = [
    FORMAT,
    inputs.model,
    inputs.baseline,
    inputs.signature,
    inputs.output,
    onnxRuntimeVersion(),
    process.version,
    process.arch,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Proofs as files `<dir>/<key>`, each a header line (format, sha256 of the body) and a V8-serialised body. */
export function directoryProofCache(dir: string): ProofCache {
  return {
    get(key) {
      let file: Buffer;
      try {
        file = readFileSync(join(dir, key));
      } catch {
        return undefined;
      }
      const header = file.subarray(0, HEADER_BYTES).toString('latin1');
      const body = file.subarray(HEADER_BYTES);
      if (header !== `${FORMAT} ${sha256(body)}\n`) return undefined;
      try {
        return deserialize(body) as KeptProof;
      } catch {
        return undefined;
      }
    },
    put(key, proof) {
      const body = serialize(proof);
      const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(tmp, Buffer.concat([Buffer.from(`${FORMAT} ${sha256(body)}\n`, 'latin1'), body]));
        renameSync(tmp, join(dir, key));
      } catch {
        rmSync(tmp, { force: true });
      }
    },
  };
}
