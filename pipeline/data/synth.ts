// The deterministic EPC-like synthetic data set: how mltk demonstrates, tests and benchmarks itself
// without the (non-downloadable) EPC register. Streams a CSV, one row per home × retrofit package.
//
// Spec (what the data is meant to look like; synth.test.ts pins it):
// - Homes: English-stock marginals (synth-home.ts). Houses ~64%, flats ~23%, bungalows ~9%,
//   maisonettes ~4%; age bands skewed old (~21% of houses before 1919); solid walls before 1919,
//   cavity from the 1930s on; floor area lognormal by type and form; rooms ~ 0.6 + area/20.
//   Fuel and system are coherent: storage heaters, heat pumps and electric room heaters burn
//   electricity; boilers burn gas, oil or LPG; oil and LPG mostly in detached homes.
// - Missing (empty cell) exactly where the contract says: `roof_insulation_mm` for flats and
//   maisonettes with a dwelling above (houses and bungalows always have a roof), `boiler_efficiency`
//   when the system is not a boiler. No other cell is ever empty.
// - Ratings come from a pocket SAP 2012 (synth-physics.ts): heat-loss coefficient → space-heating
//   demand with gain utilisation → fuel cost → energy cost factor → SAP; CO₂ from SAP 10.2 factors.
//   Hidden survey detail (shape, windows, air tightness, floor level, a ±10% spread) keeps the
//   features from determining the targets exactly. Bands come out near the English stock:
//   A+B ~2%, C ~40%, D ~40%, E ~13%, F ~3%, G ~1%.
// - Packages: 1–4 distinct packages per home of 1–3 measures drawn from those that apply (loft
//   below 270 mm with a roof of its own; cavity wall only for an uninsulated cavity; solid wall only
//   for an uninsulated solid wall; double glazing only for single glazing; boiler upgrade only for a
//   non-condensing boiler; heat pump for any other system; solar PV for houses and bungalows).
//   boiler_upgrade and heat_pump are never in one package. About 5% of packages also carry one
//   measure that does not apply (a quote's default line), and a home where nothing applies gets one
//   such package: a measure that does not apply changes nothing, so a package of only those has
//   sap_change = heat_change = carbon_change = 0 exactly.
// - Effects: heat pump → electricity, carbon falls a lot, SAP moves little (gas homes) or may fall
//   (off-peak electric homes, low-COP installs); solar PV raises SAP and cuts carbon, heat_change 0.
//   Space-heating demand is useful heat, so boiler, heat pump and PV leave heat_change at 0.
//   Diminishing returns: gain utilisation and efficiency interactions in the physics, plus 6% shrink
//   per extra measure; already-efficient homes have less headroom. Heat and carbon changes of a
//   package are always less than the sum of its parts; SAP points too from ~51 up, while below that
//   SAP's logarithmic scale (as in real SAP) can give a poor home more points together than apart.
//   sap_change is measured on the unclipped scale; current_sap is floored at 1 like the register.
// - Noise: multiplicative, so zero stays zero and the spread grows with the effect and the age of the
//   home (5% for new builds to ~15% before 1919), partly shared across the three targets.
// - Deterministic: own PRNG (synth-random.ts); the same {rows, seed} gives a byte-identical file.
import { InvalidInputError, type ErrorDetail } from '../errors/index.ts';
import {
  AGE_BANDS,
  BUILT_FORMS,
  FUELS,
  GLAZINGS,
  HEATING_SYSTEMS,
  Home,
  PROPERTY_TYPES,
  WALL_TYPES,
  sampleHome,
} from './synth-home.ts';
import {
  ALL_MEASURES,
  BOILER_UPGRADE,
  HEAT_PUMP,
  MEASURE_COLUMNS,
  applicableMeasures,
  assess,
  packageEffect,
  type Assessment,
} from './synth-physics.ts';
import { Rng } from './synth-random.ts';

export const SYNTH_COLUMNS: readonly string[] = Object.freeze([
  'home_id',
  'property_type',
  'built_form',
  'construction_age_band',
  'total_floor_area',
  'number_habitable_rooms',
  'wall_type',
  'walls_insulated',
  'roof_insulation_mm',
  'glazing',
  'main_fuel',
  'heating_system',
  'boiler_efficiency',
  'current_sap',
  'current_heat_demand',
  'current_co2',
  ...MEASURE_COLUMNS,
  'sap_change',
  'heat_change',
  'carbon_change',
]);

export interface SynthOptions {
  rows: number;
  seed: number;
}

/** Rows per write: big enough that stream overhead vanishes, small enough to stay a few hundred KB. */
const CHUNK_ROWS = 4096;
const PACKAGES_PER_HOME = [0.25, 0.3, 0.25, 0.2];
const PACKAGE_SIZE = [0.45, 0.35, 0.2];
// How often installers quote each measure, by bit: loft, cavity, solid wall, glazing, boiler, heat pump, PV.
const MEASURE_POPULARITY = [3, 3, 1.5, 1.5, 2.5, 1.5, 2];
const NOT_APPLICABLE_SHARE = 0.05;

export function parseSynthOptions(opts: SynthOptions): SynthOptions {
  const details: ErrorDetail[] = [];
  const { rows, seed } = opts ?? ({} as SynthOptions);
  if (!(Number.isSafeInteger(rows) && rows > 0))
    details.push({ field: 'rows', issue: `expected a positive integer, got ${String(rows)}` });
  if (!Number.isSafeInteger(seed)) details.push({ field: 'seed', issue: `expected an integer, got ${String(seed)}` });
  if (details.length) {
    throw new InvalidInputError(
      `invalid synthetic data options: ${details.map((d) => `${d.field}: ${d.issue}`).join('; ')}`,
      details,
    );
  }
  return { rows, seed };
}

