import { describe, expect, it } from 'vitest';
import { DEFAULT_HEATWAVE, HeatwaveTracker } from '../../src/alerts/heatwave.js';

// Local days in Asia/Shanghai (UTC+8): 16:00Z is midnight local.
const day = (n: number, localHour: number) => Date.parse('2026-07-10T00:00:00+08:00') + n * 86_400_000 + localHour * 3_600_000;

describe('heat-wave assessment', () => {
  it('three consecutive local days at or above 35 °C make a heat wave; a cooler day ends the streak', () => {
    const tracker = new HeatwaveTracker(DEFAULT_HEATWAVE);
    tracker.observe('east', day(0, 15), 35.0);
    tracker.observe('east', day(1, 15), 36.2);
    expect(tracker.view('east', day(1, 20))).toMatchObject({ active: false, hot_days: 2 });
    // Day 3 morning: not hot yet, so the streak of the days before still stands, but it is not a heat wave yet.
    tracker.observe('east', day(2, 8), 29);
    expect(tracker.view('east', day(2, 9))).toMatchObject({ active: false, hot_days: 2 });
    tracker.observe('east', day(2, 14), 35.4);
    expect(tracker.view('east', day(2, 15))).toMatchObject({ active: true, hot_days: 3, level: 'yellow' });
    tracker.observe('east', day(3, 14), 33);
    expect(tracker.view('east', day(4, 1))).toMatchObject({ active: false, hot_days: 0 });
  });

  it('isActive, asked on every reading, changes at the local midnight and with the next weather reading', () => {
    const tracker = new HeatwaveTracker(DEFAULT_HEATWAVE);
    for (const n of [0, 1, 2]) tracker.observe('east', day(n, 14), 36);
    // Day 3: three hot days behind it, none of its own yet.
    expect(tracker.isActive('east', day(3, 9))).toBe(true);
    expect(tracker.isActive('east', day(4, 0) - 1)).toBe(true);
    // Day 4: day 3 was not hot, so the streak is over from its first millisecond.
    expect(tracker.isActive('east', day(4, 0))).toBe(false);
    expect(tracker.isActive('east', day(4, 12))).toBe(false);
    // A new hot day starts a streak again only with two more; a manual declaration counts at once.
    tracker.observe('east', day(4, 13), 37);
    tracker.observe('east', day(5, 13), 37);
    expect(tracker.isActive('east', day(5, 14))).toBe(false);
    tracker.observe('east', day(6, 13), 37);
    expect(tracker.isActive('east', day(6, 13))).toBe(true);
    tracker.setManual('east', false, 'dispatch', 'cooler front arrived', day(6, 14));
    expect(tracker.isActive('east', day(6, 14))).toBe(false);
    tracker.setManual('east', null, 'dispatch', 'back to the assessment', day(6, 15));
    expect(tracker.isActive('east', day(6, 15))).toBe(true);
    // A replay that goes back in time is answered for its own time.
    expect(tracker.isActive('east', day(3, 9))).toBe(true);
    expect(tracker.isActive('east', day(4, 9))).toBe(false);
  });

  it('counts days in the configured timezone, not UTC', () => {
    const tracker = new HeatwaveTracker(DEFAULT_HEATWAVE);
    // 23:30 and 00:30 local are two local days (the same UTC day).
    tracker.observe('east', day(0, 23.5), 36);
    tracker.observe('east', day(1, 0.5), 36);
    tracker.observe('east', day(2, 13), 36);
    expect(tracker.view('east', day(2, 14))).toMatchObject({ hot_days: 3, active: true });
  });

  it('CMA levels: orange at 37 °C, red at 40 °C within 24 hours', () => {
    const tracker = new HeatwaveTracker(DEFAULT_HEATWAVE);
    tracker.observe('east', day(0, 14), 37.2);
    expect(tracker.view('east', day(0, 15)).level).toBe('orange');
    tracker.observe('east', day(0, 15), 40.1);
    expect(tracker.view('east', day(0, 16)).level).toBe('red');
    expect(tracker.view('east', day(1, 17)).level).toBeUndefined();
  });

  it('dispatch can declare or end it by hand, and hand it back to the assessment', () => {
    const tracker = new HeatwaveTracker(DEFAULT_HEATWAVE);
    tracker.observe('east', day(0, 14), 30);
    tracker.setManual('east', true, 'duty manager', 'forecast 38 °C for five days', day(0, 15));
    expect(tracker.view('east', day(0, 16))).toMatchObject({ active: true, source: 'manual', by: 'duty manager' });
    tracker.setManual('east', null, 'duty manager', '', day(0, 17));
    expect(tracker.view('east', day(0, 18))).toMatchObject({ active: false, source: 'assessment' });
  });
});
