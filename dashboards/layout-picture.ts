// A picture of a dashboard's layout, drawn from its panels' grid positions: each panel a box with
// its title, type, unit and a sketch of its kind (line, number, gauge, bars, table, timeline).
// SVG here; build.ts turns it into the PNG the README shows.
import type { Dashboard, Panel, RowPanel } from './grafana.js';

const WIDTH = 1440;
const MARGIN = 16;
const HEADER = 76;
const COLUMN = (WIDTH - 2 * MARGIN) / 24;
const ROW = 26;
const GAP = 6;
const FONT = 'DejaVu Sans, Verdana, sans-serif';
const C = { bg: '#111217', panel: '#181b1f', border: '#2c3235', text: '#ccccdc', dim: '#8e8e9e', accent: '#6e9fff', green: '#73bf69', yellow: '#fade2a', orange: '#ff9830', red: '#f2495c' };

/** Grafana unit ids as a reader knows them. */
const UNIT_NAMES: Record<string, string> = { lengthm: 'm', celsius: '°C', percent: '%', pressurebar: 'bar', kwatt: 'kW', h: 'hours', string: 'text', conmgL: 'mg/L', velocityms: 'm/s' };

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function clip(text: string, px: number, size: number): string {
  const max = Math.max(3, Math.floor(px / (size * 0.6)));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function layoutSvg(dashboard: Dashboard): string {
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = HEADER + bottom * ROW + MARGIN;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}">`,
    `<rect width="${WIDTH}" height="${height}" fill="${C.bg}"/>`,
    `<text x="${MARGIN}" y="30" font-size="20" font-weight="bold" fill="${C.text}">${esc(dashboard.title)}</text>`,
    `<text x="${WIDTH - MARGIN}" y="30" font-size="13" fill="${C.dim}" text-anchor="end">${esc(`${dashboard.time.from} → ${dashboard.time.to} · refresh ${dashboard.refresh} · ${dashboard.timezone}`)}</text>`,
  ];
  let x = MARGIN;
  for (const variable of dashboard.templating.list) {
    const label = `${variable.label}: All`;
    const w = label.length * 8 + 20;
    parts.push(`<rect x="${x}" y="44" width="${w}" height="24" rx="3" fill="${C.panel}" stroke="${C.border}"/>`);
    parts.push(`<text x="${x + 10}" y="61" font-size="13" fill="${C.text}">${esc(label)}</text>`);
    x += w + 8;
  }
  for (const panel of dashboard.panels) parts.push(panel.type === 'row' ? rowSvg(panel) : panelSvg(panel));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function box(panel: Panel | RowPanel): { x: number; y: number; w: number; h: number } {
  const { x, y, w, h } = panel.gridPos;
  return { x: MARGIN + x * COLUMN + GAP / 2, y: HEADER + y * ROW + GAP / 2, w: w * COLUMN - GAP, h: h * ROW - GAP };
}

function rowSvg(row: RowPanel): string {
  const b = box(row);
  return `<text x="${b.x}" y="${b.y + b.h - 3}" font-size="15" font-weight="bold" fill="${C.text}">▾ ${esc(row.title)}</text>`;
}

function panelSvg(panel: Panel): string {
  const b = box(panel);
  const unit = UNIT_NAMES[panel.fieldConfig.defaults.unit] ?? panel.fieldConfig.defaults.unit.replace(/^suffix: ?/, '');
  const out = [
    `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="3" fill="${C.panel}" stroke="${C.border}"/>`,
    `<text x="${b.x + 10}" y="${b.y + 20}" font-size="14" font-weight="bold" fill="${C.text}">${esc(clip(panel.title, b.w - 20, 14))}</text>`,
    `<text x="${b.x + 10}" y="${b.y + 37}" font-size="11" fill="${C.dim}">${esc(clip(`${panel.type} · ${unit} · ${panel.targets.length} ${panel.targets.length === 1 ? 'query' : 'queries'}`, b.w - 20, 11))}</text>`,
  ];
  const area = { x: b.x + 12, y: b.y + 46, w: b.w - 24, h: b.h - 56 };
  if (area.h > 12) out.push(sketch(panel, area));
  return out.join('\n');
}

