// Where the CLI keeps its proofs of the fast path (predict/proof-cache.ts): inside its own build,
// build/cli/<id>/proofs/, so the code that made a proof is the code that reads it, and a changed
// source (a new build) starts with none. Run from the TypeScript sources (no build) it keeps none.
import { fileURLToPath } from 'node:url';
import { directoryProofCache, type ProofCache } from '../predict/index.ts';

export function cliProofCache(): ProofCache | undefined {
  if (process.env.MLTK_PROOF_CACHE === '0' || !import.meta.url.endsWith('.mjs')) return undefined;
  return directoryProofCache(fileURLToPath(new URL('./proofs/', import.meta.url)));
}
