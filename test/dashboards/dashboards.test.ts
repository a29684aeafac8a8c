// The dashboard JSON in the repo is what the TypeScript builds, it is valid against Grafana's
// dashboard schema, and it keeps the promises the dashboards make (units, variables, datasource).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDashboards, DASHBOARD_DIR, dashboardJson, DEFAULT_CONFIG, PICTURE_DIR } from '../../dashboards/build.js';
import { DATASOURCE, type Panel } from '../../dashboards/grafana.js';
import { layoutSvg } from '../../dashboards/layout-picture.js';
import { loadNetwork } from '../../dashboards/network.js';
import { GrafanaDashboard } from '../helpers/grafana-dashboard-schema.js';

const network = loadNetwork(DEFAULT_CONFIG);
const built = buildDashboards(network);
const panelsOf = (d: (typeof built)[number]['dashboard']): Panel[] => d.panels.filter((p): p is Panel => p.type !== 'row');

describe('Grafana dashboards', () => {
  it.each(built.map((b) => [b.name, b] as const))('%s.json in the repo is current (rebuild: npx tsx dashboards/build.ts --pictures)', (name, { dashboard }) => {
    expect(readFileSync(path.join(DASHBOARD_DIR, `${name}.json`), 'utf8')).toBe(dashboardJson(dashboard));
  });

  it.each(built.map((b) => [b.name, b] as const))('%s.json is valid against Grafana’s dashboard schema', (name) => {
    const json = JSON.parse(readFileSync(path.join(DASHBOARD_DIR, `${name}.json`), 'utf8')) as unknown;
    const result = GrafanaDashboard.safeParse(json);
    expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
  });

  it('the schema check catches what Grafana would refuse', () => {
    const dashboard = JSON.parse(dashboardJson(built[0]!.dashboard)) as { uid: string; panels: Array<{ gridPos: { x: number; w: number } }> };
    expect(GrafanaDashboard.safeParse({ ...dashboard, uid: 'x'.repeat(41) }).success).toBe(false);
    const wide = structuredClone(dashboard);
    wide.panels[1]!.gridPos.x = 20;
    expect(GrafanaDashboard.safeParse(wide).success).toBe(false);
    const { panels: _, ...noPanels } = dashboard;
    expect(GrafanaDashboard.safeParse(noPanels).success).toBe(false);
  });

  it('uids and titles are unique, and every dashboard links to the others', () => {
    const uids = built.map((b) => b.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(built.map((b) => b.dashboard.title)).size).toBe(built.length);
    for (const { dashboard } of built) expect(dashboard.links[0]).toMatchObject({ type: 'dashboards', tags: ['hydrowatch'], includeVars: true, keepTime: true });
  });

  it.each(built.map((b) => [b.name, b] as const))('%s: site and asset variables, the provisioned datasource and a unit on every panel', (_name, { dashboard }) => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['site', 'asset']);
    expect(dashboard.templating.list[1]!.query).toContain('$site');
    for (const panel of panelsOf(dashboard)) {
      expect(panel.fieldConfig.defaults.unit, panel.title).toMatch(/\S/);
      expect(panel.datasource).toEqual(DATASOURCE);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect(target).toMatchObject({ datasource: DATASOURCE, rawQuery: true });
        expect(target.query, `${panel.title} ${target.refId}`).toMatch(/^(SELECT|SHOW) /);
        // Every query is bounded in time: Grafana's range, or a look-back from its end.
        expect(target.query, `${panel.title} ${target.refId}`).toMatch(/\$timeFilter|\$\{__to\}/);
      }
    }
  });

  it('the network overview answers the dispatch questions', () => {
    const titles = panelsOf(built.find((b) => b.name === 'network-overview')!.dashboard).map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining(['Heat wave', 'Active alerts by severity', 'Reservoir levels', 'Time to empty', 'Pumps running at PS-1', 'Total demand against baseline', 'Canal levels and flows', 'Devices offline', 'Active alerts']),
    );
  });

  it('thresholds drawn on the panels are the alarm rules’ limits (registry and rules, not copies)', () => {
    expect(network.limits).toMatchObject({ reservoirLowPct: 25, reservoirLowHeatwavePct: 40, reservoirCriticalPct: 10, reservoirOverflowPct: 99, timeToEmptyHours: 4, timeToEmptyHeatwaveHours: 8, maxStartsPerHour: 6 });
    const gauge = panelsOf(built[0]!.dashboard).find((p) => p.title === 'Reservoir levels')!;
    expect(gauge.fieldConfig.defaults.thresholds!.steps.map((s) => s.value)).toEqual([null, 10, 25, 40, 99]);
    const tte = panelsOf(built[0]!.dashboard).find((p) => p.title === 'Time to empty')!;
    // Each reservoir's own area and minimum level from the registry.
    for (const reservoir of network.reservoirs) {
      expect(tte.targets.some((t) => t.query.includes(`(last("level_m") - ${reservoir.minLevel_m}) * ${reservoir.area_m2} /`) && t.query.includes(`'${reservoir.id}'`))).toBe(true);
    }
  });

  it.each(built.map((b) => [b.name, b] as const))('docs/dashboards/%s: the layout picture is current', (name, { dashboard }) => {
    const svg = layoutSvg(dashboard);
    expect(readFileSync(path.join(PICTURE_DIR, `${name}.svg`), 'utf8')).toBe(svg);
    // The PNG beside it was rendered from that SVG: PNG signature and the SVG's size.
    const png = readFileSync(path.join(PICTURE_DIR, `${name}.png`));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([Number(width), Number(height)]);
  });
});
