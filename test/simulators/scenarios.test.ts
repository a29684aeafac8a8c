// Scenario files: parsing, composition, the weather they make, and the garbage they send (checked
// against the pipeline's real decode + validate).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '../../src/pipeline/decode.js';
import { validate } from '../../src/pipeline/validate.js';
import { REJECT_REASONS, RejectReason } from '../../src/schema.js';
import { runScenario } from '../../simulators/run.js';
import { createDevices } from '../../simulators/devices.js';
import {
  createScenarioDriver,
  GARBAGE_REASONS,
  garbageMessage,
  loadScenario,
  parseDuration,
  scenarioAirTemperature,
  scenariosDirectory,
} from '../../simulators/scenarios.js';
import { DAY_MS, DAY_START_MS, demoAssets, HOUR_MS } from './helpers.js';

const assets = demoAssets();
const scratch = mkdtempSync(join(tmpdir(), 'hydrowatch-scenarios-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function scenarioFile(name: string, text: string): string {
  const path = join(scratch, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** What the ingest pipeline makes of a message, with its clock at the message's time. */
function pipelineVerdict(message: { topic: string; payload: string | Buffer; tsMs: number }): string {
  const inbound = { topic: message.topic, payload: Buffer.from(message.payload), receivedAt: message.tsMs };
  const decoded = decode(inbound);
  if (!decoded.ok) return decoded.reason;
  const validated = validate(decoded.value, { now: () => message.tsMs });
  return validated.ok ? 'accepted' : validated.reason;
}

describe('scenario files', () => {
  it('every bundled scenario parses and names existing assets', () => {
    const names = readdirSync(scenariosDirectory())
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => file.replace(/\.yaml$/, ''));
    expect(names).toEqual(expect.arrayContaining(['normal-day', 'heatwave', 'pump-trip', 'canal-blockage', 'main-burst', 'power-cut', 'sensor-faults']));
    const devices = createDevices(assets, 1, DAY_START_MS);
    for (const name of names) {
      const scenario = loadScenario(name);
      expect(scenario.days, name).toBeGreaterThanOrEqual(1);
      // The driver resolves every event's asset against the demo registry (or throws).
      const driver = createScenarioDriver(scenario, { assets, devices, seed: 1, startMs: DAY_START_MS });
      expect(driver.notes(), name).toEqual([]);
    }
  });

  it('reads durations and refuses what is not one', () => {
    expect(parseDuration('45m')).toBe(45 * 60_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('2d')).toBe(2 * DAY_MS);
    expect(parseDuration('90s')).toBe(90_000);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
  });

  it('composes: events add up, weather and demand come from the last that sets them, the longest run wins', () => {
    const composed = loadScenario('heatwave,pump-trip,main-burst');
    expect(composed.name).toBe('heatwave+pump-trip+main-burst');
    expect(composed.days).toBe(5);
    expect(composed.dailyMaxAirTemp_c).toEqual(loadScenario('heatwave').dailyMaxAirTemp_c);
    expect(composed.events.map((event) => event.fault)).toEqual(['pump_trip', 'main_burst']);

    const warmer = scenarioFile('warmer', 'include: [heatwave]\nweather: { dailyMaxAirTemp_c: [40] }\nevents:\n  - { fault: sensor_dropout, asset: M-N, at: "01:00", for: 10m }\n');
    const included = loadScenario(warmer);
    expect(included.dailyMaxAirTemp_c).toEqual([40]);
    expect(included.demandDailyFactor).toEqual(loadScenario('heatwave').demandDailyFactor);
    expect(included.days).toBe(5);
    expect(loadScenario('heatwave-pump-trip').events).toHaveLength(1);
  });

  it('refuses bad files with the key at fault, unknown assets, and include cycles', () => {
    expect(() => loadScenario(scenarioFile('typo', 'events:\n  - { fault: pump_trip, asset: P-01, at: "08:00", for: 45 minutes }\n'))).toThrow(/events\.0\.for: not a duration/);
    expect(() => loadScenario(scenarioFile('unknown-key', 'wether: {}\n'))).toThrow(/Unrecognized key/);
    expect(() => loadScenario(scenarioFile('bad-fault', 'events:\n  - { fault: meteor, asset: P-01, at: "08:00", for: 1h }\n'))).toThrow(/events\.0/);
    const cycleA = scenarioFile('cycle-a', 'include: [cycle-b]\n');
    scenarioFile('cycle-b', 'include: [cycle-a]\n');
    expect(() => loadScenario(cycleA)).toThrow(/includes itself/);
    expect(() => loadScenario('no-such-scenario')).toThrow(/no such scenario/);
    const ghost = loadScenario(scenarioFile('ghost', 'events:\n  - { fault: pump_trip, asset: P-99, at: "08:00", for: 1h }\n'));
    expect(() => runScenario({ assets, scenario: ghost, seed: 1, startMs: DAY_START_MS })).toThrow(/no asset P-99/);
    const wrongKind = loadScenario(scenarioFile('wrong-kind', 'events:\n  - { fault: main_burst, asset: R-N, at: "08:00", for: 1h }\n'));
    expect(() => runScenario({ assets, scenario: wrongKind, seed: 1, startMs: DAY_START_MS })).toThrow(/R-N is a reservoir, not a meter/);
  });
});

describe('scenario weather', () => {
  const maxima = loadScenario('heatwave').dailyMaxAirTemp_c!;

  it('peaks at each day’s maximum at 15:00 and is continuous across midnight', () => {
    for (let day = 0; day < maxima.length; day++) {
      expect(scenarioAirTemperature(maxima, DAY_START_MS, DAY_START_MS + day * DAY_MS + 15 * HOUR_MS)).toBeCloseTo(maxima[day]!, 9);
      expect(scenarioAirTemperature(maxima, DAY_START_MS, DAY_START_MS + day * DAY_MS + 5 * HOUR_MS)).toBeCloseTo(maxima[day]! - 9, 9);
    }
    for (let minute = 1; minute < maxima.length * 24 * 60; minute++) {
      const before = scenarioAirTemperature(maxima, DAY_START_MS, DAY_START_MS + (minute - 1) * 60_000);
      const after = scenarioAirTemperature(maxima, DAY_START_MS, DAY_START_MS + minute * 60_000);
      expect(Math.abs(after - before)).toBeLessThan(0.05);
    }
  });
});

describe('garbage payloads', () => {
  it('cover every reject reason but ASSET.UNREGISTERED', () => {
    expect([...GARBAGE_REASONS].sort()).toEqual(REJECT_REASONS.filter((reason) => reason !== RejectReason.ASSET_UNREGISTERED).sort());
  });

  it('are refused by the real decode + validate, each for exactly its reason, on every kind of device', () => {
    const problems: string[] = [];
    for (const asset of assets) {
      for (const reason of GARBAGE_REASONS) {
        const verdict = pipelineVerdict(garbageMessage(reason, asset, DAY_START_MS + HOUR_MS));
        if (verdict !== reason) problems.push(`${asset.kind} ${asset.id}: ${reason} came out as ${verdict}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('in the sensor-faults scenario, each is in the ground truth with the reason the pipeline gives it', () => {
    const run = runScenario({ assets, scenario: loadScenario('sensor-faults'), seed: 3, startMs: DAY_START_MS, measurementNoise: false });
    const truth = run.groundTruth.filter((entry) => entry.fault === 'garbage');
    expect(truth).toHaveLength(2 * GARBAGE_REASONS.length);
    expect(new Set(truth.map((entry) => entry.reason))).toEqual(new Set(GARBAGE_REASONS));
    const byTime = new Map(truth.map((entry) => [`${entry.startMs} ${entry.detail}`, entry]));
    const verdicts = run.messages.flatMap((message) => {
      const entry = byTime.get(`${message.tsMs} ${message.topic}`);
      return entry ? [{ expected: entry.reason, got: pipelineVerdict(message) }] : [];
    });
    expect(verdicts).toHaveLength(truth.length);
    expect(verdicts.filter(({ expected, got }) => expected !== got)).toEqual([]);
    // Everything else the devices sent is accepted (a drifting clock runs ahead only from 11:40).
    const others = run.messages.filter((message) => !byTime.has(`${message.tsMs} ${message.topic}`) && !message.topic.includes('/weather/'));
    expect(others.filter((message) => pipelineVerdict(message) !== 'accepted').map((message) => message.topic)).toEqual([]);
  }, 30_000);
});
