// Simulated field devices: what each one reports and when (pure), and the MQTT clients that
// carry it (one client per device, each with its own last will, as real hardware has).
import { connect, type MqttClient } from 'mqtt';
import type { AssetConfig } from '../src/config.js';
import { statusTopic, telemetryTopic, type Kind } from '../src/schema.js';
import { LOCAL_UTC_OFFSET_MS } from './diurnal.js';
import { deviceValues, HYDRAULIC_STEP_MS, type NetworkState } from './network.js';
import { createRng, deriveSeed, type Rng } from './rng.js';

/** Reporting intervals in simulated time, inside design §6's ranges for each kind. */
export const REPORT_INTERVAL_MS: Record<Kind, number> = {
  pump: 5_000,
  reservoir: 30_000,
  canal: 30_000,
  meter: 15_000,
  weather: 5 * 60_000,
};

/** Field devices disagree on timestamp formats; the simulators use every form design §2 allows. */
export type TimestampFormat = 'epoch-ms' | 'iso-utc' | 'iso-local';
export const TIMESTAMP_FORMAT: Record<Kind, TimestampFormat> = {
  pump: 'epoch-ms',
  reservoir: 'epoch-ms',
  canal: 'epoch-ms',
  meter: 'iso-local',
  weather: 'iso-utc',
};

export const ONLINE_PAYLOAD = JSON.stringify({ online: true });
export const OFFLINE_PAYLOAD = JSON.stringify({ online: false });

/** One telemetry message as it goes on the wire. */
export interface TelemetryMessage {
  topic: string;
  payload: string;
  tsMs: number;
}

/**
 * Anything a simulated device puts on the wire: its telemetry, its retained status, or what a
 * scenario makes of them (garbage bytes included). QoS 1 and no retain unless it says otherwise.
 */
