// The simulated network's hydraulics: a pure model (no I/O, no clock, no hidden randomness).
// Everything it needs comes in as arguments; `step` advances the state in place, and
// `trueValues`/`deviceValues` read what each device would measure. The hydraulic solution is
// either this file's mass balance (`solveFlows` + `integrateReservoir`) or a `HydraulicSolver`
// (simulators/epanet.ts) that writes the same state fields; everything else (control, canal,
// motors, chlorine, weather, instruments) is shared by both.
//
// Topology, read from the asset registry (design §2):
//   canal ─▶ pump station (all pumps, in parallel) ─▶ clear-water reservoir (the reservoir on the
//   pumps' site) ─gravity, one altitude valve each─▶ district reservoirs (every other reservoir)
//   ─▶ district meter (paired by `district` = reservoir site or id, else same site) ─▶ consumers.
import type { AssetConfig } from '../src/config.js';
import { FIELDS, type FieldName, type FieldSpec, type Kind } from '../src/schema.js';
import {
  airTemperature_c,
  diurnalDemandFactor,
  heatDemandFactor,
  localHourOfDay,
  relativeHumidity_pct,
} from './diurnal.js';
import { createRng, deriveSeed, type Rng } from './rng.js';

export type AssetOfKind<K extends Kind> = Extract<AssetConfig, { kind: K }>;
type PumpAsset = AssetOfKind<'pump'>;
type ReservoirAsset = AssetOfKind<'reservoir'>;
type CanalAsset = AssetOfKind<'canal'>;
type MeterAsset = AssetOfKind<'meter'>;

/** What a device measures: one value per field of its kind (design §2). */
export type DeviceValues<K extends Kind = Kind> = Record<FieldName<K>, number | boolean>;

/** Hydraulic time step: the greatest common divisor of the devices' reporting intervals. */
export const HYDRAULIC_STEP_MS = 5_000;

/** Pump start/stop set points on the clear-water reservoir's level (% of min…max level). */
export const PUMP_CONTROL = {
  dutyStartPct: 60,
  dutyStopPct: 90,
  /** The standby starts below this only while the level is still falling with the duty pumps on. */
  standbyStartPct: 35,
  standbyStopPct: 55,
} as const;

/** Modulating altitude valves: shut at the high level, fully open a band below it. */
export const ALTITUDE_VALVE = { closedAtPct: 95, fullyOpenBelowPct: 80 } as const;

/** Numbers the registry does not carry: elevations, curves and sizing rules of the demo network. */
export const NETWORK_DESIGN = {
  canalBedElevation_m: 0,
  pumpCentrelineElevation_m: 0.5,
  clearWaterFloorElevation_m: 42,
  districtFloorElevation_m: 20,
  districtMeterElevation_m: -12,
  /** Used for suction when the registry has no canal. */
  canalLevelWithoutCanal_m: 1.8,
  canalNormalVelocity_ms: 0.55,
  /** Head lost in the common rising main when the duty pumps deliver their rated flow. */
  stationFrictionAtDutyFlow_m: 4,
  suctionLossAtRatedFlow_m: 0.3,
  /** Shut-off head of a centrifugal pump relative to its rated head. */
  shutoffHeadRatio: 1.3,
  /** Wire-to-water efficiency at the best efficiency point (rated flow). */
  bestEfficiency: 0.78,
  nominalSpeed_rpm: 1485,
  /**
   * The duty pumps are sized for a summer peak day (1.3–1.5× the average day, design §6): the
   * average day is their capacity / 1.35, so a heat wave needs the standby.
   */
  peakDayFactor: 1.35,
  /** Gravity main + fully open altitude valve, at nominal head, relative to the average demand. */
  valveCapacityFactor: 1.7,
  districtHeadLossAtAverageDemand_m: 2.5,
  motorTempRiseAtRatedPower_c: 40,
  motorHeatingTimeConstant_s: 40 * 60,
  motorCoolingTimeConstant_s: 90 * 60,
  pumpHouseAboveAir_c: 3,
  clearWaterChlorine_mgl: 1.0,
  chlorineDecayPerHour: 0.03,
  clearWaterTurbidity_ntu: 0.15,
  districtTurbidity_ntu: 0.22,
} as const;

const WATER_DENSITY_KG_M3 = 1000;
const GRAVITY_M_S2 = 9.81;
const METRES_PER_BAR = 1e5 / (WATER_DENSITY_KG_M3 * GRAVITY_M_S2);
/** Canal level ∝ flow^0.6: normal depth in a wide rectangular channel (Manning). */
const CANAL_RATING_EXPONENT = 0.6;
/** A drained reach still holds water behind the downstream check structure. */
const CANAL_MIN_LEVEL_FRACTION = 0.3;
/** The intake gate is sized for every pump at once plus a margin. */
const INTAKE_CAPACITY_FACTOR = 1.25;
/** A running pump draws this share of rated power even with no flow (churning). */
const IDLE_POWER_FRACTION = 0.35;
const MIN_EFFICIENCY = 0.3;

export interface NetworkOptions {
  /** The day's maximum air temperature; the minimum is 9 °C lower (default 30 °C). */
  dailyMaxAirTemp_c?: number;
  /** Measurement noise on reported values (default on); off gives the model's exact values. */
  measurementNoise?: boolean;
}

