// The load generator: N simulated pumps, each its own MQTT connection, publishing ~200-byte
// readings (9 fields, `seq`, send time as `ts`) at QoS 1 at a fixed total rate. It runs in a
// child process so it never shares an event loop with a contender, and speaks MQTT through the
// small codec in mqtt-wire.ts (pre-built topics, one slab of memory for packets) to stay light.
//
// 1 % of readings cross the alert threshold (motor_temp_c 121.5 °C against the bench rule's
// 110 °C): reading k of device d crosses when (k + d) % 100 === 0, so crossings are spread over
// time and devices, and the next reading of that device clears the alert again.
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { DISCONNECT, mqttConnect, Packet, PacketReader, PINGREQ, PublishEncoder } from './mqtt-wire.js';
import { Child, serveChild, sleep } from './lib/proc.js';

export const BENCH_SITE = 'bench';
export const ALERT_FIELD = 'motor_temp_c';
export const ALERT_ABOVE = 110;
export const assetName = (index: number): string => `d${String(index).padStart(5, '0')}`;
export const telemetryTopicOf = (index: number): string => `hydrowatch/${BENCH_SITE}/pump/${assetName(index)}/telemetry`;

export interface StepRequest {
  /** Readings per second, all devices together. */
  rate: number;
  durationMs: number;
  /** QoS 1 messages a device may have unacknowledged; a device at its window waits (and the rate falls behind). */
  window: number;
  /** How long after the last publish to wait for the last PUBACK. */
  ackTimeoutMs: number;
}

export interface StepResult {
  rate: number;
  durationMs: number;
  sent: number;
  acked: number;
  unacked: number;
  /** Readings/s actually published (sent / duration). */
  achieved: number;
  /** Time from the first publish to the last PUBACK. */
  elapsedMs: number;
  /** Wall clock (epoch ms) of the first publish and of the last PUBACK: the runner lines them up with InfluxDB. */
  startWall: number;
  lastAckWall: number;
  /** Smallest and largest `ts` sent in this step (the step's window in InfluxDB). */
  minTs: number;
  maxTs: number;
  /** Per device (index from the generator's first device): first and last seq sent in this step, -1 if none. */
  firstSeq: number[];
  lastSeq: number[];
  /** publish → PUBACK, sampled 1 in 64, ms. */
  ackP50Ms: number;
  ackP99Ms: number;
  disconnects: number;
  generatorCpuS: number;
}

const VALUE_VARIANTS = Array.from({ length: 50 }, (_, i) => {
  const wobble = (scale: number, base: number, digits: number) => (base + Math.sin(i * 1.7 + scale) * scale).toFixed(digits);
  return `{"running":true,"flow_m3h":${wobble(30, 410, 1)},"suction_bar":${wobble(0.15, 0.75, 2)},"discharge_bar":${wobble(0.25, 4.25, 2)},"power_kw":${wobble(10, 180, 1)},"speed_rpm":${wobble(10, 1480, 0)},"${ALERT_FIELD}":${wobble(7, 67, 1)},"vibration_mms":${wobble(0.7, 2.2, 2)},"fault_code":0}`;
});
const CROSSING = VALUE_VARIANTS[0]!.replace(/"motor_temp_c":[\d.]+/, `"${ALERT_FIELD}":121.5`);
export const SAMPLE_PAYLOAD = `{"ts":1752472800000,"seq":123456,"values":${VALUE_VARIANTS[1]}}`;

/** The JSON a device sends: ~200 bytes, 9 fields; 1 in 100 crosses the alert threshold. */
export function readingPayload(deviceIndex: number, seq: number, ts: number): string {
  const variant = (seq + deviceIndex) % 100 === 0 ? CROSSING : VALUE_VARIANTS[seq % VALUE_VARIANTS.length]!;
  return `{"ts":${ts},"seq":${seq},"values":${variant}}`;
}

interface Device {
  index: number;
  encoder: PublishEncoder;
  socket: net.Socket | undefined;
  alive: boolean;
  inflight: number;
  nextId: number;
  seq: number;
  lastTs: number;
  stepFirstSeq: number;
  stepLastSeq: number;
  sampled: Map<number, number>;
}

// ---------------------------------------------------------------------------------------------
// Child side

