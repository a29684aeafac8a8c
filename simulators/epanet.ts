// EPANET hydraulics for the simulator, through epanet-js (the OWA EPANET 2.2 engine, MIT).
// An `.inp` model plus a small map (registry asset → EPANET element) becomes a HydraulicSolver:
// every hydraulic step hydrowatch sets what its controllers decide (pump run states, altitude-valve
// openings, demand multipliers, the canal's level, burst emitters), EPANET solves the network and
// integrates its tanks, and the solution is written back into the simulator's state.
//
// What EPANET cannot serve stays on the mass balance (network.ts), element by element:
//   - the canal (EPANET has no open channels): its level comes from the canal's rating curve and
//     mass balance; the EPANET reservoir it is mapped to follows that level every step;
//   - a registry reservoir mapped to an EPANET *reservoir* (fixed head): hydrowatch integrates its
//     level from the net flow of its pipes and moves the EPANET head with it;
//   - water quality (chlorine, turbidity) and the pumps' motors (power, speed, temperature,
//     vibration): hydrowatch's models, on EPANET's operating point.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AssetConfig } from '../src/config.js';
import { localHourOfDay } from './diurnal.js';
import {
  altitudeValveOpening,
  assetKey,
  hydraulicPower_kw,
  integrateReservoir,
  NETWORK_DESIGN,
  type DemandFactors,
  type HydraulicSolver,
  type NetworkState,
  type PumpState,
  type ReservoirState,
} from './network.js';

// EPANET toolkit codes (epanet2_enums.h, stable since 2.0). epanet-js has them as enums, but its
// .d.ts files only resolve with moduleResolution "bundler", so the few we use are spelt out here.
const NODE = { elevation: 0, emitter: 3, tankLevel: 8, head: 10, pressure: 11, tankDiameter: 17, minLevel: 20, maxLevel: 21 } as const;
const LINK = { initSetting: 5, flow: 8, headloss: 10, status: 11, setting: 12 } as const;
const NODE_TYPE = { junction: 0, reservoir: 1, tank: 2 } as const;
const LINK_TYPE = { cvPipe: 0, pipe: 1, pump: 2, tcv: 7 } as const;
const TIME = { duration: 0, hydStep: 1, patternStart: 4, reportStep: 5, reportStart: 6 } as const;
const COUNT = { nodes: 0, links: 2, controls: 5, rules: 6 } as const;
const OPTION_DEMAND_MULTIPLIER = 4;
const INIT_NO_SAVE = 0;

/** The part of epanet-js' Project the simulator uses, shaped as it is called. */
interface EpanetProject {
  open(inputFile: string, reportFile: string, outputFile: string): void;
  close(): void;
  getCount(countType: number): number;
  getFlowUnits(): number;
  getNodeIndex(id: string): number;
  getNodeId(index: number): string;
  getNodeType(index: number): number;
  getNodeValue(index: number, property: number): number;
  setNodeValue(index: number, property: number, value: number): void;
  getLinkIndex(id: string): number;
  getLinkId(index: number): string;
  getLinkType(index: number): number;
  getLinkNodes(index: number): { node1: number; node2: number };
  getLinkValue(index: number, property: number): number;
  setLinkValue(index: number, property: number, value: number): void;
  getHeadCurveIndex(linkIndex: number): number;
  getCurve(index: number): { id: string; x: number[]; y: number[] };
  getPatternIndex(id: string): number;
  setPattern(index: number, values: number[]): void;
  setPatternValue(index: number, period: number, value: number): void;
  getControl(index: number): { linkIndex: number };
  deleteControl(index: number): void;
  setOption(option: number, value: number): void;
  setTimeParameter(parameter: number, value: number): void;
  openH(): void;
  initH(flag: number): void;
  runH(): number;
  nextH(): number;
  closeH(): void;
}

interface EpanetWorkspace {
  writeFile(path: string, data: string | Uint8Array): void;
  version: number;
}

