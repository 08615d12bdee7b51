// Realized model quality: labels that arrive late, joined by id to a scored batch's predictions; the
// errors of the joined rows overall and by the version's evaluation segment, next to its test metrics.
// Pure: the shell (quality-run.ts) streams the rows in. Label defects are counted, never fatal,
// unless nothing joins at all.
import { InvalidInputError } from '../errors/index.ts';
import type { ModelVersion } from '../registry/index.ts';
import { evaluate, type Groups } from '../train/index.ts';

export type QualityThresholds = NonNullable<ModelVersion['monitoring']['quality']>;
/** `unknown` where there is nothing to compare with (no test RMSE, or no thresholds in the version). */
export type QualityLevel = 'ok' | 'warn' | 'alert' | 'unknown';

export function qualityLevel(ratio: number | null, t: QualityThresholds | undefined): QualityLevel {
  if (ratio === null || !t) return 'unknown';
  return ratio >= t.rmse_ratio_alert ? 'alert' : ratio >= t.rmse_ratio_warn ? 'warn' : 'ok';
}

export interface LabelCounts {
  /** Label rows read. */
  rows: number;
  /** Label rows joined to a prediction (one per id). */
  joined: number;
  /** Label rows with an id but no prediction: unknown + refused. */
  unmatched: number;
  /**
   * Ids the batch never had (null when the batch's input was not read, so unknown and refused cannot be told apart).
   */
  unknown: number | null;
  /** Ids of rows the scorer refused (in the input, not in the predictions); null without the input. */
  refused: number | null;
  /** Repeats of an id already seen in the labels (the first one counts). */
  duplicates: number;
  /** Labels that are not a number. */
  non_numeric: number;
  /** Label rows without an id or without a label value. */
  missing: number;
  /**
   * Labels for an id the batch scored more than once (e.g. a home with several retrofit packages when
   * the id is the home's): which prediction they belong to is unknowable, so they are not joined.
   */
  ambiguous: number;
  /** joined / predictions in the batch: how much of the batch the labels cover. */
  coverage: number;
}

export interface RealizedMetrics {
  rows: number;
  rmse: number;
  mae: number;
  bias: number;
  r2: number | null;
}
export interface SegmentQuality {
  rows: number;
  rmse: number;
  mae: number;
  bias: number;
  test_rmse: number | null;
  rmse_ratio: number | null;
}

export interface RealizedQuality {
  realized: RealizedMetrics;
  /** By the version's evaluation segment (e.g. SAP band); null when the segment column was not available. */
  by_band: Record<string, SegmentQuality> | null;
  test: { rmse: number | null; mae: number | null; r2: number | null };
  ratio: { rmse: number | null; mae: number | null };
  labels: LabelCounts;
  level: QualityLevel;
}

/**
 * Predictions by id, then labels streamed through. Ids are the batch scorer's: text, as written in
 * the predictions file. A predictions file with a repeated id (the input had one) keeps the first.
 */
export class LabelJoin {
  private readonly byId = new Map<string, number>();
  private readonly repeated = new Set<string>();
  /** Per prediction row: the label joined to it, NaN until one is. */
  readonly labels: Float64Array;
  readonly predictions: Float64Array;
  /** Prediction rows whose id another prediction row shares. */
  readonly ambiguousRows: number;
  private readonly unmatchedIds = new Set<string>();
  private readonly seen = new Set<string>();
  private counts = { rows: 0, joined: 0, duplicates: 0, non_numeric: 0, missing: 0, ambiguous: 0 };
  private refused: number | null = null;

  constructor(ids: readonly string[], predictions: Float64Array) {
    ids.forEach((id, i) => {
      if (this.byId.has(id)) this.repeated.add(id);
      else this.byId.set(id, i);
    });
    let ambiguous = 0;
    for (const id of ids) if (this.repeated.has(id)) ambiguous++;
    this.ambiguousRows = ambiguous;
    this.predictions = predictions;
    this.labels = new Float64Array(predictions.length).fill(NaN);
  }

  get predictionRows(): number {
    return this.predictions.length;
  }

