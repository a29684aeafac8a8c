// The allocation-free reads installed on bl's BufferList must answer exactly as bl's own: the same
// numbers and strings, and the same errors out of range, however the bytes are split into chunks;
// and mqtt-packet must parse a packet split anywhere as it parses it whole.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { installBufferListReads } from '../../src/ingest/buffer-list-reads.js';

const here = createRequire(import.meta.url);
const fromPacket = createRequire(createRequire(here.resolve('mqtt')).resolve('mqtt-packet'));
const bl = fromPacket('bl') as { (): BufferList; BufferList: { prototype: BufferList } };
const mqttPacket = fromPacket('mqtt-packet') as {
  parser(options?: object): { on(event: string, listener: (value: unknown) => void): void; parse(chunk: Buffer): number };
  generate(packet: object): Buffer;
};
interface BufferList {
  append(buf: Buffer): BufferList;
  consume(bytes: number): BufferList;
  readUInt8(offset?: number): number;
  readUInt16BE(offset?: number): number;
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
}

// bl's own methods, taken before ours go in.
const stream = Object.getPrototypeOf(bl()) as BufferList;
const original = { readUInt8: stream.readUInt8, readUInt16BE: stream.readUInt16BE, toString: stream.toString };
installBufferListReads();

function random(seed: number): () => number {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}
const answer = (read: () => unknown): unknown => {
  try {
    return read();
  } catch (error) {
    return error instanceof Error ? `${error.constructor.name}: ${error.message}` : error;
  }
};

describe('BufferList reads', () => {
  it('are installed where mqtt-packet reads', () => {
    expect(stream.readUInt8).not.toBe(original.readUInt8);
    expect(bl.BufferList.prototype.readUInt16BE).not.toBe(original.readUInt16BE);
  });

  it('answer as bl does for 3,000 random chunkings, at every offset and range, in range or not', () => {
    const next = random(42);
    for (let n = 0; n < 3000; n++) {
      const list = bl();
      const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 24) }, () => Math.floor(next() * 256)));
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(next() * 6);
        list.append(bytes.subarray(at, at + size));
        at += size;
      }
      if (next() < 0.3) list.consume(Math.floor(next() * 4));
      const length = (list as unknown as { length: number }).length;
      for (let offset = -2; offset <= length + 2; offset++) {
        expect(answer(() => list.readUInt8(offset))).toEqual(answer(() => original.readUInt8.call(list, offset)));
        expect(answer(() => list.readUInt16BE(offset))).toEqual(answer(() => original.readUInt16BE.call(list, offset)));
        for (let end = offset; end <= length + 2; end += 1 + Math.floor(next() * 3)) {
          for (const encoding of ['utf8', 'latin1'] as const) {
            expect(answer(() => list.toString(encoding, offset, end))).toEqual(answer(() => original.toString.call(list, encoding, offset, end)));
          }
        }
      }
      expect(answer(() => list.readUInt8())).toEqual(answer(() => original.readUInt8.call(list)));
      expect(list.toString()).toEqual(original.toString.call(list));
    }
  });

  it('let mqtt-packet parse a PUBLISH split at any byte as it parses it whole', () => {
    const publish = { cmd: 'publish', topic: 'hydrowatch/north/pump/P-01/telemetry', payload: Buffer.from('{"ts":1752472800000,"values":{"flow_m3h":410.5}}'), qos: 1, messageId: 0xbeef, retain: false, dup: false };
    const wire = Buffer.concat([mqttPacket.generate(publish), mqttPacket.generate({ ...publish, messageId: 0x0102, topic: 'ü/€' })]);
    const parse = (chunks: Buffer[]): unknown[] => {
      const packets: unknown[] = [];
      const parser = mqttPacket.parser();
      parser.on('packet', (packet) => packets.push(packet));
      parser.on('error', (error) => packets.push(error));
      for (const chunk of chunks) parser.parse(chunk);
      return packets;
    };
    const whole = parse([wire]);
    expect(whole).toHaveLength(2);
    for (let cut = 1; cut < wire.length; cut++) expect(parse([wire.subarray(0, cut), wire.subarray(cut)])).toEqual(whole);
    for (let cut = 1; cut + 3 < wire.length; cut += 3) expect(parse([wire.subarray(0, cut), wire.subarray(cut, cut + 3), wire.subarray(cut + 3)])).toEqual(whole);
  });
});