// Flow units → m³/h; US units also mean feet and psi.
const FLOW_TO_M3H = [101.9406, 0.2271247, 157.7255, 189.4210, 51.39952, 3.6, 0.06, 41.66667, 1, 1 / 24];
const US_FLOW_UNITS = 4;
const FEET_TO_M = 0.3048;
const PSI_TO_M = 0.703070;

let engine: Promise<{ workspace: EpanetWorkspace; Project: new (workspace: never) => EpanetProject }> | undefined;

/** Load the EPANET 2.2 engine (WebAssembly) once per process. */
export function loadEpanetEngine(): NonNullable<typeof engine> {
  engine ??= (async () => {
    const require = createRequire(import.meta.url);
    // The engine fetches its .wasm by URL, which Node's fetch cannot do for file: URLs: hand it the bytes.
    const wasmPath = resolve(dirname(require.resolve('epanet-js/engines/v2.2')), 'EpanetEngine.wasm');
    const [{ Project }, { Workspace }, { EpanetEngine }] = (await Promise.all([
      import('epanet-js'),
      import('epanet-js/slim'),
      import('epanet-js/engines/v2.2'),
    ])) as unknown as [
      { Project: new (workspace: never) => EpanetProject },
      { Workspace: new () => EpanetWorkspace & { loadModuleVersion(factory: () => Promise<unknown>): Promise<void> } },
      { EpanetEngine: (options: object) => Promise<unknown> },
    ];
    const workspace = new Workspace();
    const wasmBinary = readFileSync(wasmPath);
    await workspace.loadModuleVersion(() => EpanetEngine({ wasmBinary }));
    return { workspace, Project };
  })();
  return engine;
}

const ElementId = z.string().min(1).max(31);
/** One registry asset → its EPANET elements, by the asset's kind. */
const MapEntry = z.union([
  z.strictObject({ pump: ElementId }),
  z.strictObject({ tank: ElementId, valve: ElementId.optional() }),
  z.strictObject({ reservoir: ElementId }),
  z.strictObject({ pipe: ElementId, node: ElementId, pattern: ElementId.optional(), burstNode: ElementId.optional() }),
]);
type MapEntry = z.infer<typeof MapEntry>;

export const NetworkMap = z.strictObject({
  /** The `.inp` file, relative to the map. */
  network: z.string().min(1).optional(),
  /** The asset registry (config YAML with `assets:`), relative to the map. */
  registry: z.string().min(1).optional(),
  /** Keyed by asset id, or `site/id` where ids repeat across sites. */
  assets: z.record(z.string(), MapEntry),
});
export type NetworkMap = z.infer<typeof NetworkMap>;

/** A model ready to drive simulations: the `.inp` text, its map, and where they came from. */
export interface EpanetNetwork {
  readonly inpPath: string;
  readonly mapPath: string;
  readonly map: NetworkMap;
  /** The registry the map names, resolved against the map's directory (undefined if it names none). */
  readonly registryPath: string | undefined;
  /** A solver for one simulation of `assets` (the registry `state` was built from), started at the state's levels. */
  createSolver(assets: readonly AssetConfig[], state: NetworkState, startMs: number): HydraulicSolver;
}

