// Stage 0 for Sparkplug B edge nodes: turns spBv1.0/{group}/{NBIRTH|DBIRTH|NDATA|DDATA|NDEATH|DDEATH}/{node}[/{device}]
// into the messages our own devices send (hydrowatch/{site}/{kind}/{asset}/telemetry|status), so the
// one schema (src/schema.ts) validates them like any other. Group = site, device = asset (the edge
// node itself is an asset too when it is registered), kind from the asset registry, metric names →
// fields through `sparkplug.metrics` or by their last `/` segment. Births carry the alias table;
// deaths mark assets offline at once; a seq out of order (or data with no birth) asks the edge node
// to be born again (NCMD `Node Control/Rebirth`).
import * as sparkplugPayload from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import type { AssetConfig } from '../config.js';
import type { InboundMessage } from '../pipeline/types.js';
import { FIELDS, type FieldSpec, type Kind, SPARKPLUG_ROOT, SparkplugRejectReason, statusTopic, telemetryTopic } from '../schema.js';

const codec = sparkplugPayload.get(SPARKPLUG_ROOT)!;

/** Topics a Sparkplug host listens to (commands are ours to send, not to ingest). */
export const SPARKPLUG_TOPIC = `${SPARKPLUG_ROOT}/#`;
const INGESTED_TYPES = new Set(['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA', 'NDEATH', 'DDEATH']);
export const isSparkplugTopic = (topic: string): boolean => topic.startsWith(`${SPARKPLUG_ROOT}/`) && INGESTED_TYPES.has(topic.split('/', 3)[2] ?? '');

/** Metric names every Sparkplug edge node may send that are not readings. */
const CONTROL_METRIC = /^(bdSeq$|Node Control\/|Device Control\/|Properties\/|Node Info\/|Device Info\/)/;
/** An edge node that keeps sending out of order is asked again no more often than this. */
const REBIRTH_EVERY_MS = 5000;

export interface SparkplugReject {
  reason: SparkplugRejectReason;
  detail: string;
}

export interface SparkplugResult {
  /** What our own devices would have sent: telemetry and status messages for the pipeline. */
  messages: InboundMessage[];
  rejects: SparkplugReject[];
}

export interface SparkplugOptions {
  /** site/asset → registry entry (the kind comes from there). */
  asset: (site: string, asset: string) => AssetConfig | undefined;
  /** `sparkplug.metrics`: Sparkplug metric name → field. */
  metricNames: Record<string, string>;
  /** Sends a command to an edge node (the rebirth request); must not throw. */
  publish: (topic: string, payload: Buffer) => void;
  now: () => number;
}

interface Target {
  site: string;
  asset: string;
  kind: Kind;
  /** alias → field, and metric name → field, from the birth certificate. */
  aliases: Map<number, string | null>;
  names: Map<string, string | null>;
}

interface EdgeNode {
  bdSeq: number | undefined;
  seq: number;
  /** The node's own metrics, when the node is a registered asset. */
  node: Target | undefined;
  devices: Map<string, Target>;
  rebirthAskedAt: number;
}

export class SparkplugDecoder {
  private readonly nodes = new Map<string, EdgeNode>();
  /** Rebirth requests sent, for /metrics and the tests. */
  rebirthRequests = 0;

  constructor(private readonly options: SparkplugOptions) {}

