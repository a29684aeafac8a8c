// The ISA-18.2 alert lifecycle as pure transitions: each returns the changed record and the
// `alert` point to write, or an error code the API maps to a 4xx.
import type { AlertEvent, AlertState } from '../influx/points.js';
import type { AlertRecord } from './types.js';

export type LifecycleError = 'ALERT.NOT_OPEN' | 'ALERT.ALREADY_ACKNOWLEDGED' | 'ALERT.NOT_SHELVED' | 'ALERT.ALREADY_SHELVED' | 'ALERT.CLEARED';

export type Transition = { ok: true; alert: AlertRecord; event: AlertEvent } | { ok: false; error: LifecycleError; message: string };

export function eventOf(alert: AlertRecord, state: AlertState, ts: number, by?: string): AlertEvent {
  return {
    id: alert.id,
    site: alert.site,
    asset: alert.asset,
    rule: alert.rule,
    severity: alert.severity,
    state,
    message: alert.message,
    value: alert.value,
    threshold: alert.threshold,
    by,
    ts,
  };
}

/** The condition returned to normal: active-unacknowledged → cleared-unacknowledged, active-acknowledged → cleared. */
export function clear(alert: AlertRecord, ts: number, value: number | undefined): Transition {
  if (alert.state !== 'active_unack' && alert.state !== 'active_ack') return { ok: false, error: 'ALERT.CLEARED', message: 'the alert has cleared already' };
  const next: AlertRecord = { ...alert, state: alert.state === 'active_ack' ? 'cleared' : 'cleared_unack', clearedAt: ts, value: value ?? alert.value };
  return { ok: true, alert: next, event: eventOf(next, 'cleared', ts) };
}

/** An operator acknowledges: active → active-acknowledged, cleared-unacknowledged → cleared. */
export function acknowledge(alert: AlertRecord, by: string, note: string | undefined, ts: number): Transition {
  if (alert.state === 'cleared') return { ok: false, error: 'ALERT.NOT_OPEN', message: 'the alert is closed' };
  if (alert.state === 'active_ack') return { ok: false, error: 'ALERT.ALREADY_ACKNOWLEDGED', message: `acknowledged already by ${alert.acknowledged?.by ?? 'someone'}` };
  const next: AlertRecord = { ...alert, state: alert.state === 'cleared_unack' ? 'cleared' : 'active_ack', acknowledged: { by, note, at: ts } };
  return { ok: true, alert: next, event: eventOf(next, 'acknowledged', ts, by) };
}

/** Shelving suppresses notifications for a bounded time; it is lifted by hand or when the time is up. */
export function shelve(alert: AlertRecord, by: string, minutes: number, reason: string, ts: number): Transition {
  if (alert.state === 'cleared') return { ok: false, error: 'ALERT.NOT_OPEN', message: 'the alert is closed' };
  if (alert.shelved) return { ok: false, error: 'ALERT.ALREADY_SHELVED', message: `shelved already until ${new Date(alert.shelved.until).toISOString()}` };
  const next: AlertRecord = { ...alert, shelved: { by, reason, at: ts, until: ts + minutes * 60_000 } };
  return { ok: true, alert: next, event: eventOf(next, 'shelved', ts, by) };
}

export function unshelve(alert: AlertRecord, by: string, ts: number): Transition {
  if (!alert.shelved) return { ok: false, error: 'ALERT.NOT_SHELVED', message: 'the alert is not shelved' };
  const next: AlertRecord = { ...alert, shelved: undefined };
  return { ok: true, alert: next, event: eventOf(next, 'unshelved', ts, by) };
}
