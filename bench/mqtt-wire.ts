// A minimal MQTT 3.1.1 codec for the load generator and the no-op subscriber: CONNECT, PUBLISH
// (QoS 0/1), PUBACK, SUBSCRIBE, PINGREQ, DISCONNECT. mqtt.js costs ~10× more CPU per message,
// and on a 2-core machine every cycle the generator burns is taken from the contender.
import net from 'node:net';

export const enum Packet {
  CONNACK = 2,
  PUBLISH = 3,
  PUBACK = 4,
  SUBACK = 9,
  PINGRESP = 13,
}

function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return bytes;
}

function utf8Field(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

export function connectPacket(clientId: string, keepaliveS: number, cleanSession = true): Buffer {
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, cleanSession ? 0x02 : 0x00, keepaliveS >> 8, keepaliveS & 0xff]);
  const payload = utf8Field(clientId);
  const length = variable.length + payload.length;
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(length)]), variable, payload]);
}

export function subscribePacket(packetId: number, filter: string, qos: 0 | 1): Buffer {
  const body = Buffer.concat([Buffer.from([packetId >> 8, packetId & 0xff]), utf8Field(filter), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([0x82, ...remainingLength(body.length)]), body]);
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

export function pubackPacket(packetId: number): Buffer {
  return Buffer.from([0x40, 0x02, packetId >> 8, packetId & 0xff]);
}

/** A QoS 1 PUBLISH to one fixed topic: the header and topic are built once, per message only the id and payload. */
export class PublishEncoder {
  private readonly topic: Buffer;

  constructor(topic: string) {
    this.topic = utf8Field(topic);
  }

  /** Writes the packet into `out` at `offset`; returns the new offset. `out` must have room (see maxSize). */
  encode(out: Buffer, offset: number, packetId: number, payload: string): number {
    const payloadBytes = Buffer.byteLength(payload);
    let length = this.topic.length + 2 + payloadBytes;
    out[offset++] = 0x32;
    do {
      let byte = length % 128;
      length = Math.floor(length / 128);
      if (length > 0) byte |= 0x80;
      out[offset++] = byte;
    } while (length > 0);
    offset += this.topic.copy(out, offset);
    out[offset++] = packetId >> 8;
    out[offset++] = packetId & 0xff;
    offset += out.write(payload, offset, 'latin1');
    return offset;
  }

  maxSize(payloadBytes: number): number {
    return 1 + 4 + this.topic.length + 2 + payloadBytes;
  }
}

/** Splits a byte stream into packets; hands each to `onPacket`. */
export class PacketReader {
  private pending: Buffer | undefined;

  constructor(private readonly onPacket: (type: number, flags: number, body: Buffer, start: number, end: number) => void) {}

  push(chunk: Buffer): void {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    while (offset < data.length) {
      if (data.length - offset < 2) break;
      const header = data[offset]!;
      let length = 0;
      let multiplier = 1;
      let cursor = offset + 1;
      let complete = false;
      for (let i = 0; i < 4 && cursor < data.length; i++) {
        const byte = data[cursor++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || cursor + length > data.length) break;
      this.onPacket(header >> 4, header & 0x0f, data, cursor, cursor + length);
      offset = cursor + length;
    }
    if (offset < data.length) this.pending = Buffer.from(data.subarray(offset));
  }
}

/** Opens a TCP connection and completes the MQTT handshake; rejects on a refused CONNACK or a timeout. */
export function mqttConnect(host: string, port: number, clientId: string, keepaliveS: number, timeoutMs = 15_000): Promise<{ socket: net.Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`CONNACK timeout for ${clientId}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      socket.off('data', onData);
      socket.off('error', fail);
      clearTimeout(timer);
      if (buffered[0] !== 0x20 || buffered[3] !== 0) {
        socket.destroy();
        reject(new Error(`CONNACK refused for ${clientId}: return code ${buffered[3]}`));
        return;
      }
      // Anything after the CONNACK belongs to the caller's reader.
      resolve({ socket, rest: buffered.subarray(4) });
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('connect', () => socket.write(connectPacket(clientId, keepaliveS)));
  });
}
