// The audit trail: each mutating API call becomes an `audit` point (tags action, role; fields
// who, target, ok, status, ip), appended to the service's spool so the one InfluxDB writer stores it.
import { type AuditEntry, auditLine } from '../influx/points.js';

export function auditTrail(append: (lines: string[]) => Promise<void>): (entry: AuditEntry) => Promise<void> {
  // Two entries of one series in one millisecond would overwrite each other: each gets its own.
  let lastTs = 0;
  return (entry) => {
    lastTs = Math.max(entry.ts, lastTs + 1);
    return append([auditLine({ ...entry, ts: lastTs })]);
  };
}
