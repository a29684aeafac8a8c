// Grafana's dashboard schema (v1, as published in @grafana/schema's raw/dashboard types.gen.ts for
// Grafana 11–13), written as zod: the fields Grafana requires, the types and enum values it
// accepts, and the grid rules its layout engine enforces. Unknown keys are allowed where Grafana
// allows them (panel options are plugin-defined). A dashboard that fails this would be refused or
// silently mangled by Grafana's provisioning.
import { z } from 'zod';

const DataSourceRef = z.object({ type: z.string().optional(), uid: z.string().optional() });
const Threshold = z.object({ color: z.string().min(1), value: z.number().nullable() });
const ThresholdsConfig = z.object({ mode: z.enum(['absolute', 'percentage']), steps: z.array(Threshold).min(1) });
const ValueMappingResult = z.object({ color: z.string().optional(), icon: z.string().optional(), index: z.number().optional(), text: z.string().optional() });
const ValueMapping = z.discriminatedUnion('type', [
  z.object({ type: z.literal('value'), options: z.record(z.string(), ValueMappingResult) }),
  z.object({ type: z.literal('range'), options: z.object({ from: z.number().nullable(), to: z.number().nullable(), result: ValueMappingResult }) }),
  z.object({ type: z.literal('regex'), options: z.object({ pattern: z.string(), result: ValueMappingResult }) }),
  z.object({ type: z.literal('special'), options: z.object({ match: z.enum(['true', 'false', 'null', 'nan', 'null+nan', 'empty']), result: ValueMappingResult }) }),
]);
const FieldColorModeId = z.enum([
  'thresholds', 'palette-classic', 'palette-classic-by-name', 'continuous-GrYlRd', 'continuous-RdYlGr', 'continuous-BlYlRd', 'continuous-YlRd', 'continuous-BlPu',
  'continuous-YlBl', 'continuous-blues', 'continuous-reds', 'continuous-greens', 'continuous-purples', 'continuous-viridis', 'continuous-magma', 'continuous-plasma',
  'continuous-inferno', 'continuous-cividis', 'fixed', 'shades',
]);
const FieldConfig = z.object({
  unit: z.string().optional(),
  decimals: z.number().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  noValue: z.string().optional(),
  displayName: z.string().optional(),
  color: z.object({ mode: FieldColorModeId, fixedColor: z.string().optional(), seriesBy: z.enum(['min', 'max', 'last']).optional() }).optional(),
  thresholds: ThresholdsConfig.optional(),
  mappings: z.array(ValueMapping).optional(),
  custom: z.record(z.string(), z.unknown()).optional(),
});
const FieldConfigSource = z.object({
  defaults: FieldConfig,
  overrides: z.array(z.object({ matcher: z.object({ id: z.string().min(1), options: z.unknown().optional() }), properties: z.array(z.object({ id: z.string().min(1), value: z.unknown().optional() })) })),
});
const GridPos = z
  .object({ x: z.number().int().min(0).max(23), y: z.number().int().min(0), w: z.number().int().min(1).max(24), h: z.number().int().min(1), static: z.boolean().optional() })
  .refine((g) => g.x + g.w <= 24, { message: 'panel runs past the 24th grid column' });