/** Fault codes the simulated pump controllers report (0 = none). */
export const PUMP_FAULT_CODE = {
  /** Motor protection relay tripped (overload, earth fault): the pump stops until reset. */
  motorProtectionTrip: 31,
  /** Mains supply lost at the station: the RTU runs on its battery and reports every pump stopped. */
  mainsFailure: 48,
} as const;

/** Weeds in the canal: share of the flow held back, and level rise, at full blockage. */
export const CANAL_BLOCKAGE = { flowLossAtFull: 0.5, levelRiseAtFull: 0.45 } as const;

/**
 * What a scenario imposes on the network, read at every step. Keys of the maps are asset keys
 * (`assetKey`). The defaults leave the network exactly as it runs without a scenario.
 */
export interface NetworkConditions {
  /** Air temperature at a time (°C); without it the diurnal curve of `dailyMaxAirTemp_c` applies. */
  airTemperature?: (simTimeMs: number) => number;
  /** Demand multiplier on top of the diurnal curve and the temperature effect (behaviour in a heat wave). */
  demandFactor: number;
  /** Pumps that cannot run, with the fault code they report (trip, power cut). */
  pumpFaults: Map<string, number>;
  /** Canal blockage by weeds: 0 clear … 1 fully grown. */
  canalBlockage: number;
  /** Leak (burst) flow at normal pressure in the district of each meter, m³/h. */
  leaks_m3h: Map<string, number>;
}

export const defaultConditions = (): NetworkConditions => ({
  demandFactor: 1,
  pumpFaults: new Map(),
  canalBlockage: 0,
  leaks_m3h: new Map(),
});

/**
 * A hydraulic engine that replaces the mass balance: given the pumps' run states (already set by
 * the control) and the demand factors, it solves the network over one step and writes pump
 * flows and heads, reservoir volumes and flows, valve and meter flows into the state.
 */
export interface HydraulicSolver {
  readonly name: string;
  /** Elements this solver leaves to the mass balance, with the reason (for the log and the README). */
  readonly fallbacks: readonly string[];
  advance(state: NetworkState, dtSeconds: number, simTimeMs: number, demand: DemandFactors): void;
  /** Release the engine; safe to call twice. */
  close(): void;
}

export interface DemandFactors {
  /** Diurnal curve at this hour (average hour = 1). */
  diurnal: number;
  /** Temperature effect × the scenario's behaviour factor. */
  weather: number;
}

/** What an external solver measured at a meter: flow through it and pressure head at it. */
export interface MeterSolution {
  flow_m3h: number;
  pressure_m: number;
}

export interface PumpState {
  asset: PumpAsset;
  key: string;
  shutoffHead_m: number;
  /** Developed head = shutoffHead − curve·Q². */
  curveCoefficient: number;
  suctionLossCoefficient: number;
  ratedPower_kw: number;
  running: boolean;
  flow_m3h: number;
  developedHead_m: number;
  /** Pressure head at the pump inlet, when a solver computed it (else from the canal level). */
  suctionHead_m?: number;
  motorTemp_c: number;
}

export interface ReservoirState {
  asset: ReservoirAsset;
  floorElevation_m: number;
  volume_m3: number;
  inflow_m3h: number;
  /** Everything that left during the last step, overflow included. */
  outflow_m3h: number;
  chlorine_mgl: number;
  turbidity_ntu: number;
}

export interface DistrictState {
  reservoir: ReservoirState;
  meters: MeterAsset[];
  averageDemand_m3h: number;
  valveCoefficient: number;
  headLossCoefficient: number;
  valveFlow_m3h: number;
  /** Demand actually met (less than asked for only when the reservoir runs dry). */
  supplied_m3h: number;
}

export interface CanalState {
  asset: CanalAsset | undefined;
  normalLevel_m: number;
  normalFlow_m3h: number;
  /** Flow arriving from upstream: the normal flow past the gauge plus the station's normal withdrawal. */
  supply_m3h: number;
  width_m: number;
  intakeCapacity_m3h: number;
  level_m: number;
  flow_m3h: number;
  withdrawal_m3h: number;
}

type Component =
  | { kind: 'pump'; pump: PumpState }
  | { kind: 'reservoir'; reservoir: ReservoirState }
  | { kind: 'canal'; canal: CanalState }
  | { kind: 'meter'; key: string; district: DistrictState | undefined }
  | { kind: 'weather' };

export interface NetworkState {
  /** The time the state describes (end of the last step); NaN before the first step. */
  simTimeMs: number;
  dailyMaxAirTemp_c: number;
  measurementNoise: boolean;
  airTemp_c: number;
  humidity_pct: number;
  canal: CanalState;
  pumps: PumpState[];
  stationFrictionCoefficient: number;
  clearWater: ReservoirState;
  districts: DistrictState[];
  dutyCalling: boolean;
  standbyCalling: boolean;
  clearWaterNetFlow_m3h: number;
  components: Map<string, Component>;
  conditions: NetworkConditions;
  /** Set: this engine solves the hydraulics; unset: the mass balance in this file. */
  solver: HydraulicSolver | undefined;
  /** Meter readings from the solver, by asset key. */
  meterSolutions: Map<string, MeterSolution>;
  /**
   * What the station's level control commanded in the last step: a start or stop it decided
   * (a fault stopping a pump is not a command). The simulator publishes these on the pumps'
   * command topics, so a commanded stop can be told from a trip.
   */
  pumpCommands: { pump: PumpState; command: 'start' | 'stop' }[];
}

