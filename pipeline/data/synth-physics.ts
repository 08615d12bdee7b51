// A pocket SAP: heat loss → space-heating demand → fuel cost and CO₂ → SAP rating, for a home with
// or without a retrofit package. Pure functions of a `Home`; nothing here draws random numbers.
import {
  BOILER,
  CAVITY,
  CONDENSING_MIN_EFFICIENCY,
  ELECTRICITY,
  GAS,
  HEAT_PUMP as HEAT_PUMP_SYSTEM,
  LOFT_TARGET_MM,
  SINGLE,
  SOLID,
  STORAGE_HEATERS,
  TIMBER,
  type Home,
} from './synth-home.ts';

// Measure bits, in the CSV's column order.
const LOFT_INSULATION = 1,
  CAVITY_WALL_INSULATION = 2,
  SOLID_WALL_INSULATION = 4,
  DOUBLE_GLAZING = 8;
export const BOILER_UPGRADE = 16,
  HEAT_PUMP = 32,
  SOLAR_PV = 64;
export const MEASURE_COLUMNS = [
  'loft_insulation',
  'cavity_wall_insulation',
  'solid_wall_insulation',
  'double_glazing',
  'boiler_upgrade',
  'heat_pump',
  'solar_pv',
] as const;
export const ALL_MEASURES = 127;

export interface Assessment {
  /** Unclipped SAP (it can drop below 1 for the very worst homes; the CSV floors it at 1). */
  sap: number;
  /** Space-heating demand, kWh/m²/yr. */
  heatDemand: number;
  /** t CO₂/yr. */
  co2: number;
}

/** The measures that change something in this home; any other flagged measure is ignored. */
export function applicableMeasures(h: Home): number {
  let m = 0;
  if (h.roofMm < LOFT_TARGET_MM) m |= LOFT_INSULATION; // NaN (no roof) compares false
  if (!h.wallsInsulated && h.wallType === CAVITY) m |= CAVITY_WALL_INSULATION;
  if (!h.wallsInsulated && h.wallType === SOLID) m |= SOLID_WALL_INSULATION;
  if (h.glazing === SINGLE) m |= DOUBLE_GLAZING;
  if (h.heating === BOILER && h.boilerEfficiency < CONDENSING_MIN_EFFICIENCY) m |= BOILER_UPGRADE;
  if (h.heating !== HEAT_PUMP_SYSTEM) m |= HEAT_PUMP;
  if (h.pvKwp > 0) m |= SOLAR_PV;
  return m;
}

// SAP 2012 Table 12-like prices (p/kWh) and standing charges (p/yr): EPC ratings in the register are
// still mostly RdSAP 2012, so the rating follows its economics.
const PRICE = [3.48, 13.19, 5.44, 7.6]; // by fuel code: gas, electricity (standard), oil, LPG
const OFF_PEAK_LOW = 5.5,
  OFF_PEAK_HIGH = 15.29;
const GAS_STANDING = 12000,
  OFF_PEAK_STANDING = 2400;
// SAP 10.2 carbon factors (kg/kWh): today's grid, so a heat pump's carbon saving is the one a customer gets.
const CO2 = [0.21, 0.136, 0.298, 0.241];
// Heating-season loss per W/K of heat-loss coefficient (kWh): ~2,330 K·days × 24 h / 1000.
const LOSS_KWH_PER_W_K = 56;
const GAIN_HOURS = 5.76; // 240 heating days × 24 h / 1000, turning W of internal gains into kWh
const WALL_U_UNINSULATED = [1.5, 2.0, 1.9, 1.6]; // cavity, solid, timber, system (W/m²K)
const WALL_U_RETROFIT = [0.55, 0.32, 0.45, 0.35];
const WALL_U_AS_BUILT = [0, 0, 0, 0.45, 0.6, 0.45, 0.35, 0.28]; // insulated cavity/timber, by age band
const FLOOR_U = [0.7, 0.7, 0.7, 0.7, 0.45, 0.35, 0.25, 0.18];
const GLAZING_U = [4.8, 2.8, 1.8];
const NEW_DOUBLE_GLAZING_U = 2.0;
const NEW_BOILER_EFFICIENCY = 89;
const PV_KWH_PER_KWP = 850;
/** Multi-measure packages deliver less than the physics adds up to (overlap, comfort taking). */
const PACKAGE_SHRINK_PER_EXTRA_MEASURE = 0.06;

function wallU(h: Home, measures: number): number {
  const w = h.wallType;
  if (h.wallsInsulated)
    return (w === CAVITY || w === TIMBER) && h.ageBand >= 3 ? WALL_U_AS_BUILT[h.ageBand]! : WALL_U_RETROFIT[w]!;
  if ((measures & CAVITY_WALL_INSULATION && w === CAVITY) || (measures & SOLID_WALL_INSULATION && w === SOLID))
    return WALL_U_RETROFIT[w]!;
  return w === CAVITY && h.ageBand === 3 ? 1.3 : WALL_U_UNINSULATED[w]!; // partial fill from 1976
}

