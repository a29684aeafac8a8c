// The live view of each asset: the newest values (merged across readings that carry different
// fields), the seq health, and what a restart seeds it with. The view is merged in place, so
// these also check that nothing a caller handed over, or read earlier, is changed behind it.
import { describe, expect, it } from 'vitest';
import { LiveState } from '../src/live.js';
import { AssetRegistry } from '../src/pipeline/enrich.js';
import type { Reading } from '../src/schema.js';

const pump = (ts: number, values: Reading['values'], seq?: number): Reading => ({ site: 'north', kind: 'pump', asset: 'P-1', ts, ...(seq === undefined ? {} : { seq }), values });

describe('LiveState', () => {
  it('keeps the newest value of every field, merged across readings, and ignores an older reading', () => {
    const live = new LiveState(new AssetRegistry([]));
    live.observeReading(pump(1000, { flow_m3h: 110, running: true }, 1), 1001);
    live.observeReading(pump(2000, { flow_m3h: 95 }, 2), 2001);
    live.observeReading(pump(1500, { flow_m3h: 400, motor_temp_c: 99 }, 3), 2500);

    const view = live.get('north', 'P-1')!;
    expect(view.latest).toEqual({ ts: 2000, seq: 2, values: { flow_m3h: 95, running: true } });
    expect(view.lastReadingAt).toBe(2000);
    expect(view.lastSeenAt).toBe(2500);
  });

  it('does not change the values a reading came with', () => {
    const live = new LiveState(new AssetRegistry([]));
    const first = { flow_m3h: 110, running: true };
    live.observeReading(pump(1000, first), 1000);
    live.observeReading(pump(2000, { flow_m3h: 95, running: false }), 2000);
    expect(first).toEqual({ flow_m3h: 110, running: true });
  });

  it('drops the seq of an earlier reading when the newest has none', () => {
    const live = new LiveState(new AssetRegistry([]));
    live.observeReading(pump(1000, { flow_m3h: 110 }, 7), 1000);
    live.observeReading(pump(2000, { flow_m3h: 95 }), 2000);
    expect(live.get('north', 'P-1')!.latest?.seq).toBeUndefined();
  });

  it('counts lost readings from seq gaps and near repeats as duplicates; a restart from 0 is neither', () => {
    const live = new LiveState(new AssetRegistry([]));
    const events = [1, 2, 5, 5, 6, 0, 1].map((seq, i) => live.observeReading(pump(1000 + i, { flow_m3h: 1 }, seq), 1000 + i));
    expect(events.map((e) => [e.gaps, e.duplicate])).toEqual([
      [0, false],
      [0, false],
      [2, false],
      [0, true],
      [0, false],
      [0, true], // 0 after 6: a near repeat, not a restart (only a fall of 1,000 or more is)
      [0, true],
    ]);
    expect(live.get('north', 'P-1')!.seq).toEqual({ last: 6, gaps: 2, duplicates: 3 });
    // A device that restarted: counting from 0 after 5,000 is neither a gap nor a duplicate.
    const restarted = new LiveState(new AssetRegistry([]));
    restarted.observeReading(pump(1, { flow_m3h: 1 }, 5000), 1);
    expect(restarted.observeReading(pump(2, { flow_m3h: 1 }, 0), 2)).toEqual({ gaps: 0, duplicate: false });
    expect(restarted.observeReading(pump(3, { flow_m3h: 1 }, 3), 3)).toEqual({ gaps: 2, duplicate: false });
  });

  it('seeds a view from storage after a restart without changing what it was seeded with', () => {
    const live = new LiveState(new AssetRegistry([]));
    const stored = { ts: 500, seq: 4, values: { flow_m3h: 80, running: true } };
    live.restore({ site: 'north', kind: 'pump', asset: 'P-1', latest: stored });
    live.observeReading(pump(1000, { flow_m3h: 120 }, 5), 1000);

    expect(live.get('north', 'P-1')!.latest).toEqual({ ts: 1000, seq: 5, values: { flow_m3h: 120, running: true } });
    expect(stored).toEqual({ ts: 500, seq: 4, values: { flow_m3h: 80, running: true } });
    // Storage never overrides what was seen live.
    live.restore({ site: 'north', kind: 'pump', asset: 'P-1', latest: { ts: 9000, values: { flow_m3h: 1 } } });
    expect(live.get('north', 'P-1')!.latest?.ts).toBe(1000);
  });
});