/** `site/kind/id`: how the network, scenarios and solvers name an asset. */
export const assetKey = (asset: Pick<AssetConfig, 'site' | 'kind' | 'id'>): string => `${asset.site}/${asset.kind}/${asset.id}`;
const componentKey = assetKey;

function ofKind<K extends Kind>(assets: AssetConfig[], kind: K): AssetOfKind<K>[] {
  return assets.filter((asset): asset is AssetOfKind<K> => asset.kind === kind);
}

/** `startMs` (optional) sets the initial weather and motor temperatures to that time of day. */
export function createNetwork(
  assets: AssetConfig[],
  seed: number,
  options: NetworkOptions & { startMs?: number; /** Its elevations come from the solver's model, not NETWORK_DESIGN. */ externalHydraulics?: boolean } = {},
): NetworkState {
  const design = NETWORK_DESIGN;
  const initial = createRng(deriveSeed(seed, 'initial-conditions'));
  const dailyMaxAirTemp_c = options.dailyMaxAirTemp_c ?? 30;

  const pumpAssets = ofKind(assets, 'pump');
  if (pumpAssets.length === 0) throw new Error('simulator: the network needs at least one pump');
  const reservoirAssets = ofKind(assets, 'reservoir');
  const pumpSites = new Set(pumpAssets.map((pump) => pump.site));
  const clearWaterAsset = reservoirAssets.find((reservoir) => pumpSites.has(reservoir.site)) ?? reservoirAssets[0];
  if (!clearWaterAsset) throw new Error('simulator: the network needs a reservoir for the pumps to fill');
  const canalAssets = ofKind(assets, 'canal');
  if (canalAssets.length > 1) throw new Error('simulator: one canal per network is supported');

  const canal = createCanal(canalAssets[0], pumpAssets);
  const clearWater = createReservoir(clearWaterAsset, design.clearWaterFloorElevation_m, 70 + 10 * (initial.next() - 0.5));
  clearWater.chlorine_mgl = design.clearWaterChlorine_mgl;
  clearWater.turbidity_ntu = design.clearWaterTurbidity_ntu;

  const dutyRated_m3h = dutyCapacity_m3h(pumpAssets);
  const nominalStaticHead_m =
    design.clearWaterFloorElevation_m +
    (clearWaterAsset.minLevel_m + clearWaterAsset.maxLevel_m) / 2 -
    (design.canalBedElevation_m + canal.normalLevel_m);
  const ratedHead_m = nominalStaticHead_m + design.stationFrictionAtDutyFlow_m;
  const startHour = options.startMs === undefined ? 12 : localHourOfDay(options.startMs);
  const airTemp_c = airTemperature_c(startHour, dailyMaxAirTemp_c);
  const pumps = pumpAssets.map((asset): PumpState => {
    const shutoffHead_m = design.shutoffHeadRatio * ratedHead_m;
    return {
      asset,
      key: componentKey(asset),
      shutoffHead_m,
      curveCoefficient: (shutoffHead_m - ratedHead_m - design.suctionLossAtRatedFlow_m) / asset.ratedFlow_m3h ** 2,
      suctionLossCoefficient: design.suctionLossAtRatedFlow_m / asset.ratedFlow_m3h ** 2,
      ratedPower_kw: hydraulicPower_kw(asset.ratedFlow_m3h, ratedHead_m) / design.bestEfficiency,
      running: false,
      flow_m3h: 0,
      developedHead_m: 0,
      motorTemp_c: airTemp_c + design.pumpHouseAboveAir_c,
    };
  });

  const districtAssets = reservoirAssets.filter((reservoir) => reservoir !== clearWaterAsset);
  const totalDistrictCapacity_m3 = districtAssets.reduce((sum, reservoir) => sum + reservoir.capacity_m3, 0);
  const districts = districtAssets.map((asset): DistrictState => {
    const reservoir = createReservoir(asset, design.districtFloorElevation_m, 85 + 10 * (initial.next() - 0.5));
    reservoir.chlorine_mgl = 0.8;
    reservoir.turbidity_ntu = design.districtTurbidity_ntu;
    const averageDemand_m3h = ((dutyRated_m3h / design.peakDayFactor) * asset.capacity_m3) / totalDistrictCapacity_m3;
    const nominalDrop_m = surfaceElevationAtPct(clearWater, 50) - surfaceElevationAtPct(reservoir, 50);
    if (nominalDrop_m <= 0 && !options.externalHydraulics) throw new Error(`simulator: reservoir ${asset.id} sits above ${clearWaterAsset.id}; gravity cannot fill it`);
    return {
      reservoir,
      meters: [],
      averageDemand_m3h,
      valveCoefficient: (design.valveCapacityFactor * averageDemand_m3h) / Math.sqrt(nominalDrop_m),
      headLossCoefficient: design.districtHeadLossAtAverageDemand_m / averageDemand_m3h ** 2,
      valveFlow_m3h: 0,
      supplied_m3h: 0,
    };
  });

  const components = new Map<string, Component>();
  for (const pump of pumps) components.set(componentKey(pump.asset), { kind: 'pump', pump });
  components.set(componentKey(clearWaterAsset), { kind: 'reservoir', reservoir: clearWater });
  for (const district of districts) {
    components.set(componentKey(district.reservoir.asset), { kind: 'reservoir', reservoir: district.reservoir });
  }
  if (canal.asset) components.set(componentKey(canal.asset), { kind: 'canal', canal });
  for (const meter of ofKind(assets, 'meter')) {
    const district = findDistrict(districts, meter);
    // With a solver a meter may sit anywhere in its model; the mass balance needs its district.
    if (!district && !options.externalHydraulics) {
      throw new Error(`simulator: meter ${meter.id} has no district reservoir (set its district to the reservoir's site)`);
    }
    district?.meters.push(meter);
    components.set(componentKey(meter), { kind: 'meter', key: componentKey(meter), district });
  }
  for (const weather of ofKind(assets, 'weather')) components.set(componentKey(weather), { kind: 'weather' });

  const state: NetworkState = {
    simTimeMs: Number.NaN,
    dailyMaxAirTemp_c,
    measurementNoise: options.measurementNoise ?? true,
    airTemp_c,
    humidity_pct: relativeHumidity_pct(startHour),
    canal,
    pumps,
    stationFrictionCoefficient: design.stationFrictionAtDutyFlow_m / dutyRated_m3h ** 2,
    clearWater,
    districts,
    // The initial level sits inside the hysteresis band; assume the duty pumps were filling.
    dutyCalling: true,
    standbyCalling: false,
    clearWaterNetFlow_m3h: 0,
    components,
    conditions: defaultConditions(),
    solver: undefined,
    meterSolutions: new Map(),
    pumpCommands: [],
  };
  for (const pump of pumps) {
    if (runsWhenCalled(state, pump)) pump.motorTemp_c += design.motorTempRiseAtRatedPower_c;
  }
  return state;
}