export function readNetworkMap(mapPath: string): NetworkMap {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(mapPath, 'utf8'));
  } catch (error) {
    throw new Error(`network map ${mapPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = NetworkMap.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`network map ${mapPath}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return result.data;
}

/** Load the engine, read the map and the `.inp` (default: the one the map names). */
export async function loadEpanetNetwork(options: { map: string; network?: string }): Promise<EpanetNetwork> {
  const mapPath = resolve(options.map);
  const map = readNetworkMap(mapPath);
  const inpPath = options.network ? resolve(options.network) : map.network ? resolve(dirname(mapPath), map.network) : undefined;
  if (!inpPath) throw new Error(`network map ${mapPath}: no network: name the .inp file with --network or in the map`);
  const inpText = readFileSync(inpPath);
  const { workspace, Project } = await loadEpanetEngine();
  let models = 0;
  return {
    inpPath,
    mapPath,
    map,
    registryPath: map.registry ? resolve(dirname(mapPath), map.registry) : undefined,
    createSolver(assets, state, startMs) {
      const file = `model-${++models}.inp`;
      workspace.writeFile(file, inpText);
      const project = new Project(workspace as never);
      return createEpanetSolver(project, file, inpPath, map, assets, state, startMs);
    },
  };
}

/** The registry assets the map covers, by asset key, or why it does not fit the registry. */
export function resolveMap(map: NetworkMap, assets: readonly AssetConfig[]): { entries: Map<string, { asset: AssetConfig; entry: MapEntry }>; problems: string[] } {
  const entries = new Map<string, { asset: AssetConfig; entry: MapEntry }>();
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(map.assets)) {
    const [site, id] = name.includes('/') ? (name.split('/', 2) as [string, string]) : [undefined, name];
    const matches = assets.filter((asset) => asset.id === id && (site === undefined || asset.site === site));
    if (matches.length !== 1) {
      problems.push(matches.length === 0 ? `${name} is not in the registry` : `${name} names ${matches.length} assets: write site/id`);
      continue;
    }
    const asset = matches[0]!;
    const wanted = { pump: 'pump', reservoir: 'tank', canal: 'reservoir', meter: 'pipe', weather: undefined }[asset.kind];
    if (!wanted || !(wanted in entry)) {
      problems.push(`${name} is a ${asset.kind}: map it with ${wanted ? `"${wanted}:"` : 'nothing (weather is not hydraulic)'}`);
      continue;
    }
    entries.set(assetKey(asset), { asset, entry });
  }
  for (const asset of assets) {
    if (asset.kind !== 'weather' && !entries.has(assetKey(asset)) && !problems.some((problem) => problem.startsWith(asset.id))) {
      problems.push(`${asset.site}/${asset.id} (${asset.kind}) has no EPANET element in the map`);
    }
  }
  return { entries, problems };
}

interface TankLinks {
  /** Links whose positive flow fills the element. */
  filling: number[];
  /** Links whose positive flow drains it. */
  draining: number[];
}

interface MappedTank {
  reservoir: ReservoirState;
  node: number;
  elevation_m: number;
  links: TankLinks;
  /** Fixed-head EPANET reservoir standing in for a storage reservoir: hydrowatch integrates its level. */
  massBalance: boolean;
  /** For a mass-balanced one: the model's floor (its head minus a half-full level). */
  floorElevation_m: number;
  valve: { link: number; openSetting: number } | undefined;
  inflow: number;
  outflow: number;
  valveFlow: number;
}

interface MappedMeter {
  key: string;
  pipe: number;
  node: number;
  pattern: number | undefined;
  burstNode: number;
  flow: number;
  pressure: number;
  leakCoefficient: number;
}

interface MappedPump {
  pump: PumpState;
  link: number;
  suctionNode: number;
  flow: number;
  gain: number;
  suction: number;
}

