// The one JSON shape hydrowatch sends about an alert (webhook body, MQTT alert topic payload) and
// the human one-liners (e-mail subject, Alertmanager summary). Receivers rely on it: add fields,
// never rename or remove them without bumping `version`.
import type { Notification } from '../types.js';

export interface NotificationBody {
  version: 1;
  /** Same on every retry of one notification: receivers can drop duplicates by it. */
  deliveryId: string;
  kind: Notification['kind'];
  /** When hydrowatch decided to notify (ISO 8601, UTC). */
  at: string;
  /** e.g. `[CRITICAL] pump-trip P-01 plant1 — pump tripped` */
  summary: string;
  alert: {
    id: string;
    rule: string;
    ruleKind: string;
    site: string;
    asset: string;
    kind: string;
    region: string;
    severity: string;
    state: string;
    message: string;
    value: number | null;
    threshold: number | null;
    raisedAt: string;
    clearedAt: string | null;
    acknowledged: { by: string; note: string | null; at: string } | null;
    shelved: { by: string; reason: string; at: string; until: string } | null;
    tier: number;
    replayed: boolean;
  };
  crew: { name: string; tier: number } | null;
  link: string | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function notificationBody(notification: Notification): NotificationBody {
  const { alert, crew } = notification;
  return {
    version: 1,
    deliveryId: deliveryId(notification),
    kind: notification.kind,
    at: iso(notification.at),
    summary: summaryLine(notification),
    alert: {
      id: alert.id,
      rule: alert.rule,
      ruleKind: alert.ruleKind,
      site: alert.site,
      asset: alert.asset,
      kind: alert.kind,
      region: alert.region,
      severity: alert.severity,
      state: alert.state,
      message: alert.message,
      value: alert.value ?? null,
      threshold: alert.threshold ?? null,
      raisedAt: iso(alert.raisedAt),
      clearedAt: alert.clearedAt === undefined ? null : iso(alert.clearedAt),
      acknowledged: !alert.acknowledged ? null : { by: alert.acknowledged.by, note: alert.acknowledged.note ?? null, at: iso(alert.acknowledged.at) },
      shelved: !alert.shelved ? null : { by: alert.shelved.by, reason: alert.shelved.reason, at: iso(alert.shelved.at), until: iso(alert.shelved.until) },
      tier: alert.tier,
      replayed: alert.replayed,
    },
    crew: crew ? { name: crew.name, tier: crew.tier } : null,
    link: notification.link ?? null,
  } satisfies NotificationBody;
}

export const deliveryId = (notification: Notification): string => `${notification.alert.id}:${notification.kind}:${notification.at}`;

const KIND_TAG: Record<Notification['kind'], string> = {
  raised: '',
  escalated: 'ESCALATED ',
  cleared: 'CLEARED ',
  acknowledged: 'ACKNOWLEDGED ',
  shelved: 'SHELVED ',
  unshelved: 'UNSHELVED ',
};

/** `[CRITICAL] pump-trip P-01 plant1 — pump tripped`, with the notification kind after the severity unless raised. */
export function summaryLine(notification: Notification): string {
  const { alert } = notification;
  const tag = notification.kind === 'escalated' ? `ESCALATED to tier ${notification.crew?.tier ?? alert.tier} ` : KIND_TAG[notification.kind];
  return `[${alert.severity.toUpperCase()}] ${tag}${alert.rule} ${alert.asset} ${alert.site} — ${alert.message}`;
}

/** `value 12.4 vs threshold 25`, or undefined when the rule has neither. */
export function valueLine(notification: Notification): string | undefined {
  const { value, threshold } = notification.alert;
  if (value === undefined && threshold === undefined) return undefined;
  const parts: string[] = [];
  if (value !== undefined) parts.push(`value ${formatNumber(value)}`);
  if (threshold !== undefined) parts.push(`threshold ${formatNumber(threshold)}`);
  return parts.join(' vs ');
}

const formatNumber = (n: number): string => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3))));

const localFormats = new Map<string, Intl.DateTimeFormat>();

/** `2026-07-14 14:00:05 Asia/Shanghai`: what a crew reads on a phone at night. */
export function localTimestamp(ms: number, timezone: string): string {
  let format = localFormats.get(timezone);
  if (format === undefined) {
    // sv-SE writes ISO-like dates (2026-07-14 14:00:05).
    format = new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, dateStyle: 'short', timeStyle: 'medium' });
    localFormats.set(timezone, format);
  }
  return `${format.format(ms)} ${timezone}`;
}