function createCanal(asset: CanalAsset | undefined, pumpAssets: PumpAsset[]): CanalState {
  const normalLevel_m = asset?.normalLevel_m ?? NETWORK_DESIGN.canalLevelWithoutCanal_m;
  const normalFlow_m3h = asset?.normalFlow_m3h ?? 10_000;
  return {
    asset,
    normalLevel_m,
    normalFlow_m3h,
    supply_m3h: normalFlow_m3h + dutyCapacity_m3h(pumpAssets),
    width_m: normalFlow_m3h / 3600 / (NETWORK_DESIGN.canalNormalVelocity_ms * normalLevel_m),
    intakeCapacity_m3h: INTAKE_CAPACITY_FACTOR * pumpAssets.reduce((sum, pump) => sum + pump.ratedFlow_m3h, 0),
    level_m: normalLevel_m,
    flow_m3h: normalFlow_m3h,
    withdrawal_m3h: 0,
  };
}

function createReservoir(asset: ReservoirAsset, floorElevation_m: number, initialPct: number): ReservoirState {
  const level_m = asset.minLevel_m + ((asset.maxLevel_m - asset.minLevel_m) * initialPct) / 100;
  return {
    asset,
    floorElevation_m,
    volume_m3: level_m * asset.area_m2,
    inflow_m3h: 0,
    outflow_m3h: 0,
    chlorine_mgl: 0,
    turbidity_ntu: 0,
  };
}

function findDistrict(districts: DistrictState[], meter: MeterAsset): DistrictState | undefined {
  const named = meter.district;
  return (
    (named === undefined
      ? undefined
      : districts.find((district) => district.reservoir.asset.site === named || district.reservoir.asset.id === named)) ??
    districts.find((district) => district.reservoir.asset.site === meter.site)
  );
}

function dutyCapacity_m3h(pumpAssets: PumpAsset[]): number {
  const duty = pumpAssets.filter((pump) => pump.role === 'duty');
  return (duty.length > 0 ? duty : pumpAssets).reduce((sum, pump) => sum + pump.ratedFlow_m3h, 0);
}

export const hydraulicPower_kw = (flow_m3h: number, head_m: number): number =>
  (WATER_DENSITY_KG_M3 * GRAVITY_M_S2 * (flow_m3h / 3600) * head_m) / 1000;

export const levelOf = (reservoir: ReservoirState): number => reservoir.volume_m3 / reservoir.asset.area_m2;
const maxVolume_m3 = (reservoir: ReservoirState): number => reservoir.asset.maxLevel_m * reservoir.asset.area_m2;
const surfaceElevation_m = (reservoir: ReservoirState): number => reservoir.floorElevation_m + levelOf(reservoir);

function surfaceElevationAtPct(reservoir: ReservoirState, pct: number): number {
  const { minLevel_m, maxLevel_m } = reservoir.asset;
  return reservoir.floorElevation_m + minLevel_m + ((maxLevel_m - minLevel_m) * pct) / 100;
}

/** Level as a percentage of the operating range (min → 0 %, max → 100 %), not clamped. */
export function levelPercent(asset: ReservoirAsset, level_m: number): number {
  return ((level_m - asset.minLevel_m) / (asset.maxLevel_m - asset.minLevel_m)) * 100;
}
export const levelPct = (reservoir: ReservoirState): number => levelPercent(reservoir.asset, levelOf(reservoir));

