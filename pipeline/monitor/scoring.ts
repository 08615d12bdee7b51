// Predictions for monitored chunks that carry no prediction column, from the model version being
// monitored. The monitor reads categoricals as text (values outside the signature survive as
// themselves); the model takes category codes, so this maps text to the signature's codes and
// refuses, row by row, exactly what batch scoring refuses: such rows get NaN, a missing prediction.
import type { Column, Table } from '../data/index.ts';
import type { ModelVersion, Signature } from '../registry/index.ts';
import type { ObjectStore } from '../store/index.ts';

/** What scores typed chunks: pipeline/predict's LoadedModel or its scoring worker both fit. */
export interface ChunkScorer {
  /** Predictions for the rows not flagged in `bad`, in order. */
  score(table: Table, bad?: Uint8Array): Promise<Float32Array>;
  close?(): Promise<void>;
}

export interface ChunkPredictor {
  predict(table: Table): Promise<Float64Array>;
  /**
   * Rows scored so far, and rows refused (a value batch scoring rejects: out of range, not in the list, missing where
   * not nullable, no id).
   */
  counts(): { scored: number; refused: number };
}

export function chunkPredictor(signature: Signature, scorer: ChunkScorer): ChunkPredictor {
  const codeOf = new Map(
    signature.features.flatMap((f) =>
      f.type === 'categorical' ? [[f.name, new Map(f.values.map((v, i) => [v, i]))] as const] : [],
    ),
  );
  let scored = 0,
    refused = 0;
  return {
    async predict(table) {
      const n = table.rows;
      const bad = new Uint8Array(n);
      const id = table.columns.get(signature.id_column);
      if (id?.kind === 'text') for (let r = 0; r < n; r++) if (id.values[r] === '') bad[r] = 1;
      const columns = new Map<string, Column>();
      for (const f of signature.features) {
        const col = table.columns.get(f.name);
        if (!col) throw new Error(`internal: chunk has no column "${f.name}"`);
        if (f.type === 'categorical') {
          if (col.kind !== 'text') throw new Error(`internal: column "${f.name}" is ${col.kind}, expected text`);
          const codes = new Int32Array(n);
          const known = codeOf.get(f.name)!;
          for (let r = 0; r < n; r++) {
            const v = col.values[r]!;
            const c = v === '' ? -1 : known.get(v);
            if (c === undefined || (c < 0 && !f.nullable)) {
              bad[r] = 1;
              codes[r] = -1;
            } else codes[r] = c;
          }
          columns.set(f.name, { kind: 'categorical', codes, categories: f.values });
          continue;
        }
        if (col.kind !== 'numeric') throw new Error(`internal: column "${f.name}" is ${col.kind}, expected numeric`);
        const v = col.values;
        const lo = f.type === 'numeric' ? (f.min ?? -Infinity) : -Infinity,
          hi = f.type === 'numeric' ? (f.max ?? Infinity) : Infinity;
        for (let r = 0; r < n; r++) {
          const x = v[r]!;
          if (Number.isNaN(x) ? !f.nullable : x < lo || x > hi) bad[r] = 1;
        }
        columns.set(f.name, col);
      }
      const preds = await scorer.score({ rows: n, columns }, bad);
      const out = new Float64Array(n);
      for (let r = 0, k = 0; r < n; r++) out[r] = bad[r] ? NaN : preds[k++]!;
      scored += preds.length;
      refused += n - preds.length;
      return out;
    },
    counts: () => ({ scored, refused }),
  };
}

/**
 * runMonitor's `openScorer` for models in `store`: the version's ONNX artifact (hash-verified) in a
 * pipeline/predict scoring worker, so session runs overlap parsing and counting. pipeline/predict
 * (and with it ONNX Runtime) is imported on first use only: most users of this module never score.
 */
export function modelScorer(store: ObjectStore): (mv: ModelVersion) => Promise<ChunkScorer> {
  return async (mv) => {
    const { loadModelVersion, startScoringWorker } = await import('../predict/index.ts');
    const model = await loadModelVersion(store, mv);
    try {
      const worker = await startScoringWorker(model);
      return {
        score: (table, bad) => worker.score(table, bad),
        close: async () => {
          await worker.close();
          model.retire();
        },
      };
    } catch (e) {
      model.retire();
      throw e;
    }
  };
}
