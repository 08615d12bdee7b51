// One synthetic home drawn from English-stock-like marginals (English Housing Survey / EPC register
// shapes, rounded). A single mutable `Home` is refilled per home so the generator allocates nothing per row.
import type { Rng } from './synth-random.ts';

export const PROPERTY_TYPES = ['House', 'Bungalow', 'Flat', 'Maisonette'] as const;
export const BUILT_FORMS = ['Detached', 'Semi-Detached', 'End-Terrace', 'Mid-Terrace'] as const;
export const AGE_BANDS = [
  'before 1919',
  '1919-1944',
  '1945-1964',
  '1965-1982',
  '1983-1995',
  '1996-2006',
  '2007-2011',
  '2012 onwards',
] as const;
export const WALL_TYPES = ['cavity', 'solid', 'timber', 'system'] as const;
export const GLAZINGS = ['single', 'double', 'triple'] as const;
export const FUELS = ['mains_gas', 'electricity', 'oil', 'lpg'] as const;
export const HEATING_SYSTEMS = ['boiler', 'heat_pump', 'storage_heaters', 'room_heaters'] as const;

// Codes are indices into the label arrays above.
const HOUSE = 0,
  BUNGALOW = 1,
  FLAT = 2,
  MAISONETTE = 3;
const DETACHED = 0;
export const CAVITY = 0,
  SOLID = 1,
  TIMBER = 2,
  SYSTEM = 3;
export const SINGLE = 0,
  DOUBLE = 1,
  TRIPLE = 2;
export const GAS = 0,
  ELECTRICITY = 1,
  OIL = 2,
  LPG = 3;
export const BOILER = 0,
  HEAT_PUMP = 1,
  STORAGE_HEATERS = 2,
  ROOM_HEATERS = 3;
/** A boiler below this seasonal efficiency (%) is non-condensing: the one a boiler upgrade replaces. */
export const CONDENSING_MIN_EFFICIENCY = 84;
/** Lofts at or above this depth (mm) are at the current recommendation: loft insulation adds nothing. */
export const LOFT_TARGET_MM = 270;

export class Home {
  propertyType = HOUSE;
  builtForm = DETACHED;
  ageBand = 0;
  floorArea = 0;
  rooms = 0;
  wallType = CAVITY;
  wallsInsulated = 0;
  /** NaN: no roof of its own (a flat or maisonette with a dwelling above). */
  roofMm = NaN;
  glazing = DOUBLE;
  fuel = GAS;
  heating = BOILER;
  /** NaN without a boiler. */
  boilerEfficiency = NaN;
  // Hidden state: what a full RdSAP survey records but this data set does not carry. It is why the
  // observed features never determine the targets exactly, as with real EPCs.
  storeys = 2;
  /** Share of the wall perimeter facing outside (party walls and neighbouring flats lose nothing). */
  exposure = 1;
  perimeterFactor = 1;
  windowFraction = 0.18;
  airChanges = 0.7;
  groundFloor = 1;
  heatPumpCop = 2.6;
  pvKwp = 0;
  /** Multiplier on the heat-loss coefficient for everything else (bridging, shading, workmanship). */
  spread = 1;
}

const PROPERTY_WEIGHTS = [0.64, 0.09, 0.23, 0.04];
const FORM_WEIGHTS = [
  [0.22, 0.33, 0.13, 0.32], // House
  [0.55, 0.32, 0.05, 0.08], // Bungalow
  [0.08, 0.22, 0.25, 0.45], // Flat: EPCs record how much of the block's wall the flat shares
  [0.08, 0.22, 0.25, 0.45], // Maisonette
];
const AGE_WEIGHTS = [
  [0.21, 0.17, 0.18, 0.19, 0.09, 0.08, 0.04, 0.04],
  [0.03, 0.07, 0.25, 0.35, 0.17, 0.08, 0.03, 0.02],
  [0.14, 0.07, 0.14, 0.22, 0.12, 0.12, 0.08, 0.11],
  [0.18, 0.06, 0.2, 0.28, 0.1, 0.08, 0.05, 0.05],
];
// cavity, solid, timber, system by age band: solid until the 1920s, cavity from the 1930s on.
const WALL_WEIGHTS = [
  [0.06, 0.91, 0.03, 0],
  [0.5, 0.46, 0.01, 0.03],
  [0.8, 0.06, 0.03, 0.11],
  [0.86, 0.02, 0.05, 0.07],
  [0.88, 0.01, 0.09, 0.02],
  [0.88, 0.01, 0.1, 0.01],
  [0.86, 0.01, 0.12, 0.01],
  [0.84, 0.01, 0.14, 0.01],
];
const ROOF_MM = [0, 12, 25, 50, 75, 100, 150, 200, 250, 270, 300, 350, 400];
const ROOF_WEIGHTS_OLD = [0.04, 0.01, 0.03, 0.07, 0.07, 0.13, 0.12, 0.14, 0.1, 0.18, 0.08, 0.02, 0.01];
const ROOF_WEIGHTS_2007 = [0, 0, 0, 0, 0, 0.02, 0.05, 0.1, 0.25, 0.33, 0.2, 0.05, 0];
const ROOF_WEIGHTS_2012 = [0, 0, 0, 0, 0, 0, 0, 0.03, 0.1, 0.3, 0.37, 0.15, 0.05];
const SINGLE_GLAZED = [0.14, 0.08, 0.06, 0.05, 0.03, 0.01, 0, 0];
const TRIPLE_GLAZED = [0.005, 0.005, 0.005, 0.005, 0.005, 0.01, 0.02, 0.05];
// Median floor area (m²) by property type and built form.
const MEDIAN_AREA = [
  [140, 92, 85, 82],
  [80, 70, 66, 64],
  [62, 58, 56, 55],
  [76, 72, 72, 70],
];
const HOUSE_EXPOSURE = [1, 0.78, 0.78, 0.56];
const FLAT_EXPOSURE = [0.85, 0.7, 0.6, 0.45];
const AIR_CHANGES = [1.1, 0.95, 0.85, 0.8, 0.7, 0.6, 0.5, 0.45];
// Heating options: gas boiler, oil boiler, LPG boiler, storage heaters, electric room heaters,
// gas room heaters, heat pump. Oil and LPG are rural, hence detached; flats are often all-electric.
const SYSTEM_WEIGHTS_DETACHED = [0.76, 0.12, 0.025, 0.04, 0.015, 0.01, 0.015];
const SYSTEM_WEIGHTS_HOUSE = [0.87, 0.025, 0.005, 0.04, 0.015, 0.01, 0.01];
const SYSTEM_WEIGHTS_FLAT = [0.66, 0.005, 0.005, 0.2, 0.07, 0.01, 0.02];
const SYSTEM_FUEL = [GAS, OIL, LPG, ELECTRICITY, ELECTRICITY, GAS, ELECTRICITY];
const SYSTEM_HEATING = [BOILER, BOILER, BOILER, STORAGE_HEATERS, ROOM_HEATERS, ROOM_HEATERS, HEAT_PUMP];
const systemWeights = new Float64Array(7);

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(x, hi));