function createEpanetSolver(
  project: EpanetProject,
  file: string,
  inpPath: string,
  map: NetworkMap,
  assets: readonly AssetConfig[],
  state: NetworkState,
  startMs: number,
): HydraulicSolver {
  const fail = (message: string): never => {
    throw new Error(`EPANET model ${inpPath}: ${message}`);
  };
  const warnings = new Map<string, number>();
  // epanet-js reports EPANET's warnings (codes < 100) with console.warn; count them instead.
  const quietly = <T>(call: () => T): T => {
    const warn = console.warn;
    console.warn = (message: unknown) => {
      const text = String(message).replace(/^epanet-js \(Warning (\d+)\): /, 'warning $1: ');
      warnings.set(text, (warnings.get(text) ?? 0) + 1);
    };
    try {
      return call();
    } finally {
      console.warn = warn;
    }
  };
  quietly(() => project.open(file, file.replace(/\.inp$/, '.rpt'), ''));

  const flowUnits = project.getFlowUnits();
  const toM3h = FLOW_TO_M3H[flowUnits] ?? fail(`flow units ${flowUnits} unknown`);
  const lengthToM = flowUnits <= US_FLOW_UNITS ? FEET_TO_M : 1;
  const pressureToM = flowUnits <= US_FLOW_UNITS ? PSI_TO_M : 1;
  const nodeIndex = (id: string, type: number, what: string): number => {
    const index = quietly(() => {
      try {
        return project.getNodeIndex(id);
      } catch {
        return 0;
      }
    });
    if (index <= 0) fail(`${what}: no node ${id}`);
    if (project.getNodeType(index) !== type && type >= 0) fail(`${what}: ${id} is not a ${Object.keys(NODE_TYPE)[type]}`);
    return index;
  };
  const linkIndex = (id: string, types: number[], what: string): number => {
    const index = quietly(() => {
      try {
        return project.getLinkIndex(id);
      } catch {
        return 0;
      }
    });
    if (index <= 0) fail(`${what}: no link ${id}`);
    if (!types.includes(project.getLinkType(index))) fail(`${what}: ${id} is not a ${types.map((type) => Object.keys(LINK_TYPE).find((name) => LINK_TYPE[name as keyof typeof LINK_TYPE] === type)).join(' or ')}`);
    return index;
  };

  const { entries, problems } = resolveMap(map, assets);
  if (problems.length > 0) fail(`map does not fit the registry: ${problems.join('; ')}`);

  const fallbacks: string[] = [
    'water quality (chlorine, turbidity): hydrowatch’s well-mixed reservoirs, not EPANET’s quality engine',
    'pump motors (power, speed, temperature, vibration): hydrowatch’s models on EPANET’s operating point',
  ];

  // Links touching a node, split by which way positive flow goes.
  const linkCount = project.getCount(COUNT.links);
  const linksOf = (node: number): TankLinks => {
    const links: TankLinks = { filling: [], draining: [] };
    for (let link = 1; link <= linkCount; link++) {
      const { node1, node2 } = project.getLinkNodes(link);
      if (node2 === node) links.filling.push(link);
      if (node1 === node) links.draining.push(link);
    }
    return links;
  };

  // The canal: an EPANET reservoir whose head follows the canal's level (mass balance + rating curve).
  let canal: { node: number; bedElevation_m: number } | undefined;
  const pumps: MappedPump[] = [];
  const tanks: MappedTank[] = [];
  const meters: MappedMeter[] = [];
  const drivenLinks = new Set<number>();
  for (const { asset, entry } of entries.values()) {
    const what = `${asset.kind} ${asset.id}`;
    if ('reservoir' in entry && asset.kind === 'canal') {
      const node = nodeIndex(entry.reservoir, NODE_TYPE.reservoir, what);
      canal = { node, bedElevation_m: project.getNodeValue(node, NODE.elevation) * lengthToM - asset.normalLevel_m };
      fallbacks.unshift(`canal ${asset.id}: open channel, which EPANET does not model: mass balance and rating curve; EPANET reservoir ${entry.reservoir} follows its level`);
    } else if ('pump' in entry) {
      const pump = state.pumps.find((candidate) => candidate.key === assetKey(asset))!;
      const link = linkIndex(entry.pump, [LINK_TYPE.pump], what);
      drivenLinks.add(link);
      pumps.push({ pump, link, suctionNode: project.getLinkNodes(link).node1, flow: 0, gain: 0, suction: 0 });
      const ratedHead_m = headAtFlow(project, link, asset.kind === 'pump' ? asset.ratedFlow_m3h / toM3h : 0) * lengthToM;
      if (ratedHead_m > 0 && asset.kind === 'pump') pump.ratedPower_kw = hydraulicPower_kw(asset.ratedFlow_m3h, ratedHead_m) / NETWORK_DESIGN.bestEfficiency;
    } else if ('tank' in entry && asset.kind === 'reservoir') {
      const reservoir = reservoirState(state, asset);
      const node = nodeIndex(entry.tank, -1, what);
      const type = project.getNodeType(node);
      if (type === NODE_TYPE.junction) fail(`${what}: ${entry.tank} is a junction, not a tank`);
      const massBalance = type === NODE_TYPE.reservoir;
      const elevation_m = project.getNodeValue(node, NODE.elevation) * lengthToM;
      let valve: MappedTank['valve'];
      if (entry.valve) {
        const link = linkIndex(entry.valve, [LINK_TYPE.tcv], `${what} altitude valve`);
        drivenLinks.add(link);
        valve = { link, openSetting: project.getLinkValue(link, LINK.initSetting) };
      }
      if (massBalance) {
        fallbacks.push(`reservoir ${asset.id}: EPANET ${entry.tank} is a fixed-head reservoir: hydrowatch integrates its level from its pipes' net flow and moves the head with it`);
      } else {
        const diameter_m = project.getNodeValue(node, NODE.tankDiameter) * lengthToM;
        const area_m2 = (Math.PI * diameter_m ** 2) / 4;
        if (Math.abs(area_m2 - asset.area_m2) > 0.005 * asset.area_m2) {
          fallbacks.push(`reservoir ${asset.id}: EPANET tank ${entry.tank} has ${area_m2.toFixed(0)} m² where the registry says ${asset.area_m2} m²; the level follows EPANET`);
        }
        // The simulation's seeded initial level, inside what the model's tank can hold.
        const maxLevel = project.getNodeValue(node, NODE.maxLevel);
        const minLevel = project.getNodeValue(node, NODE.minLevel);
        const level = Math.min(maxLevel, Math.max(minLevel, reservoir.volume_m3 / asset.area_m2 / lengthToM));
        project.setNodeValue(node, NODE.tankLevel, level);
      }
      tanks.push({
        reservoir,
        node,
        elevation_m,
        links: linksOf(node),
        massBalance,
        floorElevation_m: elevation_m - (asset.minLevel_m + asset.maxLevel_m) / 2,
        valve,
        inflow: 0,
        outflow: 0,
        valveFlow: 0,
      });
    } else if ('pipe' in entry) {
      const pipe = linkIndex(entry.pipe, [LINK_TYPE.pipe, LINK_TYPE.cvPipe], what);
      const node = nodeIndex(entry.node, NODE_TYPE.junction, what);
      let pattern: number | undefined;
      if (entry.pattern) {
        pattern = quietly(() => project.getPatternIndex(entry.pattern!));
        // A one-period pattern: hydrowatch writes the diurnal factor into it every step.
        project.setPattern(pattern, [1]);
      }
      const burstNode = entry.burstNode ? nodeIndex(entry.burstNode, NODE_TYPE.junction, `${what} burst node`) : node;
      meters.push({ key: assetKey(asset), pipe, node, pattern, burstNode, flow: 0, pressure: 0, leakCoefficient: 0 });
    }
  }

  // hydrowatch's controllers drive the mapped pumps and valves: simple controls on them would fight it.
  for (let control = project.getCount(COUNT.controls); control >= 1; control--) {
    const { linkIndex: link } = project.getControl(control);
    if (drivenLinks.has(link)) {
      project.deleteControl(control);
      fallbacks.push(`control ${control} on ${project.getLinkId(link)} removed: hydrowatch’s station control drives it`);
    }
  }
  if (project.getCount(COUNT.rules) > 0) fallbacks.push('rule-based controls in the .inp run as EPANET runs them; on mapped pumps and valves hydrowatch’s control may be overridden');

  // Fixed 5 s steps, aligned by the report step; patterns of the model run on local time.
  const stepS = 5;
  project.setTimeParameter(TIME.duration, 3650 * 86_400);
  project.setTimeParameter(TIME.hydStep, stepS);
  project.setTimeParameter(TIME.reportStep, stepS);
  project.setTimeParameter(TIME.reportStart, 0);
  project.setTimeParameter(TIME.patternStart, Math.floor(localHourOfDay(startMs) * 3600));
  quietly(() => {
    project.openH();
    project.initH(INIT_NO_SAVE);
  });

  let epanetTimeS = 0;
  let closed = false;
  return {
    name: `EPANET 2.2 (${inpPath})`,
    fallbacks,
    advance(network: NetworkState, dtSeconds: number, simTimeMs: number, demand: DemandFactors) {
      if (closed) throw new Error('EPANET solver is closed');
      const expectedMs = startMs + epanetTimeS * 1000;
      if (Math.abs(simTimeMs - expectedMs) > 1) throw new Error(`EPANET solver: asked for ${new Date(simTimeMs).toISOString()}, at ${new Date(expectedMs).toISOString()}`);
      if (dtSeconds % stepS !== 0) throw new Error(`EPANET solver: steps must be multiples of ${stepS} s`);
      setInputs(network, demand);
      for (const item of [...pumps, ...tanks, ...meters]) resetAccumulators(item);

      const targetS = epanetTimeS + dtSeconds;
      quietly(() => {
        while (epanetTimeS < targetS) {
          project.runH();
          const stepTaken = project.nextH();
          if (stepTaken <= 0) throw new Error('EPANET solver: the simulation ran past its duration');
          accumulate(Math.min(stepTaken, targetS - epanetTimeS));
          epanetTimeS += stepTaken;
        }
      });
      writeOutputs(network, dtSeconds);
    },
    close() {
      if (closed) return;
      closed = true;
      quietly(() => {
        project.closeH();
        project.close();
      });
    },
  };

  function setInputs(network: NetworkState, demand: DemandFactors): void {
    if (canal) project.setNodeValue(canal.node, NODE.elevation, (canal.bedElevation_m + network.canal.level_m) / lengthToM);
    for (const { pump, link } of pumps) project.setLinkValue(link, LINK.status, pump.running ? 1 : 0);
    for (const tank of tanks) {
      if (tank.massBalance) project.setNodeValue(tank.node, NODE.elevation, (tank.floorElevation_m + tank.reservoir.volume_m3 / tank.reservoir.asset.area_m2) / lengthToM);
      if (!tank.valve) continue;
      // A throttle valve's loss coefficient grows as 1/opening² (flow ∝ opening at a given head).
      const opening = altitudeValveOpening(tank.reservoir);
      if (opening <= 0) project.setLinkValue(tank.valve.link, LINK.status, 0);
      else project.setLinkValue(tank.valve.link, LINK.setting, tank.valve.openSetting / opening ** 2);
    }
    project.setOption(OPTION_DEMAND_MULTIPLIER, demand.weather);
    for (const meter of meters) {
      if (meter.pattern !== undefined) project.setPatternValue(meter.pattern, 1, demand.diurnal);
      const leak_m3h = network.conditions.leaks_m3h.get(meter.key) ?? 0;
      if (leak_m3h > 0 && meter.leakCoefficient === 0) {
        // Sized so the burst loses `leak_m3h` at the pressure the node had when it burst.
        const pressure = Math.max(1, project.getNodeValue(meter.burstNode, NODE.pressure));
        meter.leakCoefficient = leak_m3h / toM3h / Math.sqrt(pressure);
        project.setNodeValue(meter.burstNode, NODE.emitter, meter.leakCoefficient);
      } else if (leak_m3h === 0 && meter.leakCoefficient > 0) {
        meter.leakCoefficient = 0;
        project.setNodeValue(meter.burstNode, NODE.emitter, 0);
      }
    }
  }

  function resetAccumulators(item: MappedPump | MappedTank | MappedMeter): void {
    if ('pump' in item) item.flow = item.gain = item.suction = 0;
    else if ('reservoir' in item) item.inflow = item.outflow = item.valveFlow = 0;
    else item.flow = item.pressure = 0;
  }

  /** Add the solution just computed, held for `seconds`. */
  function accumulate(seconds: number): void {
    for (const item of pumps) {
      item.flow += Math.max(0, project.getLinkValue(item.link, LINK.flow)) * seconds;
      item.gain += Math.max(0, -project.getLinkValue(item.link, LINK.headloss)) * seconds;
      item.suction += project.getNodeValue(item.suctionNode, NODE.pressure) * seconds;
    }
    for (const tank of tanks) {
      for (const link of tank.links.filling) {
        const flow = project.getLinkValue(link, LINK.flow) * seconds;
        if (flow > 0) tank.inflow += flow;
        else tank.outflow -= flow;
      }
      for (const link of tank.links.draining) {
        const flow = project.getLinkValue(link, LINK.flow) * seconds;
        if (flow > 0) tank.outflow += flow;
        else tank.inflow -= flow;
      }
      if (tank.valve) tank.valveFlow += Math.max(0, project.getLinkValue(tank.valve.link, LINK.flow)) * seconds;
    }
    for (const meter of meters) {
      meter.flow += Math.abs(project.getLinkValue(meter.pipe, LINK.flow)) * seconds;
      meter.pressure += project.getNodeValue(meter.node, NODE.pressure) * seconds;
    }
  }

  function writeOutputs(network: NetworkState, dtSeconds: number): void {
    for (const item of pumps) {
      item.pump.flow_m3h = (item.flow / dtSeconds) * toM3h;
      item.pump.developedHead_m = item.pump.running ? (item.gain / dtSeconds) * lengthToM : 0;
      item.pump.suctionHead_m = (item.suction / dtSeconds) * pressureToM;
    }
    for (const tank of tanks) {
      const inflow_m3h = (tank.inflow / dtSeconds) * toM3h;
      const outflow_m3h = (tank.outflow / dtSeconds) * toM3h;
      if (tank.massBalance) {
        integrateReservoir(tank.reservoir, inflow_m3h, outflow_m3h, dtSeconds / 3600);
      } else {
        const level_m = project.getNodeValue(tank.node, NODE.head) * lengthToM - tank.elevation_m;
        tank.reservoir.volume_m3 = level_m * tank.reservoir.asset.area_m2;
        tank.reservoir.inflow_m3h = inflow_m3h;
        tank.reservoir.outflow_m3h = outflow_m3h;
      }
      const district = network.districts.find((candidate) => candidate.reservoir === tank.reservoir);
      if (district) {
        district.valveFlow_m3h = tank.valve ? (tank.valveFlow / dtSeconds) * toM3h : inflow_m3h;
        district.supplied_m3h = tank.reservoir.outflow_m3h;
      }
    }
    for (const meter of meters) {
      network.meterSolutions.set(meter.key, { flow_m3h: (meter.flow / dtSeconds) * toM3h, pressure_m: (meter.pressure / dtSeconds) * pressureToM });
    }
  }
}

function reservoirState(state: NetworkState, asset: AssetConfig): ReservoirState {
  const all = [state.clearWater, ...state.districts.map((district) => district.reservoir)];
  return all.find((reservoir) => assetKey(reservoir.asset) === assetKey(asset))!;
}

/** The pump's head at a flow, by linear interpolation of its curve (0 without a curve). */
function headAtFlow(project: EpanetProject, link: number, flow: number): number {
  const curveIndex = project.getHeadCurveIndex(link);
  if (curveIndex <= 0) return 0;
  const { x, y } = project.getCurve(curveIndex);
  if (x.length === 1) return y[0]!;
  for (let point = 1; point < x.length; point++) {
    const x0 = x[point - 1]!;
    const x1 = x[point]!;
    if (flow <= x1 || point === x.length - 1) return y[point - 1]! + ((y[point]! - y[point - 1]!) * (flow - x0)) / (x1 - x0);
  }
  return 0;
}
