import { describe, expect, it } from 'vitest';
import { diurnalDemandFactor, HOURLY_DEMAND_FACTORS, localHourOfDay } from '../../simulators/diurnal.js';
import { simulateOffline } from '../../simulators/run.js';
import { byAsset, DAY_MS, DAY_START_MS, demoAssets, HOUR_MS, num, readings, type PublishedReading } from './helpers.js';

const assets = demoAssets();
const meters = ['M-N', 'M-S'];

function day(dailyMaxAirTemp_c: number) {
  return byAsset(readings(simulateOffline(assets, { seed: 5, startMs: DAY_START_MS, durationMs: DAY_MS, dailyMaxAirTemp_c })));
}

/** Mean of a field per local hour of day. */
function hourlyMeans(list: readonly PublishedReading[], field: string): number[] {
  const sums = Array.from({ length: 24 }, () => ({ total: 0, count: 0 }));
  for (const reading of list) {
    const bucket = sums[Math.floor(localHourOfDay(reading.ts - 1))]!;
    bucket.total += num(reading, field);
    bucket.count += 1;
  }
  return sums.map(({ total, count }) => total / count);
}

/** Volume through the district meters over the day (readings every 15 s). */
function dailyVolume_m3(grouped: Map<string, PublishedReading[]>): number {
  return meters.reduce(
    (sum, meter) => sum + grouped.get(meter)!.reduce((total, reading) => total + num(reading, 'flow_m3h') * (15_000 / HOUR_MS), 0),
    0,
  );
}

const normalDay = day(30);

describe('district demand', () => {
  it('follows the daily curve: morning and evening peaks well above the night', () => {
    for (const meter of meters) {
      const hourly = hourlyMeans(normalDay.get(meter)!, 'flow_m3h');
      const night_m3h = Math.min(...hourly.slice(1, 5));
      const morningPeak_m3h = Math.max(...hourly.slice(6, 10));
      const eveningPeak_m3h = Math.max(...hourly.slice(17, 22));
      expect(morningPeak_m3h).toBeGreaterThan(1.5 * night_m3h);
      expect(eveningPeak_m3h).toBeGreaterThan(1.5 * night_m3h);
      // Peak hour 1.5–2.0× the day's average hour (design §6).
      const average_m3h = hourly.reduce((sum, flow) => sum + flow, 0) / 24;
      expect(eveningPeak_m3h / average_m3h).toBeGreaterThan(1.5);
      expect(eveningPeak_m3h / average_m3h).toBeLessThan(2.0);
    }
  });

  it('pressure at the meter falls when demand rises', () => {
    const list = normalDay.get('M-N')!;
    const flows = hourlyMeans(list, 'flow_m3h');
    const pressures = hourlyMeans(list, 'pressure_bar');
    const busiest = flows.indexOf(Math.max(...flows));
    const quietest = flows.indexOf(Math.min(...flows));
    expect(pressures[busiest]!).toBeLessThan(pressures[quietest]! - 0.3);
  });

  it('is higher on a hotter day: a 38 °C day is a summer peak day, 1.3–1.5× a mild one', () => {
    const mild_m3 = dailyVolume_m3(day(25));
    const normal_m3 = dailyVolume_m3(normalDay);
    const hot_m3 = dailyVolume_m3(day(38));
    expect(normal_m3).toBeGreaterThan(mild_m3);
    expect(hot_m3 / mild_m3).toBeGreaterThan(1.3);
    expect(hot_m3 / mild_m3).toBeLessThan(1.5);
  });

  it('the hourly curve averages to exactly one', () => {
    expect(HOURLY_DEMAND_FACTORS.reduce((sum, factor) => sum + factor, 0) / 24).toBeCloseTo(1, 12);
    const fineAverage = Array.from({ length: 2400 }, (_, index) => diurnalDemandFactor(index / 100)).reduce((a, b) => a + b, 0) / 2400;
    expect(fineAverage).toBeCloseTo(1, 3);
  });
});

describe('weather', () => {
  it('is coolest near 05:00 and hottest near 15:00 local, humidity the other way round', () => {
    const list = normalDay.get('W-01')!;
    const temperatures = hourlyMeans(list, 'air_temp_c');
    const humidity = hourlyMeans(list, 'humidity_pct');
    const coolestHour = temperatures.indexOf(Math.min(...temperatures));
    const hottestHour = temperatures.indexOf(Math.max(...temperatures));
    expect(coolestHour).toBeGreaterThanOrEqual(4);
    expect(coolestHour).toBeLessThanOrEqual(5);
    expect(hottestHour).toBeGreaterThanOrEqual(14);
    expect(hottestHour).toBeLessThanOrEqual(15);
    expect(Math.max(...list.map((reading) => num(reading, 'air_temp_c')))).toBeCloseTo(30, 0);
    expect(humidity[coolestHour]!).toBeGreaterThan(humidity[hottestHour]! + 20);
  });
});
