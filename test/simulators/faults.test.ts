// What each scenario does to the published readings, on the EPANET-driven demo network: the
// signature an alert rule would look for, and the ground truth that says when.
import { beforeAll, describe, expect, it } from 'vitest';
import { TelemetryPayload, type Kind } from '../../src/schema.js';
import type { WireMessage } from '../../simulators/devices.js';
import { localHourOfDay } from '../../simulators/diurnal.js';
import type { EpanetNetwork } from '../../simulators/epanet.js';
import { PUMP_CONTROL, PUMP_FAULT_CODE } from '../../simulators/network.js';
import { runScenario, type ScenarioRun } from '../../simulators/run.js';
import { loadScenario } from '../../simulators/scenarios.js';
import { byAsset, DAY_MS, DAY_START_MS, demoAssets, demoHydraulics, HOUR_MS, latestAt, num, type PublishedReading } from './helpers.js';

const assets = demoAssets();
let hydraulics: EpanetNetwork;
beforeAll(async () => {
  hydraulics = await demoHydraulics();
});

const MINUTE_MS = 60_000;
const at = (day: number, hour: number, minute = 0) => DAY_START_MS + (day - 1) * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS;

function play(name: string, seed = 7): { run: ScenarioRun; grouped: Map<string, PublishedReading[]> } {
  const run = runScenario({ assets, scenario: loadScenario(name), seed, startMs: DAY_START_MS, hydraulics });
  return { run, grouped: byAsset(telemetry(run.messages)) };
}

/**
 * The telemetry in a feed (garbage, status and commands left out). Plain JSON.parse: the schema
 * check of every message is payloads.test.ts' and scenarios.test.ts' job, and would triple the time here.
 */
function telemetry(messages: readonly WireMessage[]): PublishedReading[] {
  const out: PublishedReading[] = [];
  for (const message of messages) {
    const [root, site = '', kind = '', asset = '', channel] = message.topic.split('/');
    if (root !== 'hydrowatch' || channel !== 'telemetry' || typeof message.payload !== 'string' || !(kind in TelemetryPayload)) continue;
    let body: { ts?: unknown; seq?: unknown; values?: unknown };
    try {
      body = JSON.parse(message.payload) as typeof body;
    } catch {
      continue;
    }
    const ts = typeof body.ts === 'number' ? body.ts : typeof body.ts === 'string' ? Date.parse(body.ts) : Number.NaN;
    if (!Number.isFinite(ts) || typeof body.values !== 'object' || body.values === null || Object.keys(body.values).length === 0) continue;
    out.push({ topic: message.topic, site, kind: kind as Kind, asset, ts, seq: typeof body.seq === 'number' ? body.seq : undefined, values: body.values as Record<string, number | boolean> });
  }
  return out;
}

const within = (list: readonly PublishedReading[], fromMs: number, toMs: number) => list.filter((reading) => reading.ts >= fromMs && reading.ts < toMs);
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const meanOf = (list: readonly PublishedReading[], field: string) => mean(list.map((reading) => num(reading, field)));
const commandsFor = (run: ScenarioRun, id: string) =>
  run.messages
    .filter((message) => message.topic.endsWith(`/${id}/command`))
    .map((message) => ({ tsMs: message.tsMs, ...(JSON.parse(String(message.payload)) as { command: string }) }));

describe('normal day', () => {
  let run: ScenarioRun;
  let grouped: Map<string, PublishedReading[]>;
  beforeAll(() => ({ run, grouped } = play('normal-day')));

  it('has no faults, and every value stays in its normal band', () => {
    expect(run.groundTruth).toEqual([]);
    for (const id of ['CW-1', 'R-N', 'R-S']) {
      const levels = grouped.get(id)!.map((reading) => num(reading, 'level_pct'));
      expect(Math.min(...levels), id).toBeGreaterThan(40);
      expect(Math.max(...levels), id).toBeLessThan(97);
    }
    for (const id of ['M-N', 'M-S']) expect(Math.min(...grouped.get(id)!.map((reading) => num(reading, 'pressure_bar'))), id).toBeGreaterThan(2.5);
    expect(grouped.get('P-03')!.some((reading) => reading.values.running === true)).toBe(false);
    for (const id of ['P-01', 'P-02', 'P-03']) {
      const list = grouped.get(id)!;
      expect(list.every((reading) => reading.values.fault_code === 0), id).toBe(true);
      expect(Math.max(...list.map((reading) => num(reading, 'motor_temp_c'))), id).toBeLessThan(100);
      expect(Math.max(...list.map((reading) => num(reading, 'vibration_mms'))), id).toBeLessThan(4);
    }
  });

  it('announces every start and stop of the level control on the pump’s command topic first', () => {
    for (const id of ['P-01', 'P-02']) {
      const commands = commandsFor(run, id);
      const list = grouped.get(id)!;
      let changes = 0;
      for (let index = 1; index < list.length; index++) {
        const [before, after] = [list[index - 1]!, list[index]!];
        if (before.values.running === after.values.running) continue;
        changes++;
        const expected = after.values.running ? 'start' : 'stop';
        const command = commands.filter((candidate) => candidate.tsMs <= after.ts && candidate.tsMs > before.ts - 2 * MINUTE_MS).at(-1);
        expect(command?.command, `${id} ${expected} at ${new Date(after.ts).toISOString()}`).toBe(expected);
      }
      expect(changes, id).toBeGreaterThan(1);
    }
  });
});

