// What every contender (and every calibration baseline) looks like to the runner.
import type { LocalMosquitto } from '../../src/dev/mosquitto.js';

export interface BenchContext {
  /** Scratch space for this bench run (data dirs, flows, logs). */
  workDir: string;
  influxUrl: string;
  /** The external broker B, C and A-mosquitto use; also what the generator publishes to for them. */
  mosquitto: LocalMosquitto;
  /** Write CPU profiles of hydrowatch into this directory (node --cpu-prof). */
  profileDir?: string | undefined;
  log: (line: string) => void;
}

export interface Delivered {
  /** Zero the count before a step. */
  reset(): Promise<void>;
  /** Readings delivered since reset (the sink's count). */
  count(): Promise<number>;
}

export interface RunningContender {
  /** Where devices publish (mqtt://127.0.0.1:PORT). */
  brokerUrl: string;
  /** The InfluxDB database it writes to; undefined for broker calibration (counted by the sink instead). */
  db: string | undefined;
  /** Processes whose CPU and RSS are the contender's own. */
  pids(): number[];
  /** A separate broker process the contender relies on (Mosquitto), reported beside it. */
  brokerPid(): number | undefined;
  /** hydrowatch's alert topics are published here. */
  alertsUrl?: string | undefined;
  /** For the broker calibration: a no-op subscriber's count instead of InfluxDB. */
  delivered?: Delivered | undefined;
  /** Internal figures, for diagnosis only (BENCH_DEBUG): never part of a result. */
  stats?: (() => Promise<Record<string, unknown>>) | undefined;
  /** --profile: CPU profile of one step of hydrowatch. */
  profile?: { start(): Promise<void>; stop(label: string): Promise<void> } | undefined;
  stop(): Promise<void>;
}

export interface Contender {
  id: string;
  /** A (hydrowatch), B (floor), C (Node-RED), or cal (calibration). */
  group: 'A' | 'B' | 'C' | 'cal';
  label: string;
  /**
   * Readings/s it roughly sustains here: only where the ladder starts (a quarter of it), so that
   * a slow contender is not stepped past at once and a fast one does not take twenty steps.
   */
  expectedRate?: number;
  /** Installs what it needs (outside the timed part). */
  prepare?(ctx: BenchContext): Promise<void>;
  start(ctx: BenchContext, name: string): Promise<RunningContender>;
}