function runsWhenCalled(state: NetworkState, pump: PumpState): boolean {
  return pump.asset.role === 'duty' ? state.dutyCalling : state.standbyCalling;
}

/**
 * Advance the network by `dtSeconds` from `simTimeMs` (the step's start), in place: pump
 * control, hydraulic solution, then mass balance of every reservoir (explicit Euler).
 */
export function step(state: NetworkState, dtSeconds: number, simTimeMs: number): NetworkState {
  const dt_h = dtSeconds / 3600;
  updateWeather(state, simTimeMs);
  controlPumps(state);
  if (state.solver) state.solver.advance(state, dtSeconds, simTimeMs, demandFactors(state, simTimeMs));
  else massBalanceStep(state, dt_h, simTimeMs);
  state.clearWaterNetFlow_m3h = state.clearWater.inflow_m3h - state.clearWater.outflow_m3h;
  for (const district of state.districts) updateChlorine(district.reservoir, state.clearWater.chlorine_mgl, dt_h);

  updateCanal(state.canal, state.pumps.reduce((sum, pump) => sum + pump.flow_m3h, 0), state.conditions.canalBlockage);
  updateMotorTemperatures(state, dtSeconds);
  state.simTimeMs = simTimeMs + dtSeconds * 1000;
  // Reported weather belongs to the end of the step, like every other reading.
  updateWeather(state, state.simTimeMs);
  return state;
}

/** The mass balance: pump station operating point, valves, demand, then each reservoir (explicit Euler). */
function massBalanceStep(state: NetworkState, dt_h: number, simTimeMs: number): void {
  const flows = solveFlows(state, simTimeMs);

  // Clear-water reservoir first: what it can deliver limits the altitude valves.
  const valveRequest_m3h = flows.valveFlows_m3h.reduce((sum, flow) => sum + flow, 0);
  const clearWaterBalance = integrateReservoir(state.clearWater, flows.stationFlow_m3h, valveRequest_m3h, dt_h);
  const deliveredShare = valveRequest_m3h > 0 ? clearWaterBalance.delivered_m3h / valveRequest_m3h : 0;

  state.districts.forEach((district, index) => {
    district.valveFlow_m3h = (flows.valveFlows_m3h[index] ?? 0) * deliveredShare;
    const balance = integrateReservoir(district.reservoir, district.valveFlow_m3h, flows.demands_m3h[index] ?? 0, dt_h);
    district.supplied_m3h = balance.delivered_m3h;
  });
}

/** Demand relative to the average day at this moment: diurnal curve, and temperature × behaviour. */
export function demandFactors(state: NetworkState, simTimeMs: number): DemandFactors {
  return {
    diurnal: diurnalDemandFactor(localHourOfDay(simTimeMs)),
    weather: heatDemandFactor(state.airTemp_c) * state.conditions.demandFactor,
  };
}

/** Opening of a district's altitude valve (0 shut … 1 fully open) from its reservoir's level. */
export function altitudeValveOpening(reservoir: ReservoirState): number {
  return clamp(
    (ALTITUDE_VALVE.closedAtPct - levelPct(reservoir)) / (ALTITUDE_VALVE.closedAtPct - ALTITUDE_VALVE.fullyOpenBelowPct),
    0,
    1,
  );
}

function updateWeather(state: NetworkState, simTimeMs: number): void {
  const localHour = localHourOfDay(simTimeMs);
  state.airTemp_c = state.conditions.airTemperature?.(simTimeMs) ?? airTemperature_c(localHour, state.dailyMaxAirTemp_c);
  state.humidity_pct = relativeHumidity_pct(localHour);
}

/** Duty pumps on a hysteresis band; the standby only while the level keeps falling below the low set point. */
function controlPumps(state: NetworkState): void {
  const pct = levelPct(state.clearWater);
  if (pct <= PUMP_CONTROL.dutyStartPct) state.dutyCalling = true;
  else if (pct >= PUMP_CONTROL.dutyStopPct) state.dutyCalling = false;

  if (!state.dutyCalling || pct >= PUMP_CONTROL.standbyStopPct) state.standbyCalling = false;
  else if (pct < PUMP_CONTROL.standbyStartPct && state.clearWaterNetFlow_m3h < 0) state.standbyCalling = true;

  const faults = state.conditions.pumpFaults;
  const wasRunning = state.pumps.map((pump) => pump.running);
  if (faults.size === 0) {
    for (const pump of state.pumps) pump.running = runsWhenCalled(state, pump);
  } else {
    assignPumps(state, faults);
  }
  state.pumpCommands = [];
  state.pumps.forEach((pump, index) => {
    if (pump.running !== wasRunning[index] && !faults.has(pump.key)) state.pumpCommands.push({ pump, command: pump.running ? 'start' : 'stop' });
  });
}

function assignPumps(state: NetworkState, faults: Map<string, number>): void {
  // A faulted pump cannot run; an available standby takes the place of a faulted duty pump.
  const available = state.pumps.filter((pump) => !faults.has(pump.key));
  const duty = available.filter((pump) => pump.asset.role === 'duty');
  const standby = available.filter((pump) => pump.asset.role !== 'duty');
  const dutyWanted = state.dutyCalling ? state.pumps.filter((pump) => pump.asset.role === 'duty').length : 0;
  const standbyWanted = state.standbyCalling ? state.pumps.length - dutyWanted : 0;
  const running = new Set([...duty.slice(0, dutyWanted), ...standby.slice(0, Math.max(0, dutyWanted - duty.length) + standbyWanted)]);
  for (const pump of state.pumps) pump.running = running.has(pump);
}

