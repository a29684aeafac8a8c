// Builds the Grafana dashboards from hydrowatch's config (asset registry, alert rules, timezone)
// and writes the JSON Grafana provisions, plus a picture of each layout for the README.
//
//   npx tsx dashboards/build.ts [--config config/demo-network.yaml] [--pictures]
//
// The committed JSON is built from config/demo-network.yaml; test/dashboards checks it is current.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alarmsIngest } from './alarms-ingest.js';
import type { Dashboard } from './grafana.js';
import { heatwaveDemand } from './heatwave-demand.js';
import { layoutSvg } from './layout-picture.js';
import { loadNetwork, type Network } from './network.js';
import { networkOverview } from './network-overview.js';
import { pumpStation } from './pump-station.js';
import { reservoirsCanals } from './reservoirs-canals.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CONFIG = path.join(ROOT, 'config/demo-network.yaml');
export const DASHBOARD_DIR = path.join(ROOT, 'provisioning/grafana/dashboards');
export const PICTURE_DIR = path.join(ROOT, 'docs/dashboards');

/** File name (without extension) → dashboard, in the order of the links bar and the README. */
export const DASHBOARDS: ReadonlyArray<{ name: string; build: (network: Network) => Dashboard }> = [
  { name: 'network-overview', build: networkOverview },
  { name: 'pump-station', build: pumpStation },
  { name: 'reservoirs-canals', build: reservoirsCanals },
  { name: 'heatwave-demand', build: heatwaveDemand },
  { name: 'alarms-ingest', build: alarmsIngest },
];

export function buildDashboards(network: Network): Array<{ name: string; dashboard: Dashboard }> {
  return DASHBOARDS.map(({ name, build }) => ({ name, dashboard: build(network) }));
}

/** The exact bytes of a committed dashboard file. */
export const dashboardJson = (dashboard: Dashboard): string => `${JSON.stringify(dashboard, null, 2)}\n`;

function main(): void {
  const { values } = parseArgs({ options: { config: { type: 'string', default: DEFAULT_CONFIG }, pictures: { type: 'boolean', default: false } } });
  const network = loadNetwork(values.config);
  mkdirSync(DASHBOARD_DIR, { recursive: true });
  for (const { name, dashboard } of buildDashboards(network)) {
    const file = path.join(DASHBOARD_DIR, `${name}.json`);
    writeFileSync(file, dashboardJson(dashboard));
    process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
    if (!values.pictures) continue;
    mkdirSync(PICTURE_DIR, { recursive: true });
    const svg = path.join(PICTURE_DIR, `${name}.svg`);
    const png = path.join(PICTURE_DIR, `${name}.png`);
    writeFileSync(svg, layoutSvg(dashboard));
    // Debian's librsvg2-bin; the PNGs are committed, so only this step needs it.
    execFileSync('rsvg-convert', ['--format', 'png', '--output', png, svg]);
    process.stdout.write(`wrote ${path.relative(ROOT, svg)} and ${path.relative(ROOT, png)}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
