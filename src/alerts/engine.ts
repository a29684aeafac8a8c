// The alert engine: feeds readings to the pure rules, runs the ISA-18.2 lifecycle on what they
// raise and clear, keeps heat-wave state, writes every lifecycle event to the `alert` measurement,
// asks the notifier to page (never for replayed or late data), and survives a restart.
import { existsSync, readFileSync } from 'node:fs';
import type { AssetConfig } from '../config.js';
import { type AlertEvent, alertLine, heatwaveLine } from '../influx/points.js';
import type { Logger } from '../log.js';
import { assetKey } from '../pipeline/enrich.js';
import type { Clock } from '../pipeline/types.js';
import type { Reading } from '../schema.js';
import { type ConditionEvent, type EvalContext, createEvalState, evaluate, evaluateTimers, observeCommand, type EvalState } from './evaluate.js';
import { type HeatwaveSettings, HeatwaveTracker, type HeatwaveView } from './heatwave.js';
import { acknowledge, clear, eventOf, shelve, type Transition, unshelve } from './lifecycle.js';
import { localHourOf } from './local-hour.js';
import { writeStateInSlices, writeStateSync } from './state-file.js';
import { AlertStore } from './store.js';
import type { Rule } from './rules.js';
import { type AlertRecord, isActive, isOpen, type Notification } from './types.js';

export interface AlertEngineOptions {
  rules: Rule[];
  assets: readonly AssetConfig[];
  clock: Clock;
  log: Logger;
  /** Where alert and heat-wave points go (the service's spool). */
  write: (lines: string[]) => void;
  /** Called for every notification; must not block (the dispatcher queues). */
  notify?: (kind: Notification['kind'], alert: AlertRecord) => void;
  /** JSON file the state is saved to; undefined keeps it in memory only. */
  statePath?: string | undefined;
  heatwave: HeatwaveSettings;
  /** Readings older than this (event time against now) are replayed or late: recorded, never paged. */
  liveWindowMs?: number;
  /** Baselines of demand (from InfluxDB, recomputed hourly). */
  baseline?: EvalContext['baseline'];
}

export type AlertFilter = { state: 'active' | 'all'; site?: string | undefined; severity?: string | undefined };

/** What onChange listeners hear: every lifecycle change (replayed ones too), escalations, and heat-wave changes. */
export type AlertChange = { kind: Notification['kind']; alert: AlertRecord } | { kind: 'heatwave'; region: string };

const HEATWAVE_RULE = 'heatwave';
const CLOSED_KEPT = 500;
const RAISES_KEPT_MS = 7 * 86_400_000;
const STATE_VERSION = 1;

export class AlertEngine {
  readonly rules: Rule[];
  private readonly state: EvalState;
  private readonly heatwave: HeatwaveTracker;
  private readonly alerts = new AlertStore();
  private readonly byRegion = new Map<string, string>();
  private readonly assetsByKey = new Map<string, AssetConfig>();
  private readonly context: EvalContext;
  private readonly liveWindowMs: number;
  /** Raise and clear times, for the EEMUA 191 KPIs. */
  private readonly history: Array<{ ts: number; type: 'raise' | 'clear'; key: string; rule: string; site: string; asset: string }> = [];
  private announced = new Map<string, { active: boolean; level: string | undefined }>();
  private nextSeq = 1;
  private saveTimer: NodeJS.Timeout | undefined;
  private lastSaveMs = 0;
  private saving: Promise<void> | undefined;
  private saveAgain = false;
  private closed = false;
  private readonly listeners = new Set<(change: AlertChange) => void>();

  constructor(private readonly options: AlertEngineOptions) {
    this.rules = options.rules;
    this.state = createEvalState(this.rules);
    this.heatwave = new HeatwaveTracker(options.heatwave);
    const localHour = localHourOf(options.heatwave.timezone);
    this.liveWindowMs = options.liveWindowMs ?? 10 * 60_000;
    for (const asset of options.assets) {
      this.assetsByKey.set(assetKey(asset.site, asset.id), asset);
      this.heatwave.setManual(asset.region, null, '', '', 0);
    }
    // Asked for every reading of a registered pump (no_standby): grouped once, not filtered each time.
    const pumpsByStation = new Map<string, AssetConfig[]>();
    for (const asset of options.assets) {
      if (asset.kind !== 'pump') continue;
      const station = `${asset.site}/${asset.station}`;
      pumpsByStation.set(station, [...(pumpsByStation.get(station) ?? []), asset]);
    }
    this.context = {
      asset: (site, asset) => this.assetsByKey.get(assetKey(site, asset)),
      stationPumps: (site, station) => pumpsByStation.get(`${site}/${station}`) ?? [],
      heatwaveActive: (region) => this.heatwave.isActive(region, options.clock.now()),
      baseline: options.baseline ?? (() => undefined),
      localHour,
    };
    this.load();
    for (const region of this.heatwave.regionNames()) {
      if (this.announced.has(region)) continue;
      const view = this.heatwave.view(region, options.clock.now());
      this.announced.set(region, { active: view.active, level: view.level });
    }
  }