describe('heat wave', () => {
  let run: ScenarioRun;
  let grouped: Map<string, PublishedReading[]>;
  let normalVolume_m3: number;
  const days = 5;
  const dailyVolume_m3 = (list: Map<string, PublishedReading[]>, day: number) =>
    ['M-N', 'M-S'].reduce((sum, id) => sum + within(list.get(id)!, at(day, 0), at(day + 1, 0)).reduce((total, reading) => total + num(reading, 'flow_m3h') * (15_000 / HOUR_MS), 0), 0);
  beforeAll(() => {
    ({ run, grouped } = play('heatwave'));
    normalVolume_m3 = dailyVolume_m3(play('normal-day').grouped, 1);
  });

  it('is 36–39 °C every afternoon, and the ground truth calls it a heat wave', () => {
    const weather = grouped.get('W-01')!;
    const maxima = Array.from({ length: days }, (_, index) => Math.max(...within(weather, at(index + 1, 0), at(index + 2, 0)).map((reading) => num(reading, 'air_temp_c'))));
    for (const max of maxima) {
      expect(max).toBeGreaterThanOrEqual(36);
      expect(max).toBeLessThanOrEqual(39.5);
    }
    expect(maxima.at(-1)!).toBeGreaterThan(maxima[0]! + 2);
    expect(run.groundTruth).toEqual([expect.objectContaining({ fault: 'heatwave', asset: 'east', startMs: at(1, 0), endMs: at(days + 1, 0) })]);
  });

  it('drives demand 30–50 % over a normal day, rising every day', () => {
    const ratios = Array.from({ length: days }, (_, index) => dailyVolume_m3(grouped, index + 1) / normalVolume_m3);
    for (let day = 1; day < days; day++) expect(ratios[day]!, `day ${day + 1}`).toBeGreaterThan(ratios[day - 1]!);
    expect(ratios[0]!).toBeGreaterThan(1.25);
    expect(ratios.at(-1)!).toBeLessThan(1.55);
    expect(ratios.at(-1)!).toBeGreaterThan(1.45);
  });

  it('leaves the district reservoirs lower every evening and the clear-water reservoir lower every morning', () => {
    for (const id of ['R-N', 'R-S']) {
      const evenings = Array.from({ length: days }, (_, index) => num(latestAt(grouped.get(id)!, at(index + 1, 22))!, 'level_pct'));
      for (let day = 1; day < days; day++) expect(evenings[day]!, `${id} evening ${day + 1}`).toBeLessThan(evenings[day - 1]! - 3);
      expect(evenings.at(-1)!, id).toBeLessThan(40);
    }
    // Night refill falls short: each morning CW-1 starts the day lower (from day 2, after the first night).
    const mornings = Array.from({ length: days - 1 }, (_, index) => num(latestAt(grouped.get('CW-1')!, at(index + 2, 6))!, 'level_pct'));
    for (let day = 1; day < mornings.length; day++) expect(mornings[day]!, `morning ${day + 2}`).toBeLessThan(mornings[day - 1]!);
  });

  it('runs the standby for hours every day from the first evening: no standby left', () => {
    const standby = grouped.get('P-03')!;
    for (let day = 1; day <= days; day++) {
      const running = within(standby, at(day, 12), at(day + 1, 12)).filter((reading) => reading.values.running === true);
      expect(running.length * 5_000, `day ${day}`).toBeGreaterThan(2 * HOUR_MS);
      // With the standby on, every pump at the station runs.
      const duty = [grouped.get('P-01')!, grouped.get('P-02')!];
      expect(running.every((reading) => duty.every((list) => latestAt(list, reading.ts)?.values.running === true))).toBe(true);
    }
  });
});

