// localHourOf keeps its last answer for a quarter of an hour: it must still agree with a fresh
// Intl format at every instant, in the odd offsets (+5:45, +8:45, +12:45) and across DST changes.
import { describe, expect, it } from 'vitest';
import { localHourOf } from '../../src/alerts/local-hour.js';

const ZONES = ['Asia/Shanghai', 'Asia/Kathmandu', 'Asia/Kolkata', 'Australia/Eucla', 'Pacific/Chatham', 'America/New_York', 'Europe/Berlin', 'America/St_Johns', 'UTC'];
const START = Date.parse('2024-01-01T00:00:00Z');
const YEAR_MS = 366 * 86_400_000;

describe('localHourOf', () => {
  for (const zone of ZONES) {
    it(`agrees with Intl in ${zone}, on both sides of every quarter hour of a year and at random instants`, () => {
      const reference = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' });
      const hourOf = localHourOf(zone);
      // In time order, as readings come: both sides of every quarter-hour boundary of a year (where
      // any local hour, DST changes included, can begin), and a minute into each quarter.
      const instants: number[] = [];
      for (let quarter = START; quarter < START + YEAR_MS; quarter += 15 * 60_000) instants.push(quarter - 1, quarter, quarter + 60_000);
      // And out of order, as a replay of mixed feeds may ask.
      let seed = 7;
      for (let i = 0; i < 5000; i++) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        instants.push(START + Math.floor((seed / 2 ** 31) * YEAR_MS));
      }
      const wrong = instants.filter((ts) => hourOf(ts) !== Number(reference.format(ts)));
      expect(wrong.map((ts) => new Date(ts).toISOString()).slice(0, 5)).toEqual([]);
    });
  }
});
