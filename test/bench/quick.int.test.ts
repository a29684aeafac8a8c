// The bench harness itself (bench/run.ts), with tiny numbers: its own InfluxDB and Mosquitto, the
// generator, the broker baseline, hydrowatch (A) and the floor (B). `--skip C` leaves Node-RED out,
// so this test never downloads it. Nothing here is timed: it checks that every contender reports
// and that a burst loses nothing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdown } from '../../bench/report.js';
import { parseOptions, runBench } from '../../bench/run.js';

describe('npm run bench (harness)', () => {
  it('measures the baseline, A and B with a tiny plan, reports each of them, and loses nothing in a burst', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-bench-test-'));
    try {
      const out = path.join(dir, 'results.json');
      const options = parseOptions(['--quick', '--skip', 'C', '--out', out]);
      const lines: string[] = [];
      options.log = (line) => lines.push(line);
      // Rates far below what any contender manages here: this is about the plumbing, not speed.
      options.plan = { ...options.plan, devices: 40, idleDevices: 40, stepMs: 500, ladder: [0.02], latencyMs: 500, burstMs: 500, burstRate: 4000, burstDrainMs: 20_000, burstStallMs: 10_000, graceMs: 10_000 };
      const results = await runBench(options);

      expect(results.summary.contenders.map((c) => c.contender).sort()).toEqual(['A-embedded', 'B-floor', 'raw-aedes']);
      for (const run of results.rounds[0]!.runs) {
        expect(run.error, `${run.contender}: ${run.error}`).toBeUndefined();
        expect(run.steps.length).toBeGreaterThan(0);
        expect(run.idle?.devices).toBe(40);
      }
      for (const id of ['A-embedded', 'B-floor']) {
        const run = results.rounds[0]!.runs.find((r) => r.contender === id)!;
        expect(run.burst?.sent, id).toBeGreaterThan(0);
        expect(run.burst?.lost, id).toBe(0);
        expect(run.burst?.stored, id).toBe(run.burst?.sent);
      }
      expect(results.rounds[0]!.influxWrite?.pointsPerS).toBeGreaterThan(0);

      const table = markdown(results);
      for (const label of ['aedes alone', 'A hydrowatch (embedded aedes)', 'B floor']) expect(table).toContain(label);
      expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ mode: 'quick', summary: { contenders: expect.any(Array) } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
