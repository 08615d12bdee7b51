import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../errors/index.ts';
import { Home, sampleHome } from './synth-home.ts';
import {
  ALL_MEASURES,
  BOILER_UPGRADE,
  HEAT_PUMP,
  SOLAR_PV,
  applicableMeasures,
  assess,
  packageEffect,
  type Assessment,
} from './synth-physics.ts';
import { Rng } from './synth-random.ts';
import { SYNTH_COLUMNS, writeSynthCsv } from './synth.ts';

const CONTRACT = [
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
  'loft_insulation',
  'cavity_wall_insulation',
  'solid_wall_insulation',
  'double_glazing',
  'boiler_upgrade',
  'heat_pump',
  'solar_pv',
  'sap_change',
  'heat_change',
  'carbon_change',
];
const MEASURES = CONTRACT.slice(16, 23);

async function generate(rows: number, seed: number): Promise<{ text: string; rows: number; bytes: number }> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  const result = await writeSynthCsv({ rows, seed }, out);
  return { text: Buffer.concat(parts).toString('utf8'), ...result };
}

type Row = Record<string, string>;
function parse(text: string): Row[] {
  const lines = text.trimEnd().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    assert.equal(cells.length, header.length, `row "${line}" has ${cells.length} cells`);
    return Object.fromEntries(header.map((h, i) => [h, cells[i]!]));
  });
}

const data = await generate(20000, 42);
const rows = parse(data.text);
const homes = [...new Map(rows.map((r) => [r.home_id!, r])).values()];
const num = (r: Row, c: string): number => Number(r[c]);
const mean = (rs: Row[], c: string): number => rs.reduce((s, r) => s + num(r, c), 0) / rs.length;
const flagged = (r: Row): string[] => MEASURES.filter((m) => r[m] === '1');
/** The contract's applicability rules, re-derived from the row's own features. */
function applies(r: Row, m: string): boolean {
  switch (m) {
    case 'loft_insulation':
      return r.roof_insulation_mm !== '' && num(r, 'roof_insulation_mm') < 270;
    case 'cavity_wall_insulation':
      return r.wall_type === 'cavity' && r.walls_insulated === '0';
    case 'solid_wall_insulation':
      return r.wall_type === 'solid' && r.walls_insulated === '0';
    case 'double_glazing':
      return r.glazing === 'single';
    case 'boiler_upgrade':
      return r.heating_system === 'boiler' && num(r, 'boiler_efficiency') < 84;
    case 'heat_pump':
      return r.heating_system !== 'heat_pump';
    case 'solar_pv':
      return r.property_type === 'House' || r.property_type === 'Bungalow';
    default:
      throw new Error(m);
  }
}
const only =
  (m: string) =>
  (r: Row): boolean =>
    flagged(r).length === 1 && r[m] === '1';