  decode(message: InboundMessage): SparkplugResult {
    const result: SparkplugResult = { messages: [], rejects: [] };
    const [, group = '', type = '', nodeId = '', deviceId, extra] = message.topic.split('/');
    const isDevice = type.startsWith('D');
    if (!group || !nodeId || extra !== undefined || isDevice !== (deviceId !== undefined) || !INGESTED_TYPES.has(type)) {
      return reject(result, SparkplugRejectReason.BAD_PAYLOAD, `not ${SPARKPLUG_ROOT}/{group}/{type}/{edge node}[/{device}]`);
    }
    let payload: UPayload;
    try {
      payload = codec.decodePayload(message.payload);
    } catch (error) {
      return reject(result, SparkplugRejectReason.BAD_PAYLOAD, `not a Sparkplug B payload: ${error instanceof Error ? error.message : String(error)}`);
    }
    const key = `${group}/${nodeId}`;
    const at = toNumber(payload.timestamp) ?? message.receivedAt;

    if (type === 'NBIRTH') {
      const bdSeq = toNumber(payload.metrics?.find((m) => m.name === 'bdSeq')?.value);
      const node: EdgeNode = { bdSeq, seq: toNumber(payload.seq) ?? 0, node: undefined, devices: new Map(), rebirthAskedAt: 0 };
      this.nodes.set(key, node);
      const registered = this.options.asset(group, nodeId);
      const readings = (payload.metrics ?? []).filter((m) => !CONTROL_METRIC.test(m.name ?? ''));
      if (registered) {
        node.node = this.birth(result, group, registered, readings);
        this.emitStatus(result, node.node, true, message.receivedAt);
        this.emitReadings(result, node.node, readings, at, message.receivedAt);
      } else if (readings.length > 0) {
        reject(result, SparkplugRejectReason.UNKNOWN_DEVICE, `edge node ${key} is not in the asset registry; its ${readings.length} metric(s) are not stored`);
      }
      return result;
    }

    const node = this.nodes.get(key);
    if (type === 'NDEATH') {
      // A death from an older session (its bdSeq is not the birth's) must not kill the new one.
      const bdSeq = toNumber(payload.metrics?.find((m) => m.name === 'bdSeq')?.value);
      if (!node || (bdSeq !== undefined && node.bdSeq !== undefined && bdSeq !== node.bdSeq)) return result;
      this.nodes.delete(key);
      for (const target of [node.node, ...node.devices.values()]) if (target) this.emitStatus(result, target, false, message.receivedAt);
      return result;
    }
    if (!node) {
      this.askRebirth(group, nodeId, undefined);
      return reject(result, SparkplugRejectReason.UNKNOWN_ALIAS, `${type} from edge node ${key} before its birth certificate; rebirth requested`);
    }
    this.checkSeq(node, group, nodeId, toNumber(payload.seq));

    if (type === 'NDATA') {
      if (node.node) this.emitReadings(result, node.node, payload.metrics ?? [], at, message.receivedAt, () => this.askRebirth(group, nodeId, node));
      return result;
    }
    const device = deviceId!;
    if (type === 'DBIRTH') {
      const registered = this.options.asset(group, device);
      if (!registered) return reject(result, SparkplugRejectReason.UNKNOWN_DEVICE, `device ${group}/${device} (edge node ${nodeId}) is not in the asset registry: its kind is unknown`);
      const readings = (payload.metrics ?? []).filter((m) => !CONTROL_METRIC.test(m.name ?? ''));
      const target = this.birth(result, group, registered, readings);
      node.devices.set(device, target);
      this.emitStatus(result, target, true, message.receivedAt);
      this.emitReadings(result, target, readings, at, message.receivedAt);
      return result;
    }
    const target = node.devices.get(device);
    if (type === 'DDEATH') {
      if (target) this.emitStatus(result, target, false, message.receivedAt);
      node.devices.delete(device);
      return result;
    }
    // DDATA
    if (!target) {
      this.askRebirth(group, nodeId, node);
      return reject(result, SparkplugRejectReason.UNKNOWN_ALIAS, `DDATA from device ${group}/${device} with no birth certificate; rebirth requested`);
    }
    this.emitReadings(result, target, payload.metrics ?? [], at, message.receivedAt, () => this.askRebirth(group, nodeId, node));
    return result;
  }