const SLAB_BYTES = 256 * 1024;
const TICK_MS = 5;

function generatorMain(): void {
  let devices: Device[] = [];
  let cursor = 0;
  let inflightTotal = 0;
  let acked = 0;
  let lastAckWall = 0;
  let disconnects = 0;
  let sampleCounter = 0;
  let slab = Buffer.allocUnsafe(SLAB_BYTES);
  let slabOffset = 0;
  let ackHistogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 2 });
  let pingTimer: NodeJS.Timeout | undefined;

  const onPuback = (device: Device, body: Buffer, start: number): void => {
    const id = (body[start]! << 8) | body[start + 1]!;
    device.inflight -= 1;
    inflightTotal -= 1;
    acked += 1;
    lastAckWall = Date.now();
    const sentAt = device.sampled.get(id);
    if (sentAt !== undefined) {
      device.sampled.delete(id);
      // Microseconds, so sub-millisecond acknowledgements keep their resolution.
      ackHistogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
    }
  };

  async function connect(message: { host: string; port: number; from: number; count: number; clientPrefix: string; keepaliveS: number; concurrency: number }): Promise<Record<string, unknown>> {
    const started = performance.now();
    devices = Array.from({ length: message.count }, (_, i) => ({
      index: message.from + i,
      encoder: new PublishEncoder(telemetryTopicOf(message.from + i)),
      socket: undefined,
      alive: false,
      inflight: 0,
      nextId: 1,
      seq: 0,
      lastTs: 0,
      stepFirstSeq: -1,
      stepLastSeq: -1,
      sampled: new Map(),
    }));
    let next = 0;
    let failed = 0;
    let firstError: string | undefined;
    const worker = async (): Promise<void> => {
      while (next < devices.length) {
        const device = devices[next++]!;
        try {
          const { socket, rest } = await mqttConnect(message.host, message.port, `${message.clientPrefix}-${device.index}`, message.keepaliveS);
          device.socket = socket;
          device.alive = true;
          const reader = new PacketReader((type, _flags, body, start) => {
            if (type === Packet.PUBACK) onPuback(device, body, start);
          });
          if (rest.length > 0) reader.push(rest);
          socket.on('data', (chunk: Buffer) => reader.push(chunk));
          socket.on('error', () => undefined);
          socket.on('close', () => {
            if (device.alive) disconnects += 1;
            device.alive = false;
            inflightTotal -= device.inflight;
            device.inflight = 0;
          });
        } catch (error) {
          failed += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    };
    await Promise.all(Array.from({ length: message.concurrency }, worker));
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      for (const device of devices) if (device.alive) device.socket!.write(PINGREQ);
    }, (message.keepaliveS * 1000) / 2);
    pingTimer.unref();
    return { connected: devices.length - failed, failed, firstError, ms: Math.round(performance.now() - started) };
  }

  function send(device: Device, wallNow: number, firstSeq: number[], lastSeq: number[]): number {
    const ts = wallNow > device.lastTs ? wallNow : device.lastTs + 1;
    device.lastTs = ts;
    const seq = device.seq++;
    const payload = readingPayload(device.index, seq, ts);
    const id = device.nextId;
    device.nextId = id === 65_535 ? 1 : id + 1;
    if (slabOffset + device.encoder.maxSize(payload.length) > slab.length) {
      slab = Buffer.allocUnsafe(SLAB_BYTES);
      slabOffset = 0;
    }
    const end = device.encoder.encode(slab, slabOffset, id, payload);
    device.socket!.write(slab.subarray(slabOffset, end));
    slabOffset = end;
    device.inflight += 1;
    inflightTotal += 1;
    const local = device.index - devices[0]!.index;
    if (firstSeq[local]! < 0) firstSeq[local] = seq;
    lastSeq[local] = seq;
    if ((sampleCounter++ & 63) === 0) device.sampled.set(id, performance.now());
    return ts;
  }

  async function runStep(step: StepRequest): Promise<StepResult> {
    const cpuBefore = process.cpuUsage();
    const firstSeq = new Array<number>(devices.length).fill(-1);
    const lastSeq = new Array<number>(devices.length).fill(-1);
    ackHistogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 2 });
    for (const device of devices) device.sampled.clear();
    const ackedBefore = acked;
    let sent = 0;
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = 0;
    const t0 = performance.now();
    const startWall = Date.now();
    lastAckWall = startWall;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const elapsed = Math.min(now - t0, step.durationMs);
        let due = Math.floor((step.rate * elapsed) / 1000) - sent;
        if (due > 0) {
          const wallNow = Date.now();
          let tried = 0;
          while (due > 0 && tried < devices.length) {
            const device = devices[cursor]!;
            cursor = cursor + 1 === devices.length ? 0 : cursor + 1;
            if (!device.alive || device.inflight >= step.window) {
              tried += 1;
              continue;
            }
            tried = 0;
            const ts = send(device, wallNow, firstSeq, lastSeq);
            if (ts < minTs) minTs = ts;
            if (ts > maxTs) maxTs = ts;
            sent += 1;
            due -= 1;
          }
        }
        if (now - t0 >= step.durationMs) resolve();
        else setTimeout(tick, TICK_MS);
      };
      tick();
    });
    const sendEnded = performance.now();
    while (inflightTotal > 0 && performance.now() - sendEnded < step.ackTimeoutMs) await sleep(2);
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      rate: step.rate,
      durationMs: step.durationMs,
      sent,
      acked: acked - ackedBefore,
      unacked: inflightTotal,
      achieved: Math.round(sent / (step.durationMs / 1000)),
      elapsedMs: Math.round(elapsedMs),
      startWall,
      lastAckWall,
      minTs: sent > 0 ? minTs : 0,
      maxTs,
      firstSeq,
      lastSeq,
      ackP50Ms: ackHistogram.totalCount > 0 ? ackHistogram.getValueAtPercentile(50) / 1000 : Number.NaN,
      ackP99Ms: ackHistogram.totalCount > 0 ? ackHistogram.getValueAtPercentile(99) / 1000 : Number.NaN,
      disconnects,
      generatorCpuS: (cpu.user + cpu.system) / 1e6,
    };
  }

  async function disconnect(): Promise<Record<string, unknown>> {
    clearInterval(pingTimer);
    const closing = devices.map(
      (device) =>
        new Promise<void>((resolve) => {
          const socket = device.socket;
          device.alive = false;
          if (!socket || socket.destroyed) return resolve();
          const timer = setTimeout(() => {
            socket.destroy();
            resolve();
          }, 3000);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          socket.end(DISCONNECT);
        }),
    );
    await Promise.all(closing);
    devices = [];
    inflightTotal = 0;
    return {};
  }

  serveChild(
    async (message) => {
      switch (message.type) {
        case 'connect':
          return connect(message as never);
        case 'step':
          return { result: await runStep(message.step as StepRequest) };
        case 'disconnect':
          return disconnect();
        default:
          throw new Error(`unknown request ${String(message.type)}`);
      }
    },
    async () => {
      await disconnect().catch(() => undefined);
    },
  );
  process.send?.({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------------
// Parent side

export class LoadGenerator {
  private constructor(private readonly child: Child) {}

  static async start(): Promise<LoadGenerator> {
    const { child } = await Child.start('load', fileURLToPath(import.meta.url), ['--generator']);
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Opens `count` device connections to host:port (devices from..from+count-1). */
  async connect(url: string, count: number, clientPrefix: string, from = 0): Promise<{ connected: number; failed: number; ms: number }> {
    const { hostname, port } = new URL(url);
    const reply = await this.child.request<{ connected: number; failed: number; firstError?: string; ms: number }>(
      { type: 'connect', host: hostname, port: Number(port), from, count, clientPrefix, keepaliveS: 60, concurrency: 64 },
      180_000,
    );
    if (reply.failed > 0) throw new Error(`${reply.failed} of ${count} devices could not connect to ${url}: ${reply.firstError ?? ''}`);
    return reply;
  }

  async step(step: StepRequest): Promise<StepResult> {
    const reply = await this.child.request<{ result: StepResult }>({ type: 'step', step }, step.durationMs + step.ackTimeoutMs + 60_000);
    return reply.result;
  }

  async disconnect(): Promise<void> {
    await this.child.request({ type: 'disconnect' }, 60_000);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--generator') generatorMain();