/** Rates the home as it would be after `measures`; measures that do not apply change nothing. */
export function assess(h: Home, measures: number, out: Assessment): Assessment {
  const m = measures & applicableMeasures(h);
  const tfa = h.floorArea;
  const footprint = tfa / h.storeys;
  const grossWall = 4 * Math.sqrt(footprint) * h.perimeterFactor * 2.5 * h.storeys * h.exposure;
  const windows = Math.min(h.windowFraction * tfa, 0.6 * grossWall);
  const netWall = grossWall - windows;
  const roofArea = Number.isNaN(h.roofMm) ? 0 : footprint;
  const roofMm = m & LOFT_INSULATION ? LOFT_TARGET_MM : h.roofMm;
  const roofU = roofArea > 0 ? 1 / (0.45 + roofMm / 40) : 0; // 0.04 W/mK mineral wool over a 0.45 m²K/W deck
  const floorArea = h.groundFloor ? footprint : 0;
  const glazingU = m & DOUBLE_GLAZING ? NEW_DOUBLE_GLAZING_U : GLAZING_U[h.glazing]!;
  const airChanges = m & DOUBLE_GLAZING ? h.airChanges - 0.1 : h.airChanges;
  const exposedArea = netWall + roofArea + floorArea + windows;
  const fabric =
    netWall * wallU(h, m) +
    roofArea * roofU +
    floorArea * FLOOR_U[h.ageBand]! +
    windows * glazingU +
    (h.ageBand >= 6 ? 0.08 : 0.15) * exposedArea;
  const heatLoss = (fabric + 0.33 * airChanges * tfa * 2.5) * h.spread;

  // SAP's gain-utilisation factor: the better insulated the home, the less of its gains are useful,
  // which is what makes fabric savings shrink as fabric improves.
  const loss = heatLoss * LOSS_KWH_PER_W_K;
  const gains = (150 + 2.2 * tfa) * GAIN_HOURS + windows * 90;
  const ratio = gains / loss;
  const a = 3;
  const utilisation = Math.abs(ratio - 1) < 1e-6 ? a / (a + 1) : (1 - ratio ** a) / (1 - ratio ** (a + 1));
  const space = loss - utilisation * gains;
  const water = 1400 + 12 * Math.min(tfa, 200);

  let cost = 5 * tfa * PRICE[ELECTRICITY]!; // lighting
  let co2 = 5 * tfa * CO2[ELECTRICITY]!;
  const heatPump = h.heating === HEAT_PUMP_SYSTEM || m & HEAT_PUMP;
  if (heatPump) {
    const kwh = space / h.heatPumpCop + water / (0.7 * h.heatPumpCop);
    cost += kwh * PRICE[ELECTRICITY]!;
    co2 += kwh * CO2[ELECTRICITY]!;
  } else if (h.heating === BOILER) {
    const eff = (m & BOILER_UPGRADE ? NEW_BOILER_EFFICIENCY : h.boilerEfficiency) / 100;
    const kwh = space / eff + water / (0.9 * eff);
    cost += kwh * PRICE[h.fuel]! + 130 * PRICE[ELECTRICITY]! + (h.fuel === GAS ? GAS_STANDING : 0);
    co2 += kwh * CO2[h.fuel]! + 130 * CO2[ELECTRICITY]!;
  } else if (h.heating === STORAGE_HEATERS) {
    // Storage heaters charge off-peak, with 10% from a standard-rate secondary heater; the
    // immersion heats mostly off-peak.
    const kwh = space + water / 0.85;
    cost +=
      space * (0.9 * OFF_PEAK_LOW + 0.1 * PRICE[ELECTRICITY]!) +
      (water / 0.85) * (0.8 * OFF_PEAK_LOW + 0.2 * OFF_PEAK_HIGH) +
      OFF_PEAK_STANDING;
    co2 += kwh * CO2[ELECTRICITY]!;
  } else if (h.fuel === ELECTRICITY) {
    const kwh = space + water / 0.85;
    cost += kwh * PRICE[ELECTRICITY]!;
    co2 += kwh * CO2[ELECTRICITY]!;
  } else {
    const kwh = space / 0.62 + water / 0.65; // gas fires and a multipoint
    cost += kwh * PRICE[h.fuel]! + (h.fuel === GAS ? GAS_STANDING : 0);
    co2 += kwh * CO2[h.fuel]!;
  }
  if (m & SOLAR_PV) {
    const kwh = h.pvKwp * PV_KWH_PER_KWP;
    cost -= kwh * PRICE[ELECTRICITY]!;
    co2 -= kwh * CO2[ELECTRICITY]!;
  }

  // The SAP 2012 rating from the energy cost factor (deflator 0.42, £ per m² + 45).
  const ecf = (0.42 * cost) / 100 / (tfa + 45);
  const sap = ecf >= 3.5 ? 117 - 121 * Math.log10(ecf) : 100 - 13.95 * ecf;
  // Unclipped: the register floors ratings at 1, but a change is measured on the true scale.
  out.sap = sap;
  out.heatDemand = space / tfa;
  out.co2 = co2 / 1000;
  return out;
}

const scratchBefore: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
const scratchAfter: Assessment = { sap: 0, heatDemand: 0, co2: 0 };

/**
 * The noise-free targets of `measures` on this home: after minus before, shrunk for multi-measure
 * packages. Zero (all three) when no flagged measure applies.
 */
export function packageEffect(h: Home, measures: number, out: Assessment): Assessment {
  const m = measures & applicableMeasures(h);
  if (m === 0) {
    out.sap = out.heatDemand = out.co2 = 0;
    return out;
  }
  assess(h, 0, scratchBefore);
  assess(h, m, scratchAfter);
  let count = 0;
  for (let bits = m; bits; bits &= bits - 1) count++;
  const shrink = 1 / (1 + PACKAGE_SHRINK_PER_EXTRA_MEASURE * (count - 1));
  out.sap = (scratchAfter.sap - scratchBefore.sap) * shrink;
  out.heatDemand = (scratchAfter.heatDemand - scratchBefore.heatDemand) * shrink;
  out.co2 = (scratchAfter.co2 - scratchBefore.co2) * shrink;
  return out;
}