  /** The alias table of a birth certificate; a metric that maps to no field of the kind is refused once, here. */
  private birth(result: SparkplugResult, site: string, registered: AssetConfig, metrics: UMetric[]): Target {
    const target: Target = { site, asset: registered.id, kind: registered.kind, aliases: new Map(), names: new Map() };
    const fields = FIELDS[registered.kind] as Record<string, FieldSpec>;
    for (const metric of metrics) {
      const name = metric.name ?? '';
      const field = this.options.metricNames[name] ?? name.split('/').at(-1) ?? '';
      const known = Object.hasOwn(fields, field) ? field : null;
      if (known === null) reject(result, SparkplugRejectReason.UNKNOWN_METRIC, `${site}/${registered.id}: metric ${JSON.stringify(name)} is no ${registered.kind} field (map it in sparkplug.metrics)`);
      target.names.set(name, known);
      const alias = toNumber(metric.alias);
      if (alias !== undefined) target.aliases.set(alias, known);
    }
    return target;
  }

  /** One telemetry message per timestamp: metrics in one payload may carry their own times. */
  private emitReadings(result: SparkplugResult, target: Target, metrics: UMetric[], at: number, receivedAt: number, onUnknown?: () => void): void {
    const byTs = new Map<number, Record<string, unknown>>();
    for (const metric of metrics) {
      if (metric.name && CONTROL_METRIC.test(metric.name)) continue;
      const alias = toNumber(metric.alias);
      const field = metric.name ? target.names.get(metric.name) : alias !== undefined ? target.aliases.get(alias) : undefined;
      if (field === undefined) {
        reject(result, SparkplugRejectReason.UNKNOWN_ALIAS, `${target.site}/${target.asset}: metric ${metric.name ? JSON.stringify(metric.name) : `alias ${alias}`} is not in the birth certificate; rebirth requested`);
        onUnknown?.();
        continue;
      }
      // Refused at birth already (UNKNOWN_METRIC); a null value is Sparkplug's "no value".
      if (field === null || metric.isNull || metric.value === null || metric.value === undefined) continue;
      const ts = toNumber(metric.timestamp) ?? at;
      const values = byTs.get(ts) ?? {};
      values[field] = fieldValue(metric);
      byTs.set(ts, values);
    }
    for (const [ts, values] of byTs) {
      result.messages.push({ topic: telemetryTopic(target.site, target.kind, target.asset), payload: Buffer.from(JSON.stringify({ ts, values })), receivedAt });
    }
  }

  private emitStatus(result: SparkplugResult, target: Target, online: boolean, receivedAt: number): void {
    result.messages.push({ topic: statusTopic(target.site, target.kind, target.asset), payload: Buffer.from(JSON.stringify({ online })), receivedAt });
  }

  private checkSeq(node: EdgeNode, group: string, nodeId: string, seq: number | undefined): void {
    if (seq === undefined) return;
    const expected = (node.seq + 1) % 256;
    node.seq = seq;
    if (seq !== expected) this.askRebirth(group, nodeId, node);
  }

  private askRebirth(group: string, nodeId: string, node: EdgeNode | undefined): void {
    const now = this.options.now();
    if (node) {
      if (now - node.rebirthAskedAt < REBIRTH_EVERY_MS) return;
      node.rebirthAskedAt = now;
    }
    this.rebirthRequests += 1;
    const payload = codec.encodePayload({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
    this.options.publish(`${SPARKPLUG_ROOT}/${group}/NCMD/${nodeId}`, Buffer.from(payload));
  }
}

function reject(result: SparkplugResult, reason: SparkplugRejectReason, detail: string): SparkplugResult {
  result.rejects.push({ reason, detail });
  return result;
}

/** Sparkplug's 64-bit integers (seq, timestamps, aliases, Int64 values) decode as Long. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && 'toNumber' in value && typeof value.toNumber === 'function') return (value.toNumber as () => number)();
  return undefined;
}

function fieldValue(metric: UMetric): unknown {
  const value = metric.value;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  const number = toNumber(value);
  if (number === undefined) return value;
  // A Float metric is 32-bit: 3.14 arrives as 3.140000104904175. Keep the digits it really has.
  return metric.type === 'Float' ? Number(Math.fround(number).toPrecision(7)) : number;
}
