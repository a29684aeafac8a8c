// The engine's alerts by id, which also knows the active alert of each (rule, site, asset) and how
// many are closed. The engine looked both up by scanning every alert it keeps, on every raise and
// clear; cleared-unacknowledged alerts stay until someone acknowledges them, so during an alert
// flood that scan grew without bound (bench/: 8,000 kept alerts made each reading cost 3× more).
import { type AlertRecord, isActive, isOpen } from './types.js';

const activeKey = (rule: string, site: string, asset: string): string => `${rule}|${site}|${asset}`;

export class AlertStore extends Map<string, AlertRecord> {
  private readonly active = new Map<string, string>();
  private closed = 0;

  /** The active alert of a rule on an asset, if there is one (there is at most one). */
  activeFor(rule: string, site: string, asset: string): AlertRecord | undefined {
    const id = this.active.get(activeKey(rule, site, asset));
    const alert = id === undefined ? undefined : super.get(id);
    return alert !== undefined && isActive(alert) ? alert : undefined;
  }

  /** Alerts kept that are closed (cleared and acknowledged). */
  get closedCount(): number {
    return this.closed;
  }

  override set(id: string, alert: AlertRecord): this {
    this.forget(super.get(id));
    super.set(id, alert);
    if (isActive(alert)) this.active.set(activeKey(alert.rule, alert.site, alert.asset), id);
    if (!isOpen(alert)) this.closed += 1;
    return this;
  }

  override delete(id: string): boolean {
    this.forget(super.get(id));
    return super.delete(id);
  }

  override clear(): void {
    this.active.clear();
    this.closed = 0;
    super.clear();
  }

  private forget(alert: AlertRecord | undefined): void {
    if (alert === undefined) return;
    const key = activeKey(alert.rule, alert.site, alert.asset);
    if (this.active.get(key) === alert.id) this.active.delete(key);
    if (!isOpen(alert)) this.closed -= 1;
  }
}
