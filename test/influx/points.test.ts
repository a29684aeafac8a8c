import { describe, expect, it } from 'vitest';
import { payloadForHumans, readingLine, rejectedLine } from '../../src/influx/points.js';
import { v1WritePath, flavourFromVersion } from '../../src/influx/client.js';

describe('line protocol', () => {
  it('writes a reading under its kind with site/asset tags, typed fields and a millisecond timestamp', () => {
    const line = readingLine({ site: 's1', kind: 'pump', asset: 'P-01', ts: 1_752_472_800_000, seq: 7, values: { running: true, flow_m3h: 410, fault_code: 3 } });
    expect(line).toBe('pump,asset=P-01,site=s1 fault_code=3i,flow_m3h=410,running=T,seq=7i 1752472800000');
  });

  it('keeps a rejected payload readable and on one line, whatever it contains', () => {
    const line = rejectedLine('PAYLOAD.BAD_JSON', 'hydrowatch/s1/pump/P"1/telemetry', Buffer.from('x\ny,z=1 "q"\\'), 'bad', 1);
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('reason=PAYLOAD.BAD_JSON');
    expect(payloadForHumans(Buffer.from([0xff, 0x00]))).toBe('base64:/wA=');
    expect(payloadForHumans(Buffer.from('a'.repeat(5000)))).toHaveLength(1025);
  });
});

describe('InfluxDB flavours', () => {
  it('reads the flavour from X-Influxdb-Version', () => {
    expect(flavourFromVersion('1.6.7~rc0')).toBe('v1');
    expect(flavourFromVersion('v2.7.11')).toBe('v2');
    expect(flavourFromVersion('3.0.1')).toBe('v2');
  });

  it('maps the v2 write path to 1.x with explicit precision names', () => {
    expect(v1WritePath('/api/v2/write?org=&bucket=hydrowatch&precision=ms')).toBe('/write?db=hydrowatch&precision=ms');
    expect(v1WritePath('/api/v2/write?org=o&bucket=hw%2Fraw&precision=ns')).toBe('/write?db=hw&rp=raw&precision=n');
    expect(v1WritePath('/api/v2/write?org=o&bucket=hw&precision=us')).toBe('/write?db=hw&precision=u');
  });
});