/** A small drawing of what the panel shows, so the picture reads like the dashboard. */
function sketch(panel: Panel, a: { x: number; y: number; w: number; h: number }): string {
  const series = Math.max(1, Math.min(4, panel.targets.length));
  const colors = [C.green, C.accent, C.yellow, C.orange];
  switch (panel.type) {
    case 'timeseries':
    case 'barchart': {
      const bars = panel.fieldConfig.defaults.custom?.drawStyle === 'bars';
      const lines: string[] = [];
      for (let s = 0; s < series; s++) {
        const points: string[] = [];
        const n = bars ? 12 : 40;
        for (let i = 0; i < n; i++) {
          const t = i / (n - 1);
          const v = 0.5 + 0.3 * Math.sin(t * 6.3 + s * 1.3) * (1 - s * 0.15) + 0.1 * Math.sin(t * 23 + s);
          const px = a.x + t * a.w;
          const py = a.y + a.h * (1 - Math.min(0.95, Math.max(0.05, v - s * 0.12)));
          if (bars && s === 0) lines.push(`<rect x="${(a.x + (i + 0.2) * (a.w / n)).toFixed(1)}" y="${py.toFixed(1)}" width="${((a.w / n) * 0.6).toFixed(1)}" height="${(a.y + a.h - py).toFixed(1)}" fill="${colors[s]}" opacity="0.7"/>`);
          points.push(`${px.toFixed(1)},${py.toFixed(1)}`);
        }
        if (!(bars && s === 0)) lines.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colors[s]}" stroke-width="1.5"/>`);
      }
      if ((panel.fieldConfig.defaults.custom?.thresholdsStyle as { mode?: string } | undefined)?.mode !== 'off' && panel.fieldConfig.defaults.thresholds) {
        lines.push(`<line x1="${a.x}" y1="${a.y + a.h * 0.25}" x2="${a.x + a.w}" y2="${a.y + a.h * 0.25}" stroke="${C.red}" stroke-dasharray="6 4"/>`);
      }
      lines.push(`<line x1="${a.x}" y1="${a.y + a.h}" x2="${a.x + a.w}" y2="${a.y + a.h}" stroke="${C.border}"/>`);
      return lines.join('\n');
    }
    case 'stat': {
      const w = a.w / series;
      return Array.from({ length: series }, (_, i) => {
        const alias = series > 1 ? (panel.targets[i]?.alias?.replace(/\$tag_\w+/g, '…') ?? '') : '';
        const size = Math.min(30, a.h * 0.5, w / 3.2);
        return [
          `<rect x="${a.x + i * w + 2}" y="${a.y}" width="${w - 4}" height="${a.h}" rx="2" fill="${i === 0 ? C.green : C.accent}" opacity="0.25"/>`,
          `<text x="${a.x + i * w + w / 2}" y="${a.y + a.h / 2 + size / 3}" font-size="${size.toFixed(0)}" font-weight="bold" fill="${C.text}" text-anchor="middle">123</text>`,
          alias ? `<text x="${a.x + i * w + w / 2}" y="${a.y + a.h - 6}" font-size="11" fill="${C.text}" text-anchor="middle">${esc(clip(alias, w - 8, 11))}</text>` : '',
        ].join('\n');
      }).join('\n');
    }
    case 'gauge': {
      const n = 3;
      const w = a.w / n;
      const r = Math.min(w / 2.4, a.h / 1.5);
      return Array.from({ length: n }, (_, i) => {
        const cx = a.x + i * w + w / 2;
        const cy = a.y + a.h * 0.7;
        return `<path d="M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r} ${cy}" fill="none" stroke="${C.border}" stroke-width="${(r / 4).toFixed(1)}"/>` +
          `<path d="M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r * Math.cos(Math.PI * (1 - 0.3 - i * 0.2))} ${cy - r * Math.sin(Math.PI * (1 - 0.3 - i * 0.2))}" fill="none" stroke="${[C.green, C.yellow, C.orange][i]}" stroke-width="${(r / 4).toFixed(1)}"/>`;
      }).join('\n');
    }
    case 'bargauge': {
      const n = Math.max(3, series);
      const h = a.h / n;
      return Array.from({ length: n }, (_, i) => `<rect x="${a.x}" y="${a.y + i * h + 3}" width="${a.w * (0.85 - i * 0.2)}" height="${Math.max(3, h - 6)}" fill="${[C.green, C.yellow, C.orange, C.red][i % 4]}" opacity="0.8"/>`).join('\n');
    }
    case 'table': {
      const rows = Math.max(2, Math.min(8, Math.floor(a.h / 18)));
      const lines = [`<rect x="${a.x}" y="${a.y}" width="${a.w}" height="16" fill="${C.border}"/>`];
      for (let i = 1; i < rows; i++) lines.push(`<line x1="${a.x}" y1="${a.y + i * 18 + 16}" x2="${a.x + a.w}" y2="${a.y + i * 18 + 16}" stroke="${C.border}"/>`);
      lines.push(`<rect x="${a.x}" y="${a.y + 18}" width="70" height="${Math.min(rows - 1, 3) * 18}" fill="${C.orange}" opacity="0.45"/>`);
      return lines.join('\n');
    }
    case 'state-timeline': {
      const n = 3;
      const h = a.h / n;
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        const cuts = i === 2 ? [0, 0.55, 0.8, 1] : [0, 0.9, 1];
        for (let c = 0; c + 1 < cuts.length; c++) {
          lines.push(`<rect x="${a.x + cuts[c]! * a.w}" y="${a.y + i * h + 2}" width="${(cuts[c + 1]! - cuts[c]!) * a.w - 1}" height="${h - 4}" fill="${c % 2 === 0 ? (i === 2 ? C.border : C.green) : i === 2 ? C.green : C.border}" opacity="0.8"/>`);
        }
      }
      return lines.join('\n');
    }
  }
}
