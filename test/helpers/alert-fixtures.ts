// Alert records and notifications for the notifier, roster and escalation tests.
import type { AlertRecord, Notification } from '../../src/alerts/types.js';

export const T0 = Date.parse('2026-07-14T06:00:00.000Z'); // Tuesday 14:00 in Asia/Shanghai

export function makeAlert(overrides: Partial<AlertRecord> = {}): AlertRecord {
  return {
    id: 'a-00001-pump-trip-P-01',
    rule: 'pump-trip',
    ruleKind: 'pump_trip',
    site: 'plant1',
    asset: 'P-01',
    kind: 'pump',
    region: 'north',
    severity: 'critical',
    state: 'active_unack',
    message: 'pump tripped',
    value: undefined,
    threshold: undefined,
    raisedAt: T0,
    clearedAt: undefined,
    acknowledged: undefined,
    shelved: undefined,
    replayed: false,
    tier: 0,
    lastNotifiedAt: undefined,
    ...overrides,
  };
}

export function makeNotification(overrides: Partial<Notification> = {}, alert: Partial<AlertRecord> = {}): Notification {
  return {
    kind: 'raised',
    alert: makeAlert(alert),
    crew: { name: 'pump-mechanics', tier: 0, contacts: { email: ['mechanics@water.example'] } },
    link: 'http://hydrowatch.example/alerts/a-00001-pump-trip-P-01',
    at: T0 + 1000,
    ...overrides,
  };
}