interface Flows {
  stationFlow_m3h: number;
  valveFlows_m3h: number[];
  demands_m3h: number[];
}

/** The hydraulic solution for the current state: pump station operating point, valves, demand. */
function solveFlows(state: NetworkState, simTimeMs: number): Flows {
  solvePumpStation(state);
  const stationFlow_m3h = state.pumps.reduce((sum, pump) => sum + pump.flow_m3h, 0);
  const clearWaterSurface_m = surfaceElevation_m(state.clearWater);
  const valveFlows_m3h = state.districts.map((district) => {
    const drop_m = clearWaterSurface_m - surfaceElevation_m(district.reservoir);
    return altitudeValveOpening(district.reservoir) * district.valveCoefficient * Math.sqrt(Math.max(0, drop_m));
  });
  const { diurnal, weather } = demandFactors(state, simTimeMs);
  const demandFactor = diurnal * weather;
  const demands_m3h = state.districts.map(
    (district) => district.averageDemand_m3h * demandFactor + district.meters.reduce((sum, meter) => sum + (state.conditions.leaks_m3h.get(componentKey(meter)) ?? 0), 0),
  );
  return { stationFlow_m3h, valveFlows_m3h, demands_m3h };
}

/**
 * Operating point of the parallel pumps: the head H (canal surface → CW-1 surface, friction
 * included) where the running pumps' curves, summed, meet the system curve Hs + r·Q².
 */
function solvePumpStation(state: NetworkState): void {
  const staticHead_m = surfaceElevation_m(state.clearWater) - (NETWORK_DESIGN.canalBedElevation_m + state.canal.level_m);
  const running = state.pumps.filter((pump) => pump.running);
  const pumpFlowAt = (pump: PumpState, head_m: number): number =>
    Math.sqrt(Math.max(0, (pump.shutoffHead_m - head_m) / (pump.curveCoefficient + pump.suctionLossCoefficient)));
  const systemFlowAt = (head_m: number): number =>
    Math.sqrt(Math.max(0, (head_m - staticHead_m) / state.stationFrictionCoefficient));

  let low_m = staticHead_m;
  let high_m = Math.max(staticHead_m, ...running.map((pump) => pump.shutoffHead_m));
  for (let iteration = 0; iteration < 60 && running.length > 0; iteration++) {
    const head_m = (low_m + high_m) / 2;
    const surplus = running.reduce((sum, pump) => sum + pumpFlowAt(pump, head_m), 0) - systemFlowAt(head_m);
    if (surplus > 0) low_m = head_m;
    else high_m = head_m;
  }
  const head_m = (low_m + high_m) / 2;
  for (const pump of state.pumps) {
    pump.flow_m3h = pump.running ? pumpFlowAt(pump, head_m) : 0;
    pump.developedHead_m = pump.running ? pump.shutoffHead_m - pump.curveCoefficient * pump.flow_m3h ** 2 : 0;
  }
}

/**
 * Mass balance over one step: volume += (inflow − outflow)·dt. A reservoir that runs dry
 * delivers only what it has; one that reaches its overflow spills the excess (counted as outflow).
 */
export function integrateReservoir(
  reservoir: ReservoirState,
  inflow_m3h: number,
  requestedOutflow_m3h: number,
  dt_h: number,
): { delivered_m3h: number } {
  let volume_m3 = reservoir.volume_m3 + (inflow_m3h - requestedOutflow_m3h) * dt_h;
  let delivered_m3h = requestedOutflow_m3h;
  if (volume_m3 < 0) {
    delivered_m3h += volume_m3 / dt_h;
    volume_m3 = 0;
  }
  let overflow_m3h = 0;
  const capacity_m3 = maxVolume_m3(reservoir);
  if (volume_m3 > capacity_m3) {
    overflow_m3h = (volume_m3 - capacity_m3) / dt_h;
    volume_m3 = capacity_m3;
  }
  reservoir.volume_m3 = volume_m3;
  reservoir.inflow_m3h = inflow_m3h;
  reservoir.outflow_m3h = delivered_m3h + overflow_m3h;
  return { delivered_m3h };
}

/** Well-mixed tank: fresh chlorinated water in, bulk decay of the residual over time. */
function updateChlorine(reservoir: ReservoirState, inflowChlorine_mgl: number, dt_h: number): void {
  const exchangePerHour = reservoir.inflow_m3h / Math.max(reservoir.volume_m3, 1);
  const change =
    exchangePerHour * (inflowChlorine_mgl - reservoir.chlorine_mgl) - NETWORK_DESIGN.chlorineDecayPerHour * reservoir.chlorine_mgl;
  reservoir.chlorine_mgl = clamp(reservoir.chlorine_mgl + change * dt_h, 0, inflowChlorine_mgl);
}

/**
 * The gauge sits just below the intake: it sees the supply minus what the station withdraws.
 * Weeds below the gauge hold water back: less flow passes it and the backwater lifts its level.
 */