describe('pump trip and restart', () => {
  let run: ScenarioRun;
  let grouped: Map<string, PublishedReading[]>;
  beforeAll(() => ({ run, grouped } = play('pump-trip')));

  it('stops the pump with no command: running → false, flow 0, fault code, until the crew resets it', () => {
    const [trip] = run.groundTruth;
    expect(trip).toMatchObject({ fault: 'pump_trip', asset: 'P-01', startMs: at(1, 8), endMs: at(1, 8, 45) });
    const list = grouped.get('P-01')!;
    expect(latestAt(list, trip!.startMs)!.values.running).toBe(true);
    const during = within(list, trip!.startMs + 5_000, trip!.endMs);
    expect(during.length).toBeGreaterThan(500);
    expect(during.every((reading) => reading.values.running === false && num(reading, 'flow_m3h') === 0 && reading.values.fault_code === PUMP_FAULT_CODE.motorProtectionTrip)).toBe(true);
    // No stop command explains it; a start command brings it back after the reset.
    const commands = commandsFor(run, 'P-01');
    expect(commands.some((command) => command.command === 'stop' && Math.abs(command.tsMs - trip!.startMs) < 5 * MINUTE_MS)).toBe(false);
    const restart = commands.find((command) => command.command === 'start' && command.tsMs >= trip!.endMs);
    expect(restart).toBeDefined();
    expect(restart!.tsMs - trip!.endMs).toBeLessThan(MINUTE_MS);
    expect(latestAt(list, trip!.endMs + MINUTE_MS)!.values.running).toBe(true);
  });

  it('brings the standby in for the tripped duty pump', () => {
    const standby = within(grouped.get('P-03')!, at(1, 8, 1), at(1, 8, 45));
    expect(standby.every((reading) => reading.values.running === true && num(reading, 'flow_m3h') > 300)).toBe(true);
    expect(within(grouped.get('P-03')!, at(1, 9), at(1, 10)).every((reading) => reading.values.running === false)).toBe(true);
  });
});

describe('canal blockage by weeds', () => {
  let grouped: Map<string, PublishedReading[]>;
  let run: ScenarioRun;
  beforeAll(() => ({ run, grouped } = play('canal-blockage')));

  it('raises the level while the flow falls, and clears when the crew removes the weeds', () => {
    expect(run.groundTruth).toEqual([expect.objectContaining({ fault: 'canal_blockage', asset: 'C-01', startMs: at(1, 10), endMs: at(1, 16) })]);
    const canal = grouped.get('C-01')!;
    const before = within(canal, at(1, 9, 30), at(1, 10));
    const blocked = within(canal, at(1, 12, 30), at(1, 16));
    const after = within(canal, at(1, 16, 30), at(1, 17));
    expect(meanOf(blocked, 'level_m') - meanOf(before, 'level_m')).toBeGreaterThan(0.3);
    expect(meanOf(blocked, 'flow_m3h')).toBeLessThan(0.75 * meanOf(before, 'flow_m3h'));
    expect(meanOf(blocked, 'velocity_ms')).toBeLessThan(0.6 * meanOf(before, 'velocity_ms'));
    expect(Math.abs(meanOf(after, 'level_m') - meanOf(before, 'level_m'))).toBeLessThan(0.05);
    expect(meanOf(after, 'flow_m3h') / meanOf(before, 'flow_m3h')).toBeCloseTo(1, 1);
  });
});

describe('main burst', () => {
  let grouped: Map<string, PublishedReading[]>;
  let run: ScenarioRun;
  beforeAll(() => ({ run, grouped } = play('main-burst')));

  it('drops the pressure at the meter at once and lifts the night flow', () => {
    const [burst] = run.groundTruth;
    expect(burst).toMatchObject({ fault: 'main_burst', asset: 'M-N', startMs: at(1, 22, 30), endMs: at(2, 7, 30) });
    const meter = grouped.get('M-N')!;
    const pressureBefore = meanOf(within(meter, burst!.startMs - 5 * MINUTE_MS, burst!.startMs), 'pressure_bar');
    const pressureAfter = meanOf(within(meter, burst!.startMs + MINUTE_MS, burst!.startMs + 6 * MINUTE_MS), 'pressure_bar');
    expect(pressureBefore - pressureAfter).toBeGreaterThan(0.3);
    const nightFlow = (day: number) => meanOf(within(meter, at(day, 2), at(day, 4)), 'flow_m3h');
    expect(nightFlow(2) - nightFlow(1)).toBeGreaterThan(450);
    // The other district does not see it.
    const south = grouped.get('M-S')!;
    expect(Math.abs(meanOf(within(south, at(2, 2), at(2, 4)), 'flow_m3h') - meanOf(within(south, at(1, 2), at(1, 4)), 'flow_m3h'))).toBeLessThan(10);
    // Repaired: the pressure is back within what the reservoir it lost meanwhile costs (under 0.1 bar).
    expect(Math.abs(meanOf(within(meter, at(2, 8), at(2, 9)), 'pressure_bar') - meanOf(within(meter, at(1, 8), at(1, 9)), 'pressure_bar'))).toBeLessThan(0.1);
  });
});