  /** Every valid reading, from the pipeline, while it is being spooled. */
  onReading(reading: Reading, receivedAt: number): void {
    const live = reading.ts >= this.options.clock.now() - this.liveWindowMs;
    if (reading.kind === 'weather' && typeof reading.values.air_temp_c === 'number') {
      const region = this.context.asset(reading.site, reading.asset)?.region ?? 'default';
      this.heatwave.observe(region, reading.ts, reading.values.air_temp_c);
      this.checkHeatwave(region, reading.ts);
    }
    const events = evaluate(reading, this.state, this.rules, this.context, receivedAt);
    for (const event of events) this.apply(event, !live);
    if (events.length > 0) this.scheduleSave();
  }

  onCommand(site: string, asset: string, command: 'start' | 'stop', ts: number): void {
    observeCommand(this.state, site, asset, command, ts);
  }

  /** Timer work: stale sensors, delays that ran out, shelves that expired, heat-wave changes. */
  tick(): void {
    const now = this.options.clock.now();
    const events = evaluateTimers(now, this.state, this.rules, this.context, this.options.assets);
    for (const event of events) this.apply(event, false);
    for (const alert of this.alerts.values()) {
      if (alert.shelved && alert.shelved.until <= now) this.commit(unshelve(alert, 'auto-unshelve', now), 'unshelved');
    }
    for (const region of this.heatwave.regionNames()) this.checkHeatwave(region, now);
    if (events.length > 0) this.scheduleSave();
  }

  list(filter: AlertFilter): AlertRecord[] {
    return [...this.alerts.values()]
      .filter((a) => (filter.state === 'all' || isOpen(a)) && (!filter.site || a.site === filter.site) && (!filter.severity || a.severity === filter.severity))
      .sort((a, b) => b.raisedAt - a.raisedAt);
  }

  get(id: string): AlertRecord | undefined {
    return this.alerts.get(id);
  }

  acknowledge(id: string, by: string, note: string | undefined): Transition | undefined {
    const alert = this.alerts.get(id);
    return alert && this.commit(acknowledge(alert, by, note, this.options.clock.now()), 'acknowledged');
  }

  shelve(id: string, by: string, minutes: number, reason: string): Transition | undefined {
    const alert = this.alerts.get(id);
    return alert && this.commit(shelve(alert, by, minutes, reason, this.options.clock.now()), 'shelved');
  }

  unshelve(id: string, by: string): Transition | undefined {
    const alert = this.alerts.get(id);
    return alert && this.commit(unshelve(alert, by, this.options.clock.now()), 'unshelved');
  }