  /** Prediction row of `id`, if it has one with a label joined. */
  joinedRow(id: string): number | undefined {
    const i = this.byId.get(id);
    return i !== undefined && !Number.isNaN(this.labels[i]!) ? i : undefined;
  }

  /** One chunk of label rows; `notNumeric[r]` marks a label cell that is not a number. */
  addLabels(ids: readonly string[], values: Float64Array, notNumeric: Uint8Array): void {
    const c = this.counts;
    for (let r = 0; r < ids.length; r++) {
      c.rows++;
      const id = ids[r]!;
      if (id === '') {
        c.missing++;
        continue;
      }
      if (this.seen.has(id)) {
        c.duplicates++;
        continue;
      }
      this.seen.add(id);
      if (notNumeric[r]) {
        c.non_numeric++;
        continue;
      }
      const y = values[r]!;
      if (Number.isNaN(y)) {
        c.missing++;
        continue;
      }
      if (this.repeated.has(id)) {
        c.ambiguous++;
        continue;
      }
      const i = this.byId.get(id);
      if (i === undefined) {
        this.unmatchedIds.add(id);
        continue;
      }
      this.labels[i] = y;
      c.joined++;
    }
  }

  /** Ids of the batch's input rows: unmatched labels among them were refused at scoring. Call once per input chunk. */
  addInputIds(ids: readonly string[]): void {
    this.refused ??= 0;
    for (const id of ids) if (this.unmatchedIds.delete(id)) this.refused++;
  }

  labelCounts(): LabelCounts {
    const unmatched = this.refused === null ? this.unmatchedIds.size : this.unmatchedIds.size + this.refused;
    return {
      ...this.counts,
      unmatched,
      unknown: this.refused === null ? null : this.unmatchedIds.size,
      refused: this.refused,
      coverage: this.predictions.length ? this.counts.joined / this.predictions.length : 0,
    };
  }
}

const ratioOf = (a: number, b: number | null | undefined): number | null =>
  b !== null && b !== undefined && b > 0 ? a / b : null;

/**
 * The realized quality of the joined rows. `segment` gives each prediction row's segment code (−1:
 * none), from the batch's input; without it there is no by-band breakdown. Throws when nothing joined.
 */
export function realizedQuality(join: LabelJoin, mv: ModelVersion, source: string, segment?: Groups): RealizedQuality {
  const labels = join.labelCounts();
  if (labels.joined === 0) {
    throw new InvalidInputError(
      `${source}: no label joins a prediction of ${mv.name} v${mv.version} (${labels.rows} label rows: ` +
        `${labels.unmatched} with ids not in the predictions, ${labels.ambiguous} for ids scored more than once, ` +
        `${labels.duplicates} duplicates, ${labels.non_numeric} not numbers, ${labels.missing} missing)`,
      [{ field: mv.signature.id_column, issue: 'no label id matches a prediction' }],
    );
  }
  // evaluate() leaves out rows whose label is NaN: exactly the prediction rows nothing joined.
  const ev = evaluate(join.labels, join.predictions, segment);
  const test = { rmse: mv.metrics.rmse ?? null, mae: mv.metrics.mae ?? null, r2: mv.metrics.r2 ?? null };
  const ratio = { rmse: ratioOf(ev.rmse, test.rmse), mae: ratioOf(ev.mae, test.mae) };
  const byBand = segment
    ? Object.fromEntries(
        Object.entries(ev.by_group ?? {}).map(([band, m]) => {
          const testRmse = mv.metrics_by_band?.[band]?.rmse ?? null;
          return [band, { ...m, test_rmse: testRmse, rmse_ratio: ratioOf(m.rmse, testRmse) }];
        }),
      )
    : null;
  return {
    realized: { rows: ev.rows, rmse: ev.rmse, mae: ev.mae, bias: ev.bias, r2: Number.isFinite(ev.r2) ? ev.r2 : null },
    by_band: byBand,
    test,
    ratio,
    labels,
    level: qualityLevel(ratio.rmse, mv.monitoring.quality),
  };
}
