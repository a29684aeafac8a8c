// mqtt-packet, under both mqtt.js (our subscriber) and aedes (the embedded broker), reads every
// field of every packet through bl's BufferList, whose readUInt8, readUInt16BE and toString slice
// a new Buffer for each read: ~600 bytes of garbage per message (bench/, BENCH_HEAP=all).
// Installed once per process, these read the bytes where they lie, and hand anything unusual (a
// field split across chunks, an offset out of range, a bl without `_bufs`) to bl's own method,
// so every answer and every error stays bl's (test/ingest/buffer-list-reads.test.ts).
import { createRequire } from 'node:module';

interface BufferListLike {
  _bufs: Buffer[];
  readUInt8(offset?: number): number;
  readUInt16BE(offset?: number): number;
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
}

type Prototype = BufferListLike & { [INSTALLED]?: true };
const INSTALLED = Symbol.for('hydrowatch.buffer-list-reads');

/** The BufferList prototypes mqtt-packet uses, as mqtt.js and aedes resolve it. */
function bufferListPrototypes(): Prototype[] {
  const here = createRequire(import.meta.url);
  const prototypes = new Set<Prototype>();
  for (const owner of ['mqtt', 'aedes']) {
    try {
      const fromOwner = createRequire(here.resolve(owner));
      const fromPacket = createRequire(fromOwner.resolve('mqtt-packet'));
      const bl = fromPacket('bl') as { prototype: Prototype; BufferList?: { prototype: Prototype } };
      prototypes.add(bl.prototype);
      if (bl.BufferList) prototypes.add(bl.BufferList.prototype);
    } catch {
      // Laid out otherwise: bl's own reads stay, which are correct, only slower.
    }
  }
  return [...prototypes];
}

export function installBufferListReads(prototypes: Prototype[] = bufferListPrototypes()): void {
  for (const prototype of prototypes) {
    if (prototype[INSTALLED]) continue;
    prototype[INSTALLED] = true;
    const { readUInt8, readUInt16BE, toString } = prototype;

    prototype.readUInt8 = function (this: BufferListLike, offset = 0) {
      const bufs = this._bufs;
      if ((offset | 0) === offset && offset >= 0 && Array.isArray(bufs)) {
        let at = offset;
        for (const buf of bufs) {
          if (at < buf.length) return buf[at]!;
          at -= buf.length;
        }
      }
      return readUInt8.call(this, offset);
    };

    prototype.readUInt16BE = function (this: BufferListLike, offset = 0) {
      const bufs = this._bufs;
      if ((offset | 0) === offset && offset >= 0 && Array.isArray(bufs)) {
        let at = offset;
        for (const buf of bufs) {
          if (at + 1 < buf.length) return (buf[at]! << 8) | buf[at + 1]!;
          if (at < buf.length) break;
          at -= buf.length;
        }
      }
      return readUInt16BE.call(this, offset);
    };

    prototype.toString = function (this: BufferListLike, encoding?: BufferEncoding, start?: number, end?: number) {
      const bufs = this._bufs;
      if (typeof start === 'number' && typeof end === 'number' && (start | 0) === start && (end | 0) === end && start >= 0 && end > start && Array.isArray(bufs)) {
        let at = start;
        for (const buf of bufs) {
          if (at < buf.length) {
            if (at + (end - start) <= buf.length) return buf.toString(encoding, at, at + (end - start));
            break;
          }
          at -= buf.length;
        }
      }
      return toString.call(this, encoding, start, end);
    };
  }
}