describe('power cut at the pump station', () => {
  let grouped: Map<string, PublishedReading[]>;
  let run: ScenarioRun;
  beforeAll(() => ({ run, grouped } = play('power-cut')));

  it('stops every pump of the station for its duration, and the clear-water reservoir draws down', () => {
    expect(run.groundTruth.map((entry) => [entry.fault, entry.asset])).toEqual([
      ['power_cut', 'P-01'],
      ['power_cut', 'P-02'],
      ['power_cut', 'P-03'],
    ]);
    for (const id of ['P-01', 'P-02', 'P-03']) {
      const during = within(grouped.get(id)!, at(1, 8, 30) + 5_000, at(1, 10, 30));
      expect(during.length).toBeGreaterThan(1400);
      expect(during.every((reading) => reading.values.running === false && num(reading, 'flow_m3h') === 0 && num(reading, 'power_kw') === 0 && reading.values.fault_code === PUMP_FAULT_CODE.mainsFailure), id).toBe(true);
    }
    const level = (ms: number) => num(latestAt(grouped.get('CW-1')!, ms)!, 'level_pct');
    expect(level(at(1, 10, 29))).toBeLessThan(level(at(1, 8, 30)) - 20);
    // Power back: the level control restarts the duty pumps (CW-1 is below its start set point).
    expect(level(at(1, 10, 29))).toBeLessThan(PUMP_CONTROL.dutyStartPct);
    expect(within(grouped.get('P-01')!, at(1, 10, 31), at(1, 10, 35)).every((reading) => reading.values.running === true)).toBe(true);
  });
});

describe('sensor faults', () => {
  let grouped: Map<string, PublishedReading[]>;
  let run: ScenarioRun;
  beforeAll(() => ({ run, grouped } = play('sensor-faults')));
  const truth = (fault: string) => run.groundTruth.filter((entry) => entry.fault === fault);

  it('stuck: the level transmitter repeats one reading for the whole window', () => {
    const [stuck] = truth('sensor_stuck');
    expect(stuck).toMatchObject({ asset: 'R-N', startMs: at(1, 3), endMs: at(1, 5) });
    const during = within(grouped.get('R-N')!, stuck!.startMs, stuck!.endMs);
    expect(during.length).toBeGreaterThan(200);
    expect(new Set(during.map((reading) => JSON.stringify(reading.values))).size).toBe(1);
    const after = within(grouped.get('R-N')!, stuck!.endMs, stuck!.endMs + HOUR_MS);
    expect(new Set(after.map((reading) => num(reading, 'level_m'))).size).toBeGreaterThan(10);
  });

  it('spikes: single readings far off their neighbours, exactly where the ground truth says', () => {
    const spikes = truth('sensor_spikes');
    expect(spikes).toHaveLength(6);
    const list = grouped.get('P-01')!;
    const outliers = list.filter((reading, index) => {
      const neighbours = [list[index - 1], list[index + 1]].filter((other): other is PublishedReading => other !== undefined);
      return neighbours.every((other) => num(reading, 'flow_m3h') > 2 * num(other, 'flow_m3h') + 10);
    });
    expect(outliers.map((reading) => reading.ts)).toEqual(spikes.map((entry) => entry.startMs));
  });

  it('dropout: the meter is silent for the window and its seq jumps the gap', () => {
    const [dropout] = truth('sensor_dropout');
    expect(dropout).toMatchObject({ asset: 'M-S', startMs: at(1, 9), endMs: at(1, 9, 45) });
    const list = grouped.get('M-S')!;
    expect(within(list, dropout!.startMs, dropout!.endMs)).toEqual([]);
    const before = latestAt(list, dropout!.startMs - 1)!;
    const after = list.find((reading) => reading.ts >= dropout!.endMs)!;
    expect(after.seq! - before.seq!).toBe(Math.round((after.ts - before.ts) / 15_000));
  });

  it('clock drift: the weather station’s timestamps run ahead, past 5 minutes, until it resyncs', () => {
    const [drift] = truth('clock_drift');
    expect(drift).toMatchObject({ asset: 'W-01', startMs: at(1, 10), endMs: at(1, 14) });
    const weather = run.messages.filter((message) => message.topic.endsWith('/W-01/telemetry'));
    const lead = (message: WireMessage) => Date.parse((JSON.parse(String(message.payload)) as { ts: string }).ts) - message.tsMs;
    const during = weather.filter((message) => message.tsMs >= drift!.startMs && message.tsMs < drift!.endMs).map(lead);
    for (let index = 1; index < during.length; index++) expect(during[index]!).toBeGreaterThan(during[index - 1]!);
    expect(during.at(-1)!).toBeGreaterThan(10 * MINUTE_MS);
    expect(during.filter((ms) => ms > 5 * MINUTE_MS).length).toBeGreaterThan(10);
    expect(weather.filter((message) => message.tsMs >= drift!.endMs).map(lead).every((ms) => ms === 0)).toBe(true);
    expect(localHourOfDay(drift!.startMs)).toBe(10);
  });
});