  /** Subscribes to every change (the console's live stream); returns the unsubscribe function. */
  onChange(listener: (change: AlertChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Escalation and other callers that change a record in place (tier, last notified). */
  update(alert: AlertRecord): void {
    this.alerts.set(alert.id, alert);
    this.emit({ kind: 'escalated', alert });
    this.scheduleSave();
  }

  heatwaveStates(): HeatwaveView[] {
    const now = this.options.clock.now();
    return this.heatwave.regionNames().map((region) => this.heatwave.view(region, now));
  }

  /** Dispatch declares (true) or ends (false) a heat wave by hand, or hands it back to the assessment (null). */
  setHeatwave(region: string, active: boolean | null, by: string, reason: string): HeatwaveView {
    const now = this.options.clock.now();
    this.heatwave.setManual(region, active, by, reason, now);
    this.checkHeatwave(region, now, true);
    this.scheduleSave();
    return this.heatwave.view(region, now);
  }

  /** The daily assessment: writes each region's state even when nothing changed. */
  assessHeatwaves(): HeatwaveView[] {
    const now = this.options.clock.now();
    return this.heatwave.regionNames().map((region) => {
      this.checkHeatwave(region, now, true);
      return this.heatwave.view(region, now);
    });
  }

  regions(): string[] {
    return this.heatwave.regionNames();
  }

  /** EEMUA 191 alarm-load figures over the last `windowMs` (default 24 h). */
  kpis(windowMs = 86_400_000) {
    const now = this.options.clock.now();
    const raises = this.history.filter((h) => h.type === 'raise' && h.ts > now - windowMs);
    const tenMinutes = 600_000;
    const buckets = new Map<number, number>();
    for (const r of raises) buckets.set(Math.floor(r.ts / tenMinutes), (buckets.get(Math.floor(r.ts / tenMinutes)) ?? 0) + 1);
    const floods = [...buckets.entries()].filter(([, n]) => n > 10).map(([bucket, n]) => ({ start: new Date(bucket * tenMinutes).toISOString(), alerts: n }));
    const chattering = new Map<string, number>();
    const byKey = new Map<string, number[]>();
    for (const h of this.history.filter((x) => x.ts > now - windowMs)) {
      const list = byKey.get(h.key) ?? [];
      list.push(h.ts);
      byKey.set(h.key, list);
    }
    for (const [key, times] of byKey) {
      // Three raise/clear cycles (six transitions) inside a minute is chattering.
      for (let i = 0; i + 5 < times.length; i++) if (times[i + 5]! - times[i]! <= 60_000) chattering.set(key, (chattering.get(key) ?? 0) + 1);
    }
    const offenders = new Map<string, number>();
    for (const r of raises) offenders.set(`${r.rule} ${r.site}/${r.asset}`, (offenders.get(`${r.rule} ${r.site}/${r.asset}`) ?? 0) + 1);
    const stale = [...this.alerts.values()].filter((a) => isActive(a) && now - a.raisedAt > 86_400_000);
    return {
      windowHours: windowMs / 3_600_000,
      alerts: raises.length,
      perTenMinutes: round(raises.length / (windowMs / tenMinutes), 2),
      peakTenMinutes: Math.max(0, ...buckets.values()),
      // EEMUA 191: ~1 per 10 min is manageable, over 10 in 10 min is a flood.
      eemuaTargetPerTenMinutes: 1,
      floods,
      timeInFloodPct: round((floods.length * tenMinutes * 100) / windowMs, 2),
      chattering: [...chattering.keys()],
      stale: stale.map((a) => a.id),
      topOffenders: [...offenders.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([name, count]) => ({ name, count })),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    // A save in slices still under way is dropped before its rename: this one is newer.
    this.save();
  }

  private apply(event: ConditionEvent, replayed: boolean): void {
    const key = `${event.rule.id}|${event.site}|${event.asset}`;
    this.history.push({ ts: event.ts, type: event.type, key, rule: event.rule.id, site: event.site, asset: event.asset });
    while (this.history.length > 0 && this.history[0]!.ts < this.options.clock.now() - RAISES_KEPT_MS) this.history.shift();
    const open = this.alerts.activeFor(event.rule.id, event.site, event.asset);
    if (event.type === 'raise') {
      if (open) return;
      const region = this.context.asset(event.site, event.asset)?.region ?? this.stationRegion(event.site) ?? 'default';
      this.raise({
        rule: event.rule.id,
        ruleKind: event.rule.kind,
        site: event.site,
        asset: event.asset,
        kind: event.kind,
        region,
        severity: event.rule.severity,
        message: `${event.rule.message ?? event.rule.id}${event.detail ? `: ${event.detail}` : ''}`,
        value: event.value,
        threshold: event.threshold,
        ts: event.ts,
        replayed,
      });
    } else if (open) {
      this.commit(clear(open, event.ts, event.value), 'cleared', replayed);
    }
  }

  private raise(fields: Omit<AlertRecord, 'id' | 'state' | 'raisedAt' | 'clearedAt' | 'acknowledged' | 'shelved' | 'tier' | 'lastNotifiedAt'> & { ts: number }): void {
    const { ts, ...rest } = fields;
    const alert: AlertRecord = {
      ...rest,
      id: `A${this.nextSeq++}`,
      state: 'active_unack',
      raisedAt: ts,
      clearedAt: undefined,
      acknowledged: undefined,
      shelved: undefined,
      tier: 0,
      lastNotifiedAt: undefined,
    };
    this.alerts.set(alert.id, alert);
    this.record(eventOf(alert, 'active', ts));
    this.options.log.info(`alert ${alert.id} ${alert.severity} ${alert.rule} ${alert.site}/${alert.asset}: ${alert.message}${alert.replayed ? ' (replayed data: not paged)' : ''}`);
    if (!alert.replayed) this.options.notify?.('raised', alert);
    this.emit({ kind: 'raised', alert });
    this.prune();
    this.scheduleSave();
  }

  private commit(transition: Transition, kind: Notification['kind'], replayed = false): Transition {
    if (!transition.ok) return transition;
    this.alerts.set(transition.alert.id, transition.alert);
    this.record(transition.event);
    if (!replayed && !transition.alert.replayed) this.options.notify?.(kind, transition.alert);
    this.emit({ kind, alert: transition.alert });
    this.scheduleSave();
    return transition;
  }

  private emit(change: AlertChange): void {
    for (const listener of this.listeners) {
      // A listener's bug (a closed stream) must never break the alert lifecycle.
      try {
        listener(change);
      } catch (error) {
        this.options.log.error(`alert change listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private record(event: AlertEvent): void {
    this.options.write([alertLine(event)]);
  }

  private checkHeatwave(region: string, ts: number, writeAlways = false): void {
    const view = this.heatwave.view(region, Math.max(ts, this.options.clock.now()));
    const before = this.announced.get(region);
    const changed = !before || before.active !== view.active || before.level !== view.level;
    if (!changed && !writeAlways) return;
    this.announced.set(region, { active: view.active, level: view.level });
    this.options.write([heatwaveLine({ ...view, ts })]);
    this.emit({ kind: 'heatwave', region });
    if (!changed) return;
    this.options.log.info(`heat wave in ${region}: ${view.active ? 'ACTIVE' : 'not active'}${view.level ? ` (${view.level})` : ''}, ${view.hot_days} hot day(s)${view.source === 'manual' ? ` — declared by ${view.by}: ${view.reason}` : ''}`);
    // Announced as an alert-level event, so dispatch sees it with everything else.
    const openId = this.byRegion.get(region);
    const open = openId ? this.alerts.get(openId) : undefined;
    if (view.active && !(open && isActive(open))) {
      this.raise({
        rule: HEATWAVE_RULE,
        ruleKind: 'heatwave',
        site: region,
        asset: region,
        kind: 'weather',
        region,
        severity: view.level === 'red' ? 'critical' : 'high',
        message: `heat wave in ${region}: ${view.hot_days} hot day(s)${view.tmax_c !== undefined ? `, Tmax ${view.tmax_c} °C` : ''}${view.source === 'manual' ? ` (declared by ${view.by}: ${view.reason})` : ''}`,
        value: view.tmax_c,
        threshold: 35,
        ts,
        replayed: false,
      });
      const raised = [...this.alerts.values()].find((a) => a.rule === HEATWAVE_RULE && a.asset === region && isActive(a));
      if (raised) this.byRegion.set(region, raised.id);
    } else if (!view.active && open && isActive(open)) {
      this.commit(clear(open, ts, view.tmax_c), 'cleared');
    }
  }

  private stationRegion(site: string): string | undefined {
    return this.options.assets.find((a) => a.site === site)?.region;
  }

  /** Keep every open alert and the newest closed ones. */
  private prune(): void {
    if (this.alerts.closedCount <= CLOSED_KEPT) return;
    const closed = [...this.alerts.values()].filter((a) => !isOpen(a)).sort((a, b) => b.raisedAt - a.raisedAt);
    for (const alert of closed.slice(CLOSED_KEPT)) this.alerts.delete(alert.id);
  }

  private scheduleSave(): void {
    if (!this.options.statePath || this.saveTimer || this.closed) return;
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    // A save writes every kept alert: in an alert flood (thousands cleared and not yet acknowledged)
    // it costs the main thread tens of ms, in slices (state-file.ts), so it runs at most often enough
    // to take a tenth of the event loop.
    this.saveTimer = setTimeout(
      () => {
        this.saveTimer = undefined;
        this.saving = writeStateInSlices(this.options.statePath!, this.statePieces(), () => !this.closed)
          .then(
            (busyMs) => {
              if (busyMs !== false) this.lastSaveMs = busyMs;
            },
            (error: unknown) => this.saveFailed(error),
          )
          .finally(() => {
            this.saving = undefined;
            if (this.saveAgain) {
              this.saveAgain = false;
              this.scheduleSave();
            }
          });
      },
      Math.max(200, this.lastSaveMs * 10),
    );
    this.saveTimer.unref();
  }

  /** The state as saved to disk (JSON); a cluster's alert leader also keeps it in Redis (src/cluster/). */
  exportState(): string {
    return Array.from(this.statePieces()).join('');
  }

  /**
   * The state's JSON as pieces, from a snapshot taken now: what JSON.stringify of it all would
   * give. Alerts and history are the bulk of it and mostly unchanged since the last save: each
   * record is the JSON it was made into once (records are replaced, never changed in place).
   */
  private statePieces(): Iterable<string> {
    const rest = JSON.stringify({
      version: STATE_VERSION,
      nextSeq: this.nextSeq,
      alerts: [],
      conditions: [...this.state.conditions.entries()],
      pumps: [...this.state.pumps.entries()],
      heatwave: this.heatwave.snapshot(),
      announced: [...this.announced.entries()],
      byRegion: [...this.byRegion.entries()],
      history: [],
    });
    const alertsAt = rest.indexOf('"alerts":[]') + '"alerts":['.length;
    const historyAt = rest.lastIndexOf('"history":[]') + '"history":['.length;
    const alerts = Array.from(this.alerts.values());
    const history = this.history.slice();
    return (function* pieces() {
      yield rest.slice(0, alertsAt);
      for (let i = 0; i < alerts.length; i++) yield i === 0 ? jsonOnce(alerts[i]!) : `,${jsonOnce(alerts[i]!)}`;
      yield rest.slice(alertsAt, historyAt);
      for (let i = 0; i < history.length; i++) yield i === 0 ? jsonOnce(history[i]!) : `,${jsonOnce(history[i]!)}`;
      yield rest.slice(historyAt);
    })();
  }

  /** Replaces the state with an exported one: a new cluster leader takes over its predecessor's. Throws if unreadable. */
  importState(json: string): void {
    this.alerts.clear();
    this.state.conditions.clear();
    this.state.pumps.clear();
    this.history.length = 0;
    this.applyState(json);
    this.scheduleSave();
  }

  /** Writes the state at once (at close), atomically: temp file, then rename, so a crash leaves the old or the new. */
  private save(): void {
    const path = this.options.statePath;
    if (!path) return;
    try {
      writeStateSync(path, this.statePieces());
    } catch (error) {
      this.saveFailed(error);
    }
  }

  private saveFailed(error: unknown): void {
    this.options.log.error(`could not save alert state to ${this.options.statePath}: ${error instanceof Error ? error.message : String(error)}`);
  }

  private load(): void {
    const path = this.options.statePath;
    if (!path || !existsSync(path)) return;
    try {
      this.applyState(readFileSync(path, 'utf8'));
      const open = [...this.alerts.values()].filter(isOpen).length;
      this.options.log.info(`alert state restored from ${path}: ${open} open alert(s)`);
    } catch (error) {
      this.options.log.error(`alert state in ${path} is unreadable (${error instanceof Error ? error.message : String(error)}); starting with none`);
    }
  }

  private applyState(json: string): void {
    const saved = JSON.parse(json) as {
      version: number;
      nextSeq: number;
      alerts: AlertRecord[];
      conditions: Array<[string, never]>;
      pumps: Array<[string, never]>;
      heatwave: Parameters<HeatwaveTracker['restore']>[0];
      announced: Array<[string, { active: boolean; level: string | undefined }]>;
      byRegion: Array<[string, string]>;
      history: AlertEngine['history'];
    };
    if (saved.version !== STATE_VERSION) throw new Error(`unknown state version ${saved.version}`);
    this.nextSeq = saved.nextSeq;
    for (const alert of saved.alerts) this.alerts.set(alert.id, alert);
    for (const [key, condition] of saved.conditions) this.state.conditions.set(key, condition);
    for (const [key, pump] of saved.pumps) this.state.pumps.set(key, pump);
    this.heatwave.restore(saved.heatwave);
    this.byRegion.clear();
    for (const [region, id] of saved.byRegion) this.byRegion.set(region, id);
    this.history.push(...saved.history);
    this.announced = new Map(saved.announced);
  }
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A record's JSON, made once: alert records and history entries are replaced on change, never mutated. */
const madeJson = new WeakMap<object, string>();
function jsonOnce(record: object): string {
  let json = madeJson.get(record);
  if (json === undefined) madeJson.set(record, (json = JSON.stringify(record)));
  return json;
}