function updateCanal(canal: CanalState, withdrawal_m3h: number, blockage: number): void {
  canal.withdrawal_m3h = withdrawal_m3h;
  const unobstructed_m3h = Math.max(0, canal.supply_m3h - withdrawal_m3h);
  canal.flow_m3h = unobstructed_m3h * (1 - CANAL_BLOCKAGE.flowLossAtFull * blockage);
  canal.level_m =
    canal.normalLevel_m *
    Math.max(CANAL_MIN_LEVEL_FRACTION, unobstructed_m3h / canal.normalFlow_m3h) ** CANAL_RATING_EXPONENT *
    (1 + CANAL_BLOCKAGE.levelRiseAtFull * blockage);
}

/** First-order warming toward ambient + a rise proportional to load; slower cooling when stopped. */
function updateMotorTemperatures(state: NetworkState, dtSeconds: number): void {
  const ambient_c = state.airTemp_c + NETWORK_DESIGN.pumpHouseAboveAir_c;
  for (const pump of state.pumps) {
    const target_c = pump.running
      ? ambient_c + (NETWORK_DESIGN.motorTempRiseAtRatedPower_c * pumpPower_kw(pump)) / pump.ratedPower_kw
      : ambient_c;
    const timeConstant_s = pump.running ? NETWORK_DESIGN.motorHeatingTimeConstant_s : NETWORK_DESIGN.motorCoolingTimeConstant_s;
    pump.motorTemp_c += (target_c - pump.motorTemp_c) * (1 - Math.exp(-dtSeconds / timeConstant_s));
  }
}

/** Efficiency falls off either side of the best efficiency point (rated flow). */
function pumpEfficiency(pump: PumpState): number {
  const offBest = (pump.flow_m3h - pump.asset.ratedFlow_m3h) / pump.asset.ratedFlow_m3h;
  return Math.max(MIN_EFFICIENCY, NETWORK_DESIGN.bestEfficiency * (1 - offBest ** 2));
}

/** Electrical power = ρ·g·Q·H / η, with a floor for churning at no flow. */
function pumpPower_kw(pump: PumpState): number {
  if (!pump.running) return 0;
  const power_kw = hydraulicPower_kw(pump.flow_m3h, pump.developedHead_m) / pumpEfficiency(pump);
  return Math.max(power_kw, IDLE_POWER_FRACTION * pump.ratedPower_kw);
}

function pumpValues(state: NetworkState, pump: PumpState): DeviceValues<'pump'> {
  const suctionHead_m =
    pump.suctionHead_m ??
    NETWORK_DESIGN.canalBedElevation_m +
      state.canal.level_m -
      NETWORK_DESIGN.pumpCentrelineElevation_m -
      pump.suctionLossCoefficient * pump.flow_m3h ** 2;
  const power_kw = pumpPower_kw(pump);
  const offBest = (pump.flow_m3h - pump.asset.ratedFlow_m3h) / pump.asset.ratedFlow_m3h;
  const anyRunning = state.pumps.some((other) => other.running);
  return {
    running: pump.running,
    flow_m3h: pump.flow_m3h,
    suction_bar: suctionHead_m / METRES_PER_BAR,
    // The gauge sits before the check valve: a stopped pump reads its suction pressure.
    discharge_bar: (suctionHead_m + pump.developedHead_m) / METRES_PER_BAR,
    power_kw,
    speed_rpm: pump.running ? NETWORK_DESIGN.nominalSpeed_rpm - (10 * power_kw) / pump.ratedPower_kw : 0,
    motor_temp_c: pump.motorTemp_c,
    // Smooth running at the best efficiency point, rougher away from it; a stopped pump still
    // picks up its neighbours through the floor.
    vibration_mms: pump.running ? 1.6 + 6 * offBest ** 2 : anyRunning ? 0.3 : 0.05,
    fault_code: state.conditions.pumpFaults.get(pump.key) ?? 0,
  };
}

function reservoirValues(reservoir: ReservoirState): DeviceValues<'reservoir'> {
  const level_m = levelOf(reservoir);
  return {
    level_m,
    level_pct: levelPercent(reservoir.asset, level_m),
    inflow_m3h: reservoir.inflow_m3h,
    outflow_m3h: reservoir.outflow_m3h,
    chlorine_mgl: reservoir.chlorine_mgl,
    turbidity_ntu: reservoir.turbidity_ntu,
  };
}

function canalValues(canal: CanalState): DeviceValues<'canal'> {
  return {
    level_m: canal.level_m,
    flow_m3h: canal.flow_m3h,
    velocity_ms: canal.flow_m3h / 3600 / (canal.width_m * canal.level_m),
    gate_pct: (100 * canal.withdrawal_m3h) / canal.intakeCapacity_m3h,
  };
}

/** Pressure at the district meter: reservoir head over the meter minus friction growing with Q². */
function meterValues(state: NetworkState, key: string, district: DistrictState | undefined): DeviceValues<'meter'> {
  const solved = state.meterSolutions.get(key);
  if (solved) return { pressure_bar: solved.pressure_m / METRES_PER_BAR, flow_m3h: solved.flow_m3h };
  if (!district) throw new Error(`simulator: meter ${key} has neither a district nor a solver reading`);
  const supplied_m3h = district.supplied_m3h / Math.max(1, district.meters.length);
  const head_m =
    surfaceElevation_m(district.reservoir) -
    NETWORK_DESIGN.districtMeterElevation_m -
    district.headLossCoefficient * district.supplied_m3h ** 2;
  return { pressure_bar: head_m / METRES_PER_BAR, flow_m3h: supplied_m3h };
}