describe('synthetic EPC data', () => {
  test('header is exactly the contract, in order, and rows come as asked', () => {
    assert.deepEqual([...SYNTH_COLUMNS], CONTRACT);
    assert.equal(data.text.slice(0, data.text.indexOf('\n')), CONTRACT.join(','));
    assert.equal(rows.length, 20000);
    assert.equal(data.rows, 20000);
    assert.equal(data.bytes, Buffer.byteLength(data.text));
  });

  test('same seed gives byte-identical files; another seed differs', async () => {
    const a = await generate(3000, 7);
    const b = await generate(3000, 7);
    const c = await generate(3000, 8);
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
    assert.ok((await generate(500, 7)).text.length < a.text.length);
  });

  test('SAP bands come out in English-stock proportions', () => {
    const bands = { AB: 0, C: 0, D: 0, E: 0, F: 0, G: 0 };
    for (const h of homes) {
      const s = num(h, 'current_sap');
      bands[s >= 81 ? 'AB' : s >= 69 ? 'C' : s >= 55 ? 'D' : s >= 39 ? 'E' : s >= 21 ? 'F' : 'G']++;
    }
    const pct = (n: number): number => (100 * n) / homes.length;
    const within = (band: keyof typeof bands, lo: number, hi: number): void =>
      assert.ok(
        pct(bands[band]) >= lo && pct(bands[band]) <= hi,
        `band ${band} is ${pct(bands[band]).toFixed(1)}%, expected ${lo}–${hi}%`,
      );
    within('AB', 0.5, 5);
    within('C', 32, 48);
    within('D', 32, 48);
    within('E', 8, 20);
    within('F', 1, 6);
    within('G', 0.2, 3);
  });

  test('missing cells exactly where the contract says, nowhere else', () => {
    for (const r of rows) {
      const hasRoof = r.roof_insulation_mm !== '';
      if (r.property_type === 'House' || r.property_type === 'Bungalow')
        assert.ok(hasRoof, `${r.home_id}: a house always has a roof`);
      assert.equal(
        r.boiler_efficiency === '',
        r.heating_system !== 'boiler',
        `${r.home_id}: boiler efficiency iff a boiler`,
      );
      for (const c of CONTRACT)
        if (c !== 'roof_insulation_mm' && c !== 'boiler_efficiency')
          assert.notEqual(r[c], '', `${r.home_id}: ${c} empty`);
    }
    const flats = homes.filter((h) => h.property_type === 'Flat');
    const roofless = flats.filter((h) => h.roof_insulation_mm === '').length / flats.length;
    assert.ok(roofless > 0.5 && roofless < 0.8, `${roofless} of flats have no roof of their own`);
  });

  test('marginals are coherent: fuels with systems, walls with age, SAP with age, rooms with area', () => {
    for (const h of homes) {
      if (h.heating_system === 'storage_heaters' || h.heating_system === 'heat_pump')
        assert.equal(h.main_fuel, 'electricity');
      if (h.heating_system === 'boiler') assert.notEqual(h.main_fuel, 'electricity');
    }
    const old = homes.filter((h) => h.construction_age_band === 'before 1919');
    const postwar = homes.filter((h) => ['1945-1964', '1965-1982', '1983-1995'].includes(h.construction_age_band!));
    const newest = homes.filter((h) => h.construction_age_band === '2012 onwards');
    assert.ok(old.filter((h) => h.wall_type === 'solid').length / old.length > 0.8);
    assert.ok(postwar.filter((h) => h.wall_type === 'cavity').length / postwar.length > 0.75);
    assert.ok(old.length > newest.length * 2, 'age bands skew old');
    assert.ok(mean(old, 'current_sap') + 15 < mean(newest, 'current_sap'));
    const area = homes.map((h) => num(h, 'total_floor_area'));
    const rooms = homes.map((h) => num(h, 'number_habitable_rooms'));
    assert.ok(correlation(area, rooms) > 0.7);
    // Heat demand and CO₂ agree with the rating.
    assert.ok(
      correlation(
        homes.map((h) => num(h, 'current_sap')),
        homes.map((h) => num(h, 'current_heat_demand')),
      ) < -0.5,
    );
  });

  test('packages hold 1–3 measures that apply; a measure that does not apply changes nothing', () => {
    let inert = 0;
    for (const r of rows) {
      const measures = flagged(r);
      const applicable = measures.filter((m) => applies(r, m));
      assert.ok(
        measures.length >= 1 && applicable.length <= 3 && measures.length - applicable.length <= 1,
        `${r.home_id}: ${measures}`,
      );
      assert.ok(!(r.boiler_upgrade === '1' && r.heat_pump === '1'), `${r.home_id}: boiler upgrade with a heat pump`);
      if (applicable.length === 0) {
        inert++;
        assert.deepEqual(
          [r.sap_change, r.heat_change, r.carbon_change],
          ['0', '0', '0'],
          `${r.home_id}: ${measures} do not apply`,
        );
      }
    }
    assert.ok(inert > 0, 'some rows flag only measures that do not apply');
    // Same semantics in the physics: adding any inapplicable measure leaves the effect untouched.
    const rng = new Rng(3);
    const home = new Home();
    const a: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
    const b: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
    for (let i = 0; i < 2000; i++) {
      sampleHome(rng, home);
      const applicable = applicableMeasures(home);
      const mask = applicable & ~(i % 2 ? HEAT_PUMP : BOILER_UPGRADE);
      assert.deepEqual(packageEffect(home, mask | (ALL_MEASURES & ~applicable), a), packageEffect(home, mask, b));
    }
  });

  test('targets have the right signs', () => {
    for (const m of ['loft_insulation', 'cavity_wall_insulation', 'solid_wall_insulation', 'double_glazing']) {
      const rs = rows.filter(only(m)).filter((r) => applies(r, m));
      assert.ok(rs.length > 20, m);
      for (const r of rs)
        assert.ok(
          num(r, 'heat_change') <= 0 && num(r, 'sap_change') >= 0 && num(r, 'carbon_change') <= 0,
          `${m} row ${r.home_id}`,
        );
      assert.ok(
        mean(rs, 'heat_change') < -5 && mean(rs, 'sap_change') > 1,
        `${m}: heat ${mean(rs, 'heat_change')}, sap ${mean(rs, 'sap_change')}`,
      );
    }
    const boiler = rows.filter(only('boiler_upgrade')).filter((r) => applies(r, 'boiler_upgrade'));
    assert.ok(
      mean(boiler, 'sap_change') > 2 && mean(boiler, 'carbon_change') < -0.3,
      `boiler: sap ${mean(boiler, 'sap_change')}`,
    );
    assert.ok(
      boiler.every((r) => r.heat_change === '0'),
      'a boiler changes fuel use, not heat demand',
    );

    const solar = rows.filter(only('solar_pv')).filter((r) => applies(r, 'solar_pv'));
    for (const r of solar)
      assert.ok(
        r.heat_change === '0' && num(r, 'sap_change') > 0 && num(r, 'carbon_change') < 0,
        `solar row ${r.home_id}`,
      );

    const heatPump = rows.filter(only('heat_pump')).filter((r) => applies(r, 'heat_pump'));
    assert.ok(mean(heatPump, 'carbon_change') < -1, `heat pump carbon change ${mean(heatPump, 'carbon_change')}`);
    const gasToHeatPump = heatPump.filter((r) => r.main_fuel === 'mains_gas');
    assert.ok(
      mean(gasToHeatPump, 'carbon_change') < -1 && Math.abs(mean(gasToHeatPump, 'sap_change')) < 8,
      `gas → heat pump: sap ${mean(gasToHeatPump, 'sap_change')}`,
    );
    const offPeak = heatPump.filter((r) => r.heating_system === 'storage_heaters');
    assert.ok(Math.abs(mean(offPeak, 'sap_change')) < 5, 'SAP moves little for off-peak electric homes');
    assert.ok(
      offPeak.some((r) => num(r, 'sap_change') < 0),
      'and can fall',
    );
  });

  test('combined measures deliver less than the sum of their parts', () => {
    const rng = new Rng(11);
    const home = new Home();
    const pair: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
    const one: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
    const two: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
    const rating: Assessment = { sap: 0, heatDemand: 0, co2: 0 };
    let pairs = 0,
      sapPair = 0,
      sapSum = 0;
    for (let i = 0; i < 3000; i++) {
      sampleHome(rng, home);
      const bits = [1, 2, 4, 8, 16, 32, 64].filter((b) => applicableMeasures(home) & b);
      for (let j = 0; j + 1 < bits.length; j++) {
        const x = bits[j]!,
          y = bits[j + 1]!;
        if ((x | y) === (BOILER_UPGRADE | HEAT_PUMP)) continue;
        packageEffect(home, x | y, pair);
        packageEffect(home, x, one);
        packageEffect(home, y, two);
        assert.ok(Math.abs(pair.heatDemand) < Math.abs(one.heatDemand + two.heatDemand) + 1e-9);
        assert.ok(-pair.co2 < -(one.co2 + two.co2), `co2 ${pair.co2} vs ${one.co2} + ${two.co2}`);
        // SAP is linear in cost above ~51 and logarithmic below, where (as in real SAP) two
        // measures can earn more points together than apart; fabric pairs shrink on the linear part.
        const before = assess(home, 0, rating).sap;
        if (!((x | y) & (HEAT_PUMP | SOLAR_PV)) && before > 52)
          assert.ok(pair.sap < one.sap + two.sap, `sap ${pair.sap} vs ${one.sap} + ${two.sap}`);
        sapPair += pair.sap;
        sapSum += one.sap + two.sap;
        pairs++;
      }
    }
    assert.ok(pairs > 1000);
    assert.ok(sapPair < sapSum, `pairs gain ${sapPair} SAP points in all, apart ${sapSum}`);
  });

  test('streams in bounded chunks and waits for a slow consumer', async () => {
    let maxBuffered = 0;
    let bytes = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        maxBuffered = Math.max(maxBuffered, slow.writableLength);
        setImmediate(done);
      },
    });
    const result = await writeSynthCsv({ rows: 30000, seed: 1 }, slow);
    assert.equal(result.rows, 30000);
    assert.equal(result.bytes, bytes);
    assert.ok(maxBuffered < 2 * 1024 * 1024, `buffered ${maxBuffered} bytes`);
  });

  test('bad options are rejected with the field and nothing is written', async () => {
    const cases: Array<[unknown, unknown, string]> = [
      [0, 1, 'rows'],
      [-5, 1, 'rows'],
      [1.5, 1, 'rows'],
      [Number.NaN, 1, 'rows'],
      ['10', 1, 'rows'],
      [10, 1.5, 'seed'],
      [10, Number.POSITIVE_INFINITY, 'seed'],
      [10, undefined, 'seed'],
    ];
    for (const [rowsOpt, seed, field] of cases) {
      const out = new PassThrough();
      let written = 0;
      out.on('data', (c: Buffer) => (written += c.length));
      await assert.rejects(
        writeSynthCsv({ rows: rowsOpt, seed } as { rows: number; seed: number }, out),
        (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.equal(err.details[0]?.field, field);
          assert.match(err.message, new RegExp(`${field}: expected`));
          return true;
        },
      );
      assert.equal(written, 0);
    }
  });
});

function correlation(x: number[], y: number[]): number {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
