// How alerts read on the console: order, labels, numbers and times. No DOM here.

export const SEVERITIES = ['critical', 'high', 'medium', 'low'];

export const STATE_LABELS = {
  active_unack: 'Unacknowledged',
  active_ack: 'Acknowledged',
  cleared_unack: 'Cleared, not acknowledged',
  cleared: 'Closed',
};

export const needsAcknowledgement = (alert) => alert.state === 'active_unack' || alert.state === 'cleared_unack';

/** Most severe first; within a severity, newest first. */
export function sortAlerts(alerts) {
  const rank = (alert) => SEVERITIES.indexOf(alert.severity);
  return [...alerts].sort((a, b) => rank(a) - rank(b) || Date.parse(b.raisedAt) - Date.parse(a.raisedAt));
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
export const formatNumber = (value) => (value === null || value === undefined ? '—' : numberFormat.format(value));

/** "under a minute", "12 min", "3 h 05 min", "2 d 4 h". */
export function formatDuration(ms) {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** A local time, with the date when it is not today. */
export function formatTime(iso, now = new Date()) {
  const at = new Date(iso);
  return at.toDateString() === now.toDateString() ? timeFormat.format(at) : dateTimeFormat.format(at);
}

/** How long an open alert has been active (or was, before it cleared). */
export function activeFor(alert, now = Date.now()) {
  const end = alert.clearedAt ? Date.parse(alert.clearedAt) : now;
  return formatDuration(end - Date.parse(alert.raisedAt));
}

/** Shelve durations offered, bounded by the server's maximum. */
export function shelveChoices(maxMinutes) {
  const choices = [15, 30, 60, 120, 240, 480].filter((m) => m <= maxMinutes);
  if (!choices.includes(maxMinutes)) choices.push(maxMinutes);
  return choices.map((minutes) => ({ minutes, label: minutes < 60 ? `${minutes} minutes` : minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : formatDuration(minutes * 60_000) }));
}