const Target = z.looseObject({ refId: z.string().min(1), datasource: DataSourceRef.optional(), hide: z.boolean().optional(), queryType: z.string().optional() });
const Panel = z.looseObject({
  type: z.string().min(1).refine((t) => t !== 'row'),
  id: z.number().int().positive(),
  title: z.string().optional(),
  description: z.string().optional(),
  gridPos: GridPos,
  datasource: DataSourceRef.optional(),
  targets: z.array(Target).optional(),
  fieldConfig: FieldConfigSource.optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  transformations: z.array(z.object({ id: z.string(), options: z.unknown(), disabled: z.boolean().optional() })).optional(),
  interval: z.string().regex(/^\d+(ms|s|m|h|d)$/).optional(),
  maxDataPoints: z.number().optional(),
  repeat: z.string().optional(),
  timeFrom: z.string().optional(),
  timeShift: z.string().optional(),
  transparent: z.boolean().optional(),
});
const RowPanel = z.object({
  type: z.literal('row'),
  id: z.number().int().positive(),
  title: z.string().optional(),
  collapsed: z.boolean(),
  gridPos: GridPos,
  panels: z.array(Panel),
  datasource: DataSourceRef.optional(),
  repeat: z.string().optional(),
});
const VariableOption = z.object({ text: z.union([z.string(), z.array(z.string())]), value: z.union([z.string(), z.array(z.string())]), selected: z.boolean().optional() });
const VariableModel = z.looseObject({
  type: z.enum(['query', 'adhoc', 'groupby', 'constant', 'datasource', 'interval', 'textbox', 'custom', 'system', 'snapshot', 'switch']),
  name: z.string().regex(/^\w+$/),
  label: z.string().optional(),
  datasource: DataSourceRef.nullable().optional(),
  query: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  current: VariableOption.optional(),
  options: z.array(VariableOption).optional(),
  hide: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
  refresh: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  sort: z.number().int().min(0).max(8).optional(),
  multi: z.boolean().optional(),
  includeAll: z.boolean().optional(),
  allValue: z.string().optional(),
  regex: z.string().optional(),
});
const AnnotationQuery = z.looseObject({
  name: z.string().min(1),
  datasource: DataSourceRef,
  enable: z.boolean(),
  iconColor: z.string().min(1),
  hide: z.boolean().optional(),
  builtIn: z.number().optional(),
  type: z.string().optional(),
});
const DashboardLink = z.object({
  title: z.string(),
  type: z.enum(['link', 'dashboards']),
  icon: z.string(),
  tooltip: z.string(),
  url: z.string(),
  tags: z.array(z.string()),
  asDropdown: z.boolean(),
  targetBlank: z.boolean(),
  includeVars: z.boolean(),
  keepTime: z.boolean(),
});

export const GrafanaDashboard = z
  .looseObject({
    uid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'Grafana uids are at most 40 characters of A–Z a–z 0–9 _ -'),
    title: z.string().min(1),
    description: z.string().optional(),
    tags: z.array(z.string()).optional(),
    timezone: z.string().optional(),
    editable: z.boolean().optional(),
    graphTooltip: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    time: z.object({ from: z.string().min(1), to: z.string().min(1) }).optional(),
    timepicker: z.object({ refresh_intervals: z.array(z.string().regex(/^\d+(s|m|h|d)$/)).optional(), hidden: z.boolean().optional() }).optional(),
    fiscalYearStartMonth: z.number().int().min(0).max(11).optional(),
    liveNow: z.boolean().optional(),
    weekStart: z.string().optional(),
    refresh: z.union([z.string().regex(/^(\d+(s|m|h|d))?$/), z.literal(false)]).optional(),
    schemaVersion: z.number().int().min(36),
    version: z.number().int().optional(),
    links: z.array(DashboardLink).optional(),
    annotations: z.object({ list: z.array(AnnotationQuery) }).optional(),
    templating: z.object({ list: z.array(VariableModel) }).optional(),
    panels: z.array(z.union([RowPanel, Panel])),
  })
  .superRefine((dashboard, ctx) => {
    const panels = dashboard.panels.flatMap((p) => (p.type === 'row' ? [p, ...(p as z.infer<typeof RowPanel>).panels] : [p]));
    const ids = panels.map((p) => p.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', message: 'panel ids must be unique', path: ['panels'] });
    // Grafana's grid does not stack panels: no two may cover the same cell.
    const boxes = panels.map((p) => p.gridPos);
    boxes.forEach((a, i) =>
      boxes.slice(i + 1).forEach((b) => {
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
          ctx.addIssue({ code: 'custom', message: `panels overlap at ${JSON.stringify(a)} and ${JSON.stringify(b)}`, path: ['panels'] });
        }
      }),
    );
  });
