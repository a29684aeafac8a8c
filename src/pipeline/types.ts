// The small typed interfaces the pipeline stages pass along.
import type { AssetConfig } from '../config.js';
import type { Kind, Reading, RejectReason, StatusUpdate } from '../schema.js';

/** A message as it came off the broker, before anything is trusted. */
export interface InboundMessage {
  topic: string;
  payload: Buffer;
  /** Epoch ms when hydrowatch received it. */
  receivedAt: number;
}

/** A topic and payload that parsed: the JSON is not validated yet. */
export interface Decoded {
  channel: 'telemetry' | 'status' | 'command';
  site: string;
  kind: Kind;
  asset: string;
  body: unknown;
  receivedAt: number;
}

export interface EnrichedReading {
  reading: Reading;
  /** The registry entry; undefined for an unregistered asset (rules needing metadata skip it). */
  asset: AssetConfig | undefined;
}

export type StageResult<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export const ok = <T>(value: T): StageResult<T> => ({ ok: true, value });
export const rejected = <T>(reason: RejectReason, detail: string): StageResult<T> => ({ ok: false, reason, detail });

export interface CommandUpdate {
  site: string;
  kind: Kind;
  asset: string;
  command: 'start' | 'stop';
  ts: number;
}

export type Validated =
  | { channel: 'telemetry'; reading: Reading }
  | { channel: 'status'; status: StatusUpdate }
  | { channel: 'command'; command: CommandUpdate };

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
