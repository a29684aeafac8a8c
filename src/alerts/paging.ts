// Who gets paged, and when again: routes each alert event to the on-call crew for it, escalates
// what stays unacknowledged, and hands everything to the dispatcher (which never blocks).
import type { NotificationDispatcher } from './notify/dispatcher.js';
import { dueEscalations } from './notify/escalation.js';
import { highestTier, type Roster, routeAlert } from './roster.js';
import type { Rule } from './rules.js';
import type { AlertRecord, Notification } from './types.js';

export interface PagerOptions {
  dispatcher: NotificationDispatcher;
  roster: Roster;
  rules: readonly Rule[];
  now: () => number;
  /** Base URL of the console for deep links. */
  publicUrl?: string | undefined;
}

export class Pager {
  private readonly rulesById: Map<string, Rule>;

  constructor(private readonly options: PagerOptions) {
    this.rulesById = new Map(options.rules.map((rule) => [rule.id, rule]));
  }

  notify(kind: Notification['kind'], alert: AlertRecord): void {
    this.options.dispatcher.enqueue(this.notification(kind, alert));
  }

  /** Alerts unacknowledged past their rule's escalation time go to the next tier; returns them changed. */
  escalate(open: readonly AlertRecord[]): AlertRecord[] {
    const due = dueEscalations(open, this.rulesById, this.options.now(), highestTier(this.options.roster));
    return due.map(({ alert, tier }) => {
      const escalated = { ...alert, tier, lastNotifiedAt: this.options.now() };
      this.options.dispatcher.enqueue(this.notification('escalated', escalated));
      return escalated;
    });
  }

  /** After a restart: channels that hold state (Alertmanager, retained MQTT topics) get the open alerts again, nobody is paged. */
  restore(open: readonly AlertRecord[]): void {
    this.options.dispatcher.restore(open.filter((a) => !a.replayed).map((alert) => this.notification('raised', alert)));
  }

  private notification(kind: Notification['kind'], alert: AlertRecord): Notification {
    const at = this.options.now();
    const crew = routeAlert(alert, alert.tier, this.options.roster, at);
    const base = this.options.publicUrl?.replace(/\/$/, '');
    return {
      kind,
      alert,
      crew: crew && { name: crew.name, tier: crew.tier, contacts: crew.contacts },
      link: base ? `${base}/console/#/alerts/${encodeURIComponent(alert.id)}` : undefined,
      at,
    };
  }
}
