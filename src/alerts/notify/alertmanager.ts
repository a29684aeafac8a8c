// Prometheus Alertmanager (ALERTMANAGER_URL): POST /api/v2/alerts. Alertmanager resolves an alert
// that is not re-sent within its resolve_timeout (5 m by default), so this notifier keeps the set of
// firing alerts itself and posts them again on every `refresh()` (the dispatcher calls it each
// minute). What is sent follows the alert's state, not the notification kind: active and not
// shelved = firing; cleared or shelved = resolved (`endsAt`). Re-sending is therefore harmless.
import { localTimestamp, summaryLine, valueLine } from './body.js';
import type { ChannelNotifier } from './channel.js';
import { post } from './http.js';
import { isActive, type AlertRecord, type Notification } from '../types.js';

/** One element of the POST /api/v2/alerts body (Alertmanager's `postableAlert`). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerOptions {
  /** Base URL, e.g. http://127.0.0.1:9093 (a path prefix is kept). */
  url: string;
  timeoutMs?: number;
  /** Timezone of the times written into the description. */
  timezone?: string;
  fetch?: typeof fetch;
}

export class AlertmanagerNotifier implements ChannelNotifier {
  readonly name = 'alertmanager';
  private readonly endpoint: string;
  /** Firing alerts by alert id, exactly as last posted: what `refresh()` re-sends. */
  private readonly firing = new Map<string, PostableAlert>();

  constructor(private readonly options: AlertmanagerOptions) {
    this.endpoint = new URL('api/v2/alerts', options.url.endsWith('/') ? options.url : `${options.url}/`).toString();
  }

  /** Alerts currently firing as far as this notifier knows. */
  get activeCount(): number {
    return this.firing.size;
  }

  async send(notification: Notification): Promise<void> {
    await this.postAlerts(this.apply(notification));
  }

  async refresh(): Promise<void> {
    if (this.firing.size > 0) await this.postAlerts([...this.firing.values()]);
  }

  async restore(open: Notification[]): Promise<void> {
    const batch = open.flatMap((notification) => this.apply(notification));
    await this.postAlerts(batch);
  }

  /** Updates the firing set for a notification and returns what to post for it. */
  private apply(notification: Notification): PostableAlert[] {
    const { alert } = notification;
    const previous = this.firing.get(alert.id);
    // The crew label names who was last paged (raised / escalated); other kinds keep it, so the alert
    // keeps its identity (Alertmanager's fingerprint is its label set) while it is acknowledged etc.
    const paging = notification.kind === 'raised' || notification.kind === 'escalated';
    const crew = paging || previous === undefined ? notification.crew?.name : previous.labels.crew;
    const current = toPostableAlert(notification, crew, this.options.timezone ?? 'Asia/Shanghai');
    const out: PostableAlert[] = [];
    if (previous !== undefined && !sameLabels(previous.labels, current.labels)) {
      // Escalation moved it to another crew: end the old label set instead of leaving it to time out.
      out.push({ ...previous, endsAt: current.endsAt ?? new Date(notification.at).toISOString() });
    }
    if (current.endsAt === undefined) this.firing.set(alert.id, current);
    else this.firing.delete(alert.id);
    out.push(current);
    return out;
  }

  private async postAlerts(alerts: PostableAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    await post(this.endpoint, JSON.stringify(alerts), { timeoutMs: this.options.timeoutMs ?? 10_000, fetch: this.options.fetch });
  }
}

/** Firing while active and not shelved; otherwise resolved as of the notification. */
export function isFiring(alert: AlertRecord, at: number): boolean {
  return isActive(alert) && !(alert.shelved !== undefined && alert.shelved.until > at);
}

export function toPostableAlert(notification: Notification, crew: string | undefined, timezone: string): PostableAlert {
  const { alert, link } = notification;
  const labels: Record<string, string> = {
    alertname: alert.rule,
    site: alert.site,
    asset: alert.asset,
    severity: alert.severity,
    region: alert.region,
  };
  if (crew) labels.crew = crew;
  const description = [
    alert.message,
    valueLine(notification),
    `raised ${localTimestamp(alert.raisedAt, timezone)}`,
    alert.acknowledged && `acknowledged by ${alert.acknowledged.by} ${localTimestamp(alert.acknowledged.at, timezone)}`,
    alert.shelved && `shelved by ${alert.shelved.by} until ${localTimestamp(alert.shelved.until, timezone)}: ${alert.shelved.reason}`,
  ].filter(Boolean).join('; ');
  const annotations: Record<string, string> = { summary: summaryLine({ ...notification, kind: 'raised' }), description };
  if (link) annotations.link = link;
  const postable: PostableAlert = { labels, annotations, startsAt: new Date(alert.raisedAt).toISOString() };
  if (!isFiring(alert, notification.at)) postable.endsAt = new Date(Math.max(notification.at, alert.raisedAt)).toISOString();
  if (link) postable.generatorURL = link;
  return postable;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
