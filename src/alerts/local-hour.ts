// The local hour of the day (0–23) of an epoch ms, in a timezone. The rules ask it for every
// meter reading (night flow, demand baselines): an Intl format each time cost ~1 µs, so the last
// answer is kept for its quarter of an hour (the offset of every timezone in use today is a whole number of them).
const QUARTER_MS = 15 * 60_000;

export function localHourOf(timezone: string): (ts: number) => number {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', hourCycle: 'h23' });
  let quarter = Number.NaN;
  let hour = 0;
  return (ts) => {
    const at = Math.floor(ts / QUARTER_MS);
    if (at !== quarter) {
      hour = Number(format.format(ts));
      quarter = at;
    }
    return hour;
  };
}