const weights = new Float64Array(MEASURE_POPULARITY.length);

/** A mask of 1–3 measures among `candidates` (weighted by popularity), 0 if there are none. */
function drawMeasures(rng: Rng, candidates: number, size: number): number {
  let mask = 0;
  for (let k = 0; k < size && candidates; k++) {
    for (let i = 0; i < weights.length; i++) weights[i] = candidates & (1 << i) ? MEASURE_POPULARITY[i]! : 0;
    const bit = 1 << rng.pick(weights);
    mask |= bit;
    candidates &= ~bit;
    if (bit === HEAT_PUMP) candidates &= ~BOILER_UPGRADE; // a heat pump replaces the boiler
    if (bit === BOILER_UPGRADE) candidates &= ~HEAT_PUMP;
  }
  return mask;
}

function drawPackage(rng: Rng, applicable: number): number {
  let mask = drawMeasures(rng, applicable, 1 + rng.pick(PACKAGE_SIZE));
  // The inert extra must not break the boiler-or-heat-pump rule either.
  const notApplicable =
    ALL_MEASURES & ~applicable & ~(mask & HEAT_PUMP ? BOILER_UPGRADE : mask & BOILER_UPGRADE ? HEAT_PUMP : 0);
  if (notApplicable && (mask === 0 || rng.next() < NOT_APPLICABLE_SHARE)) mask |= drawMeasures(rng, notApplicable, 1);
  return mask;
}

function seen(masks: Int32Array, count: number, mask: number): boolean {
  for (let i = 0; i < count; i++) if (masks[i] === mask) return true;
  return false;
}

/** A multiplicative factor: heteroscedastic (scales the effect), correlated across targets via `shared`. */
function noise(rng: Rng, spread: number, shared: number): number {
  return Math.max(0.2, 1 + spread * (0.7 * shared + 0.71 * rng.normal()));
}

const round = (x: number, scale: number): number => Math.round(x * scale) / scale;

/** The home's cells, shared by all its package rows. */
function homeCells(id: number, h: Home, now: Assessment): string {
  return (
    `H${String(id).padStart(7, '0')},${PROPERTY_TYPES[h.propertyType]},${BUILT_FORMS[h.builtForm]},${
      AGE_BANDS[h.ageBand]
    },` +
    `${h.floorArea},${h.rooms},${WALL_TYPES[h.wallType]},${h.wallsInsulated},${
      Number.isNaN(h.roofMm) ? '' : h.roofMm
    },` +
    `${GLAZINGS[h.glazing]},${FUELS[h.fuel]},${HEATING_SYSTEMS[h.heating]},${
      Number.isNaN(h.boilerEfficiency) ? '' : h.boilerEfficiency
    },` +
    `${Math.round(Math.min(120, Math.max(1, now.sap)))},${round(now.heatDemand, 10)},${round(now.co2, 100)},`
  );
}

function write(out: NodeJS.WritableStream, chunk: string): Promise<void> | undefined {
  if (out.write(chunk)) return undefined;
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: unknown): void => {
      out.off('drain', onDrain);
      reject(err);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/**
 * Writes `rows` data rows (plus the header) to `out` in chunks, waiting for 'drain' when the stream
 * asks. Does not end `out`. Bytes are the UTF-8 bytes written (every cell is ASCII).
 */
export async function writeSynthCsv(
  opts: SynthOptions,
  out: NodeJS.WritableStream,
): Promise<{ rows: number; bytes: number }> {
  const { rows, seed } = parseSynthOptions(opts);
  const rng = new Rng(seed);
  const home = new Home();
  const now: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
  const effect: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
  const packages = new Int32Array(PACKAGES_PER_HOME.length);
  let chunk = `${SYNTH_COLUMNS.join(',')}\n`;
  let chunkRows = 0;
  let bytes = 0;
  let written = 0;
  for (let id = 1; written < rows; id++) {
    sampleHome(rng, home);
    assess(home, 0, now);
    const applicable = applicableMeasures(home);
    const prefix = homeCells(id, home, now);
    const wanted = Math.min(1 + rng.pick(PACKAGES_PER_HOME), rows - written);
    // Noise grows with the age of the home: older fabric is less predictable.
    const spread = 0.05 + 0.015 * (7 - home.ageBand);
    let count = 0;
    for (let attempt = 0; count < wanted && attempt < 3 * wanted; attempt++) {
      const mask = drawPackage(rng, applicable);
      if (seen(packages, count, mask)) continue;
      packages[count++] = mask;
      packageEffect(home, mask, effect);
      const shared = rng.normal();
      let cells = prefix;
      for (let i = 0; i < MEASURE_COLUMNS.length; i++) cells += mask & (1 << i) ? '1,' : '0,';
      chunk +=
        `${cells}${round(effect.sap * noise(rng, spread, shared), 10)},` +
        `${round(effect.heatDemand * noise(rng, spread, shared), 10)},${round(
          effect.co2 * noise(rng, spread, shared),
          1000,
        )}\n`;
      written++;
      if (++chunkRows === CHUNK_ROWS) {
        bytes += Buffer.byteLength(chunk);
        await write(out, chunk);
        chunk = '';
        chunkRows = 0;
      }
    }
  }
  if (chunk) {
    bytes += Buffer.byteLength(chunk);
    await write(out, chunk);
  }
  return { rows: written, bytes };
}