/** What the device would read with a perfect instrument; not clamped or rounded. */
export function trueValues<K extends Kind>(state: NetworkState, asset: AssetOfKind<K>): DeviceValues<K> {
  const component = state.components.get(componentKey(asset));
  if (!component) throw new Error(`simulator: asset ${asset.site}/${asset.id} is not part of this network`);
  switch (component.kind) {
    case 'pump':
      return pumpValues(state, component.pump) as DeviceValues<K>;
    case 'reservoir':
      return reservoirValues(component.reservoir) as DeviceValues<K>;
    case 'canal':
      return canalValues(component.canal) as DeviceValues<K>;
    case 'meter':
      return meterValues(state, component.key, component.district) as DeviceValues<K>;
    case 'weather':
      return { air_temp_c: state.airTemp_c, humidity_pct: state.humidity_pct } satisfies DeviceValues<'weather'> as DeviceValues<K>;
  }
}

interface NoiseSpec {
  /** Standard deviation, in the field's unit or (relative) as a fraction of the value. */
  sd: number;
  relative?: boolean;
  decimals: number;
  /** Flow meters and tachometers have a low cut-off: an idle instrument reads exactly 0. */
  zeroStaysZero?: boolean;
}

/** Instrument noise and resolution, field by field. */
export const MEASUREMENT_NOISE: { [K in Kind]: Partial<Record<FieldName<K>, NoiseSpec>> } = {
  pump: {
    flow_m3h: { sd: 0.005, relative: true, decimals: 1, zeroStaysZero: true },
    suction_bar: { sd: 0.003, decimals: 3 },
    discharge_bar: { sd: 0.01, decimals: 3 },
    power_kw: { sd: 0.005, relative: true, decimals: 1, zeroStaysZero: true },
    speed_rpm: { sd: 1.5, decimals: 0, zeroStaysZero: true },
    motor_temp_c: { sd: 0.15, decimals: 1 },
    vibration_mms: { sd: 0.05, relative: true, decimals: 2 },
  },
  reservoir: {
    level_m: { sd: 0.001, decimals: 3 },
    inflow_m3h: { sd: 0.005, relative: true, decimals: 1, zeroStaysZero: true },
    outflow_m3h: { sd: 0.005, relative: true, decimals: 1, zeroStaysZero: true },
    chlorine_mgl: { sd: 0.01, decimals: 2 },
    turbidity_ntu: { sd: 0.01, decimals: 2 },
  },
  canal: {
    level_m: { sd: 0.003, decimals: 3 },
    flow_m3h: { sd: 0.01, relative: true, decimals: 0 },
    velocity_ms: { sd: 0.01, relative: true, decimals: 3 },
    gate_pct: { sd: 0.2, decimals: 1 },
  },
  meter: {
    pressure_bar: { sd: 0.005, decimals: 3 },
    flow_m3h: { sd: 0.005, relative: true, decimals: 1, zeroStaysZero: true },
  },
  weather: {
    air_temp_c: { sd: 0.1, decimals: 1 },
    humidity_pct: { sd: 0.5, decimals: 1 },
  },
};

/**
 * What the device reports: the true values with instrument noise from `rng` (the device's
 * own stream), rounded to the instrument's resolution and kept inside FIELDS' ranges.
 */
export function deviceValues<K extends Kind>(state: NetworkState, asset: AssetOfKind<K>, rng: Rng): DeviceValues<K> {
  const kind: Kind = asset.kind;
  const truth = trueValues(state, asset) as Record<string, number | boolean>;
  const noiseByField = MEASUREMENT_NOISE[kind] as Partial<Record<string, NoiseSpec>>;
  const measured: Record<string, number | boolean> = {};
  for (const [field, value] of Object.entries(truth)) {
    const noise = noiseByField[field];
    if (typeof value === 'boolean' || !noise) {
      measured[field] = value;
      continue;
    }
    measured[field] = measure(kind, field, value, noise, state.measurementNoise ? rng : undefined);
  }
  // The transmitter derives its percentage from its own level reading.
  const registered: AssetConfig = asset;
  if (registered.kind === 'reservoir' && typeof measured.level_m === 'number') {
    measured.level_pct = withinRange('reservoir', 'level_pct', round(levelPercent(registered, measured.level_m), 2));
  }
  return measured as DeviceValues<K>;
}

function measure(kind: Kind, field: string, value: number, noise: NoiseSpec, rng: Rng | undefined): number {
  let reading = value;
  if (rng && !(noise.zeroStaysZero && value === 0)) {
    reading += rng.normal(0, noise.relative ? noise.sd * Math.abs(value) : noise.sd);
  }
  if (noise.zeroStaysZero && reading < 0) reading = 0;
  return withinRange(kind, field, round(reading, noise.decimals));
}

function withinRange(kind: Kind, field: string, value: number): number {
  const spec = (FIELDS[kind] as Record<string, FieldSpec>)[field];
  if (!spec || spec.type === 'boolean') return value;
  return clamp(value, spec.min, spec.max);
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
