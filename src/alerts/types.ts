// Alert records and the notification port, shared by the engine, the API and the notifiers.
import type { Severity } from './rules.js';

/**
 * ISA-18.2 states: active-unacknowledged, active-acknowledged, cleared-unacknowledged (returned to
 * normal, nobody acknowledged it yet), cleared (closed). Shelving is a flag on top of them.
 */
export type LifecycleState = 'active_unack' | 'active_ack' | 'cleared_unack' | 'cleared';

export interface AlertRecord {
  /** Stable id, e.g. `a-00012-reservoir-low-R-N`: unique per occurrence. */
  id: string;
  rule: string;
  ruleKind: string;
  site: string;
  asset: string;
  kind: string;
  region: string;
  severity: Severity;
  state: LifecycleState;
  message: string;
  value: number | undefined;
  threshold: number | undefined;
  /** Event time the condition started (reading time, or timer time for time-based rules). */
  raisedAt: number;
  clearedAt: number | undefined;
  acknowledged: { by: string; note: string | undefined; at: number } | undefined;
  shelved: { by: string; reason: string; at: number; until: number } | undefined;
  /** Raised from replayed or late data: recorded, never paged. */
  replayed: boolean;
  /** Escalation tier reached so far (0 = first crew). */
  tier: number;
  lastNotifiedAt: number | undefined;
}

export const isActive = (alert: AlertRecord): boolean => alert.state === 'active_unack' || alert.state === 'active_ack';
export const isOpen = (alert: AlertRecord): boolean => alert.state !== 'cleared';

/** What a notifier is asked to deliver. */
export interface Notification {
  /** raised: a new alert; escalated: unacknowledged past the rule's escalation time (tier > 0); cleared; acknowledged; shelved. */
  kind: 'raised' | 'escalated' | 'cleared' | 'acknowledged' | 'shelved' | 'unshelved';
  alert: AlertRecord;
  /** The on-call crew it is routed to (undefined when no roster matches: then it goes to every channel's default). */
  crew: { name: string; tier: number; contacts: { email?: string[] | undefined; webhook?: string | undefined } } | undefined;
  /** Deep link to the alert in the console, when the public URL is configured. */
  link: string | undefined;
  at: number;
}

/** A channel: webhook, Alertmanager, MQTT alert topic, e-mail. One file each under notify/. */
export interface Notifier {
  readonly name: string;
  /** Delivers or throws; the dispatcher retries with backoff and never blocks ingestion. */
  send(notification: Notification): Promise<void>;
  close?(): Promise<void>;
}