export interface WireMessage {
  topic: string;
  payload: string | Buffer;
  /** Simulated time it was sent. */
  tsMs: number;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface SimulatedDevice {
  readonly asset: AssetConfig;
  readonly clientId: string;
  readonly telemetryTopic: string;
  readonly statusTopic: string;
  readonly reportInterval_ms: number;
  readonly timestampFormat: TimestampFormat;
  /** The instrument's own noise stream, so devices do not disturb each other's noise. */
  readonly noise: Rng;
  nextReportMs: number;
  seq: number;
}

export const deviceClientId = (asset: AssetConfig): string => `sim-${asset.site}-${asset.id}`;

/**
 * One device per asset. Devices start out of phase with each other (a seeded offset, a whole
 * number of hydraulic steps), like field hardware switched on at different moments.
 */
export function createDevices(assets: readonly AssetConfig[], seed: number, startMs: number): SimulatedDevice[] {
  return assets.map((asset) => {
    const clientId = deviceClientId(asset);
    const noise = createRng(deriveSeed(seed, clientId));
    const reportInterval_ms = REPORT_INTERVAL_MS[asset.kind];
    const stepsPerReport = Math.max(1, Math.round(reportInterval_ms / HYDRAULIC_STEP_MS));
    const phaseSteps = 1 + Math.floor(noise.next() * stepsPerReport);
    return {
      asset,
      clientId,
      telemetryTopic: telemetryTopic(asset.site, asset.kind, asset.id),
      statusTopic: statusTopic(asset.site, asset.kind, asset.id),
      reportInterval_ms,
      timestampFormat: TIMESTAMP_FORMAT[asset.kind],
      noise,
      nextReportMs: startMs + phaseSteps * HYDRAULIC_STEP_MS,
      seq: 0,
    };
  });
}

export const isDue = (device: SimulatedDevice, simTimeMs: number): boolean => device.nextReportMs <= simTimeMs;

/** Read the device's instruments now, and schedule its next report. */
export function takeReading(device: SimulatedDevice, network: NetworkState, simTimeMs: number): TelemetryMessage {
  device.seq += 1;
  device.nextReportMs += device.reportInterval_ms;
  const values = deviceValues(network, device.asset, device.noise);
  const payload = JSON.stringify({ ts: formatTimestamp(simTimeMs, device.timestampFormat), seq: device.seq, values });
  return { topic: device.telemetryTopic, payload, tsMs: simTimeMs };
}

export function formatTimestamp(epochMs: number, format: TimestampFormat): number | string {
  switch (format) {
    case 'epoch-ms':
      return epochMs;
    case 'iso-utc':
      return new Date(epochMs).toISOString();
    case 'iso-local':
      // Asia/Shanghai wall-clock time with its +08:00 offset, as a local RTU would stamp it.
      return new Date(epochMs + LOCAL_UTC_OFFSET_MS).toISOString().replace('Z', '+08:00');
  }
}

export interface BrokerOptions {
  brokerUrl: string;
  username?: string;
  password?: string;
  log?: (line: string) => void;
  connectTimeoutMs?: number;
}

export interface DeviceClients {
  /** Publish through the device's own client (QoS 1 unless the message says); `done` runs on PUBACK or error. */
  publish(device: SimulatedDevice, message: WireMessage, done: (error?: Error) => void): void;
  /**
   * Disconnect every device. Cleanly by default: each says `{"online":false}` itself and sends
   * DISCONNECT, so no will fires. `kill` drops the connections without DISCONNECT, so the
   * broker publishes each device's will. Safe to call twice.
   */
  close(options?: { kill?: boolean }): Promise<void>;
}

/** Connect one MQTT client per device; resolves once all are connected, rejects on the first failure. */
export async function connectDevices(devices: readonly SimulatedDevice[], broker: BrokerOptions): Promise<DeviceClients> {
  const log = broker.log ?? (() => {});
  const clients = new Map<string, MqttClient>();
  const firstConnections = devices.map((device) => {
    const client = connect(broker.brokerUrl, {
      clientId: device.clientId,
      username: broker.username,
      password: broker.password,
      clean: true,
      reconnectPeriod: 2_000,
      connectTimeout: broker.connectTimeoutMs ?? 10_000,
      will: { topic: device.statusTopic, payload: OFFLINE_PAYLOAD, qos: 1, retain: true },
    });
    clients.set(device.clientId, client);
    // Announce on every (re)connection: the will may have replaced the retained status meanwhile.
    client.on('connect', () => client.publish(device.statusTopic, ONLINE_PAYLOAD, { qos: 1, retain: true }));
    let connectedOnce = false;
    // A listener must always be there: an unheard 'error' event would crash the process.
    client.on('error', (error) => {
      if (connectedOnce) log(`simulator: ${device.clientId}: ${error.message}`);
    });
    client.on('offline', () => log(`simulator: ${device.clientId}: offline, reconnecting`));
    return new Promise<void>((resolve, reject) => {
      client.once('connect', () => {
        connectedOnce = true;
        resolve();
      });
      client.once('error', reject);
    });
  });

  try {
    await Promise.all(firstConnections);
  } catch (error) {
    await Promise.all([...clients.values()].map((client) => client.endAsync(true).catch(() => {})));
    throw new Error(`simulator: cannot connect to ${broker.brokerUrl}: ${error instanceof Error ? error.message : String(error)}`);
  }
  log(`simulator: ${devices.length} devices connected to ${broker.brokerUrl}`);

  let closing: Promise<void> | undefined;
  return {
    publish(device, message, done) {
      const client = clients.get(device.clientId);
      if (!client) return done(new Error(`simulator: no client for ${device.clientId}`));
      client.publish(message.topic, message.payload, { qos: message.qos ?? 1, retain: message.retain ?? false }, (error) => done(error));
    },
    close(options = {}) {
      closing ??= Promise.all(
        devices.map((device) => {
          const client = clients.get(device.clientId)!;
          return options.kill || !client.connected ? client.endAsync(true) : closeCleanly(client, device);
        }),
      ).then(() => undefined);
      return closing;
    },
  };
}

async function closeCleanly(client: MqttClient, device: SimulatedDevice): Promise<void> {
  await client.publishAsync(device.statusTopic, OFFLINE_PAYLOAD, { qos: 1, retain: true });
  await client.endAsync();
}