export function sampleHome(rng: Rng, h: Home): Home {
  const type = rng.pick(PROPERTY_WEIGHTS);
  const form = rng.pick(FORM_WEIGHTS[type]!);
  const age = rng.pick(AGE_WEIGHTS[type]!);
  const isFlat = type === FLAT || type === MAISONETTE;
  h.propertyType = type;
  h.builtForm = form;
  h.ageBand = age;

  const sigma = form === DETACHED ? 0.3 : 0.24;
  const area = MEDIAN_AREA[type]![form]! * (age === 0 ? 1.06 : 1) * Math.exp(sigma * rng.normal());
  h.floorArea = Math.round(clamp(area, 18, 600) * 10) / 10;
  h.rooms = Math.round(clamp(0.6 + h.floorArea / 20 + 0.8 * rng.normal(), 1, 20));
  h.storeys =
    type === BUNGALOW || type === FLAT
      ? 1
      : type === HOUSE && (h.floorArea > 200 || (age === 0 && rng.next() < 0.15))
        ? 3
        : 2;

  const wall = rng.pick(WALL_WEIGHTS[age]!);
  h.wallType = wall;
  // Cavities built from 1983 and timber frames from 1965 are insulated as built; older ones only if filled since.
  const insulatedShare =
    wall === CAVITY
      ? age >= 4
        ? 1
        : 0.68
      : wall === SOLID
        ? 0.09
        : wall === TIMBER
          ? age >= 3
            ? 1
            : 0.35
          : age >= 6
            ? 1
            : 0.3;
  h.wallsInsulated = rng.next() < insulatedShare ? 1 : 0;

  // Top-floor flats and maisonettes have a roof of their own; the others have a dwelling above.
  const floorLevel = isFlat ? rng.next() : 0; // flats: < 1/3 ground, > 2/3 (or > 1/2 for maisonettes) top
  const hasRoof = !isFlat || floorLevel > (type === MAISONETTE ? 0.5 : 2 / 3);
  h.groundFloor = !isFlat || floorLevel < 1 / 3 ? 1 : 0;
  h.roofMm = hasRoof
    ? ROOF_MM[rng.pick(age === 7 ? ROOF_WEIGHTS_2012 : age === 6 ? ROOF_WEIGHTS_2007 : ROOF_WEIGHTS_OLD)]!
    : NaN;

  const g = rng.next();
  h.glazing = g < SINGLE_GLAZED[age]! ? SINGLE : g > 1 - TRIPLE_GLAZED[age]! ? TRIPLE : DOUBLE;

  systemWeights.set(isFlat ? SYSTEM_WEIGHTS_FLAT : form === DETACHED ? SYSTEM_WEIGHTS_DETACHED : SYSTEM_WEIGHTS_HOUSE);
  if (age === 7) systemWeights[6]! *= 5; // heat pumps are common only in the newest homes
  const system = rng.pick(systemWeights);
  h.fuel = SYSTEM_FUEL[system]!;
  h.heating = SYSTEM_HEATING[system]!;
  if (h.heating === BOILER) {
    const condensing = rng.next() < (age >= 6 ? 0.97 : 0.68);
    h.boilerEfficiency = condensing
      ? Math.round(clamp(88.5 + 1.5 * rng.normal(), CONDENSING_MIN_EFFICIENCY, 92))
      : Math.round(clamp(73 + 5 * rng.normal(), 55, CONDENSING_MIN_EFFICIENCY - 1));
  } else {
    h.boilerEfficiency = NaN;
  }

  h.exposure = (isFlat ? FLAT_EXPOSURE : HOUSE_EXPOSURE)[form]!;
  h.perimeterFactor = 1 + 0.25 * rng.next();
  h.windowFraction = 0.14 + 0.1 * rng.next();
  h.airChanges = AIR_CHANGES[age]! * (0.85 + 0.3 * rng.next());
  h.heatPumpCop =
    h.heating === HEAT_PUMP ? clamp(2.9 + 0.3 * rng.normal(), 2.2, 3.8) : clamp(2.25 + 0.3 * rng.normal(), 1.6, 3);
  const footprint = h.floorArea / h.storeys;
  h.pvKwp = type === HOUSE || type === BUNGALOW ? clamp(footprint / 15, 1.5, 4) : 0;
  h.spread = Math.exp(0.1 * rng.normal());
  return h;
}
