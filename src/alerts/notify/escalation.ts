// Which open alerts are due to be paged to the next on-call tier. Pure: the engine calls it on its
// timer, sends an `escalated` notification for each result and stores the new `alert.tier`.
import type { Rule } from '../rules.js';
import type { AlertRecord } from '../types.js';

export interface DueEscalation {
  alert: AlertRecord;
  /** The tier to page now: always `alert.tier + 1`. */
  tier: number;
}

type RulesById = ReadonlyMap<string, Pick<Rule, 'escalateAfter'>> | Readonly<Record<string, Pick<Rule, 'escalateAfter'> | undefined>>;

/**
 * An alert escalates to tier n+1 once it has been active and unacknowledged for `escalateAfter` ×
 * (n+1) since it was raised — one tier per call, so a long outage of the engine pages the next tier,
 * not every tier at once. Never for acknowledged, cleared, shelved or replayed alerts, nor past
 * `maxTier` (the roster's highest tier), nor for a rule that is gone or has `escalateAfter: 0`.
 */
export function dueEscalations(alerts: Iterable<AlertRecord>, rulesById: RulesById, now: number, maxTier: number): DueEscalation[] {
  const due: DueEscalation[] = [];
  for (const alert of alerts) {
    if (alert.state !== 'active_unack' || alert.replayed || alert.tier >= maxTier) continue;
    if (alert.shelved !== undefined && alert.shelved.until > now) continue;
    const escalateAfter = ruleOf(rulesById, alert.rule)?.escalateAfter ?? 0;
    if (escalateAfter <= 0) continue;
    if (now - alert.raisedAt >= escalateAfter * (alert.tier + 1)) due.push({ alert, tier: alert.tier + 1 });
  }
  return due;
}

function ruleOf(rulesById: RulesById, id: string): Pick<Rule, 'escalateAfter'> | undefined {
  if (rulesById instanceof Map) return rulesById.get(id);
  const record = rulesById as Readonly<Record<string, Pick<Rule, 'escalateAfter'> | undefined>>;
  return Object.hasOwn(record, id) ? record[id] : undefined;
}
