// Type-level check, run by `npm test`'s type check: every dashboard the builders produce is
// assignable to Grafana's own dashboard type from @grafana/schema (as JSON, enums as strings).
import type { Dashboard as GrafanaDashboard } from '@grafana/schema';
import type { Dashboard } from '../../dashboards/grafana.js';

type AsJson<T> = T extends string ? `${T}` : T extends ReadonlyArray<infer U> ? Array<AsJson<U>> : T extends object ? { [K in keyof T]: AsJson<T[K]> } : T;
export const asGrafana = (dashboard: Dashboard): AsJson<GrafanaDashboard> => dashboard;
