// Runs on both hydraulic engines: the station control is hydrowatch's either way, and the pumps'
// operating point (mass balance or EPANET) must come out physically coherent.
import { describe, expect, it } from 'vitest';
import type { EpanetNetwork } from '../../simulators/epanet.js';
import { PUMP_CONTROL } from '../../simulators/network.js';
import { simulateOffline } from '../../simulators/run.js';
import { byAsset, DAY_MS, DAY_START_MS, demoAssets, HYDRAULICS, hydraulicsFor, latestAt, num, readings, type PublishedReading } from './helpers.js';

const assets = demoAssets();
const run = (dailyMaxAirTemp_c: number, days: number, hydraulics: EpanetNetwork | undefined) =>
  byAsset(readings(simulateOffline(assets, { seed: 9, startMs: DAY_START_MS, durationMs: days * DAY_MS, dailyMaxAirTemp_c, hydraulics })));

const engines = await Promise.all(HYDRAULICS.map(async (engine) => ({ engine, hydraulics: await hydraulicsFor(engine) })));

/** Pumps all report every 5 s on the same step grid: line them up by timestamp. */
function pumpTimeline(grouped: Map<string, PublishedReading[]>) {
  const [first, second, standby] = ['P-01', 'P-02', 'P-03'].map((id) => grouped.get(id)!) as [
    PublishedReading[],
    PublishedReading[],
    PublishedReading[],
  ];
  const aligned = standby.every((reading, index) => first[index]?.ts === reading.ts && second[index]?.ts === reading.ts);
  expect(aligned && first.length === standby.length && second.length === standby.length).toBe(true);
  return standby.map((standbyReading, index) => ({
    ts: standbyReading.ts,
    dutyRunning: [first[index]!, second[index]!].map((reading) => reading.values.running === true),
    standbyRunning: standbyReading.values.running === true,
  }));
}

describe.each(engines)('pump station control ($engine)', ({ hydraulics }) => {
  // Two hot days (a heat wave's start) and two ordinary ones.
  const hot = run(39, 2, hydraulics);
  const ordinary = run(30, 2, hydraulics);

  it('runs the standby only when the duty pumps cannot keep up', () => {
    const clearWater = hot.get('CW-1')!;
    const timeline = pumpTimeline(hot);
    let standbyStarts = 0;
    timeline.forEach((moment, index) => {
      if (!moment.standbyRunning) return;
      expect(moment.dutyRunning).toEqual([true, true]);
      const level = latestAt(clearWater, moment.ts)!;
      expect(num(level, 'level_pct')).toBeLessThan(PUMP_CONTROL.standbyStopPct + 0.5);
      if (timeline[index - 1]?.standbyRunning === false) {
        standbyStarts++;
        // It starts below the low set point, with the level still falling.
        expect(num(level, 'level_pct')).toBeLessThan(PUMP_CONTROL.standbyStartPct + 0.2);
        expect(num(level, 'outflow_m3h')).toBeGreaterThan(num(level, 'inflow_m3h'));
      }
    });
    expect(standbyStarts).toBeGreaterThan(0);
    // On ordinary days the duty pumps cope alone.
    expect(pumpTimeline(ordinary).some((moment) => moment.standbyRunning)).toBe(false);
  });

  it('never stops every pump while CW-1 is below its low set point', () => {
    for (const grouped of [hot, ordinary]) {
      const clearWater = grouped.get('CW-1')!;
      const idle = pumpTimeline(grouped).filter((moment) => !moment.standbyRunning && !moment.dutyRunning.some(Boolean));
      expect(idle.length).toBeGreaterThan(0);
      for (const moment of idle) {
        const level = latestAt(clearWater, moment.ts);
        if (level) expect(num(level, 'level_pct')).toBeGreaterThan(PUMP_CONTROL.standbyStartPct);
      }
    }
  });

  it('starts the duty pumps low and stops them high (hysteresis), not cycling', () => {
    const clearWater = ordinary.get('CW-1')!;
    const timeline = pumpTimeline(ordinary);
    let starts = 0;
    timeline.forEach((moment, index) => {
      const before = timeline[index - 1];
      if (!before || before.dutyRunning[0] === moment.dutyRunning[0]) return;
      const pct = num(latestAt(clearWater, moment.ts) ?? clearWater[0]!, 'level_pct');
      if (moment.dutyRunning[0]) {
        starts++;
        expect(pct).toBeLessThan(PUMP_CONTROL.dutyStartPct + 0.5);
      } else {
        expect(pct).toBeGreaterThan(PUMP_CONTROL.dutyStopPct - 0.5);
      }
    });
    expect(starts).toBeGreaterThan(0);
    expect(starts).toBeLessThanOrEqual(2 * 4);
  });

  it('reports running pumps coherently: power = ρgQH/η, speed, warm motor', () => {
    const running = hot.get('P-01')!.filter((reading) => reading.values.running === true);
    const stopped = hot.get('P-01')!.filter((reading) => reading.values.running !== true);
    expect(stopped.every((reading) => num(reading, 'flow_m3h') === 0 && num(reading, 'speed_rpm') === 0)).toBe(true);
    const efficiencies = running.map((reading) => {
      const head_m = ((num(reading, 'discharge_bar') - num(reading, 'suction_bar')) * 1e5) / (1000 * 9.81);
      const hydraulic_kw = (1000 * 9.81 * (num(reading, 'flow_m3h') / 3600) * head_m) / 1000;
      return hydraulic_kw / num(reading, 'power_kw');
    });
    expect(Math.min(...efficiencies)).toBeGreaterThan(0.6);
    expect(Math.max(...efficiencies)).toBeLessThan(0.82);
    expect(Math.min(...running.map((reading) => num(reading, 'speed_rpm')))).toBeGreaterThan(1400);
    const list = hot.get('P-01')!;
    const meanTemp = (running: boolean) => {
      const temps = list.filter((reading) => reading.values.running === running).map((reading) => num(reading, 'motor_temp_c'));
      return temps.reduce((sum, temp) => sum + temp, 0) / temps.length;
    };
    expect(meanTemp(true)).toBeGreaterThan(meanTemp(false) + 10);
  });
});
