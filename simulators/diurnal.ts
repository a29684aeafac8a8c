// Daily curves the network model is driven by: local time, water demand, air temperature and
// humidity. Pure functions of time, so tests and later scenarios can use them directly.

/** Asia/Shanghai is UTC+8 all year (no daylight saving), so a fixed offset is exact. */
export const LOCAL_UTC_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/** Hour of the local day, 0 ≤ h < 24, with fractions. */
export function localHourOfDay(epochMs: number): number {
  const msIntoDay = (((epochMs + LOCAL_UTC_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  return msIntoDay / 3_600_000;
}

// A residential district's demand by local hour (hour h covers h:00–h+1:00): night minimum,
// morning peak at 07–09, a midday shoulder and the evening peak at 19–20.
const RAW_HOURLY_DEMAND = [
  0.55, 0.5, 0.48, 0.48, 0.5, 0.65, 1.0, 1.45, 1.6, 1.35, 1.15, 1.1,
  1.15, 1.05, 0.95, 0.95, 1.05, 1.25, 1.55, 1.75, 1.6, 1.3, 0.95, 0.7,
];
const RAW_MEAN = RAW_HOURLY_DEMAND.reduce((sum, factor) => sum + factor, 0) / RAW_HOURLY_DEMAND.length;

/** Hourly demand factors normalised so the day's average hour is exactly 1. */
export const HOURLY_DEMAND_FACTORS: readonly number[] = RAW_HOURLY_DEMAND.map((factor) => factor / RAW_MEAN);

/** Demand relative to the average hour, interpolated linearly between hour mid-points. */
export function diurnalDemandFactor(localHour: number): number {
  const position = localHour - 0.5;
  const lower = Math.floor(position);
  const fraction = position - lower;
  const at = (hour: number): number => HOURLY_DEMAND_FACTORS[((hour % 24) + 24) % 24]!;
  return at(lower) * (1 - fraction) + at(lower + 1) * fraction;
}

/** Above this air temperature people water gardens, shower more and cool buildings. */
export const HEAT_DEMAND_THRESHOLD_C = 25;
/**
 * Demand rise per °C above the threshold: a day peaking at 38 °C (mean ~33.5 °C) comes out at
 * ~1.4× the average day, inside design §6's 1.3–1.5× for a summer peak day.
 */
export const HEAT_DEMAND_PER_DEGREE = 0.045;

export function heatDemandFactor(airTemp_c: number): number {
  return 1 + HEAT_DEMAND_PER_DEGREE * Math.max(0, airTemp_c - HEAT_DEMAND_THRESHOLD_C);
}

export const COLDEST_LOCAL_HOUR = 5;
export const HOTTEST_LOCAL_HOUR = 15;
/** Daily swing of air temperature in a humid summer climate. */
export const DIURNAL_TEMPERATURE_RANGE_C = 9;

/**
 * Air temperature: minimum at 05:00, maximum at 15:00 local, half-cosine rise over the 10 hours
 * between and half-cosine fall over the 14 hours after.
 */
export function airTemperature_c(localHour: number, dailyMax_c: number, range_c = DIURNAL_TEMPERATURE_RANGE_C): number {
  return dailyMax_c - range_c + range_c * warmthOfDay(localHour);
}

/** 0 at the coldest hour, 1 at the hottest. */
export function warmthOfDay(localHour: number): number {
  const risingHours = HOTTEST_LOCAL_HOUR - COLDEST_LOCAL_HOUR;
  const sinceColdest = (((localHour - COLDEST_LOCAL_HOUR) % 24) + 24) % 24;
  if (sinceColdest <= risingHours) return (1 - Math.cos((Math.PI * sinceColdest) / risingHours)) / 2;
  return (1 + Math.cos((Math.PI * (sinceColdest - risingHours)) / (24 - risingHours))) / 2;
}

const HUMIDITY_AT_COLDEST_PCT = 88;
const HUMIDITY_AT_HOTTEST_PCT = 45;

/** Relative humidity falls as the air warms (same moisture, warmer air). */
export function relativeHumidity_pct(localHour: number): number {
  return HUMIDITY_AT_COLDEST_PCT - (HUMIDITY_AT_COLDEST_PCT - HUMIDITY_AT_HOTTEST_PCT) * warmthOfDay(localHour);
}
