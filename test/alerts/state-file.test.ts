// The alert state file as the engine writes it in the background during an alert flood: in
// slices, still one atomic file that a restart restores, and never over a newer save made at close.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { DEFAULT_HEATWAVE } from '../../src/alerts/heatwave.js';
import { Rule } from '../../src/alerts/rules.js';
import { writeStateInSlices, writeStateSync } from '../../src/alerts/state-file.js';
import { silentLogger } from '../../src/log.js';

const T0 = Date.parse('2026-07-20T12:00:00Z');
const HOT = Rule.parse({ id: 'hot', kind: 'threshold', severity: 'high', scope: { kind: 'pump' }, field: 'motor_temp_c', above: 110, deadband: 0, for: 0 });

function engine(statePath: string, now: { t: number }, errors: string[] = []) {
  return new AlertEngine({
    rules: [HOT],
    assets: [],
    clock: { now: () => now.t },
    log: { ...silentLogger, error: (message: string) => errors.push(message) },
    write: () => undefined,
    statePath,
    heatwave: DEFAULT_HEATWAVE,
  });
}

/** Raises and clears `count` alerts over 200 pumps: each stays cleared-unacknowledged, as in a flood nobody has answered yet. */
function flood(e: AlertEngine, now: { t: number }, count: number): void {
  for (let i = 0; i < count; i++) {
    const asset = `P-${i % 200}`;
    for (const motor_temp_c of [121.5, 60]) {
      now.t += 1;
      e.onReading({ site: 'bench', kind: 'pump', asset, ts: now.t, values: { motor_temp_c } }, now.t);
    }
  }
}

describe('alert state file', () => {
  it('a flood of 3,000 kept alerts is saved in the background, in slices, and a restart restores every one', async () => {
    const statePath = join(stateDir(), 'alerts-state.json');
    const now = { t: T0 };
    const first = engine(statePath, now);
    flood(first, now, 3000);
    const expected = JSON.parse(first.exportState()) as { alerts: unknown[] };
    expect(expected.alerts).toHaveLength(3000);
    expect(first.exportState().length).toBeGreaterThan(4 * 256 * 1024); // more than one slice

    // No close(): what a crash would leave once the background save ran.
    await vi.waitFor(() => expect(existsSync(statePath)).toBe(true), { timeout: 5000, interval: 20 });
    await vi.waitFor(() => expect(existsSync(`${statePath}.saving`)).toBe(false), { timeout: 5000, interval: 20 });
    expect(JSON.parse(readFileSync(statePath, 'utf8'))).toEqual(expected);
    const second = engine(statePath, now);
    expect(second.list({ state: 'all' }).filter((a) => a.state === 'cleared_unack')).toHaveLength(3000);
    first.close();
    second.close();
  });

  it('a save in slices still under way when a newer one is made does not replace it, and leaves no temp file', async () => {
    const path = join(stateDir(), 'state.json');
    let wanted = true;
    const older = Array.from({ length: 4000 }, (_, i) => `${i === 0 ? '[' : ','}"older ${'x'.repeat(200)}"`).concat(']');
    const saving = writeStateInSlices(path, older, () => wanted);
    // close() meanwhile: it saves at once and drops the save in flight.
    wanted = false;
    writeStateSync(path, ['["newer"]']);
    expect(await saving).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(['newer']);
    expect(existsSync(`${path}.saving`)).toBe(false);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('a state file that cannot be written is logged, and the engine goes on raising alerts', async () => {
    const dir = stateDir();
    const statePath = join(dir, 'not-a-dir', 'alerts-state.json');
    writeStateSync(join(dir, 'not-a-dir'), ['a file where the directory should be']);
    const now = { t: T0 };
    const errors: string[] = [];
    const e = engine(statePath, now, errors);
    flood(e, now, 10);
    await vi.waitFor(() => expect(errors.join('\n')).toMatch(/could not save alert state to .*alerts-state\.json/), { timeout: 5000, interval: 20 });
    flood(e, now, 10);
    expect(e.list({ state: 'all' })).toHaveLength(20);
    e.close();
  });
});

/** A directory for one test's files, removed when the test ends. */
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hw-alert-state-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
