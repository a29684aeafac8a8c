import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { selfMetricsLines, startSelfMetrics } from '../src/self-metrics.js';

describe('self metrics', () => {
  it('writes the same totals as /metrics, the spool gauges, and one running total per reject reason', async () => {
    const metrics = new Metrics();
    metrics.received.inc(12);
    metrics.accepted.labels('pump').inc(7);
    metrics.accepted.labels('meter').inc(3);
    metrics.rejected.labels('PAYLOAD.BAD_JSON').inc(2);
    metrics.written.inc(9);
    metrics.influxUp.set(1);
    const lines = await selfMetricsLines(metrics, { depth: 4, limit: 100 }, 'host-1', 1_752_472_800_000);
    expect(lines[0]).toBe(
      'hydrowatch,instance=host-1 accepted=10i,influx_up=1i,received=12i,refused=0i,rejected=2i,seq_duplicates=0i,seq_gaps=0i,spool_depth=4i,spool_limit=100i,write_errors=0i,written=9i 1752472800000',
    );
    expect(lines.slice(1)).toEqual(['hydrowatch_rejected,instance=host-1,reason=PAYLOAD.BAD_JSON total=2i 1752472800000']);
  });

  it('samples on demand with the injected clock and appends to the spool', async () => {
    const appended: string[][] = [];
    const sampler = startSelfMetrics({ metrics: new Metrics(), spool: { depth: 0, limit: 1 }, append: async (lines) => void appended.push(lines), instance: 'i', clock: { now: () => 42 } });
    await sampler.sample();
    sampler.stop();
    sampler.stop();
    expect(appended).toHaveLength(1);
    expect(appended[0]![0]).toMatch(/^hydrowatch,instance=i .* 42$/);
  });

  it('adds nothing to a full spool', async () => {
    const appended: string[][] = [];
    const sampler = startSelfMetrics({ metrics: new Metrics(), spool: { depth: 1, limit: 1, acknowledging: false }, append: async (lines) => void appended.push(lines), instance: 'i', clock: { now: () => 42 } });
    await sampler.sample();
    sampler.stop();
    expect(appended).toEqual([]);
  });
});
