// Sparkplug B for real: an edge node simulated by `sparkplug-client` (the Eclipse Tahu client)
// talks to the embedded broker. Births declare aliases, data comes by alias, an unknown metric is
// dead-lettered, a lost message (seq out of order) gets a rebirth request, and deaths (DDEATH, and
// NDEATH as the MQTT will) mark the asset offline at once.
import { newClient, type UPayload } from 'sparkplug-client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const ASSETS = [{ site: 'works', kind: 'pump', id: 'P-7', station: 'works-ps', ratedFlow_m3h: 500 }];

describe('Sparkplug B edge nodes', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('are ingested through their birth certificates, asked to rebirth on a seq gap, and offline on death', async () => {
    const t: TestService = await startTestService(inject('influxUrl'), { assets: ASSETS, sparkplug: { metrics: { 'Pump/Flow': 'flow_m3h', 'Pump/Discharge': 'discharge_bar' } } });
    cleanups.push(() => t.close());

    const edge = newClient({ serverUrl: t.service.mqttUrl, username: 'edge', password: 'edge', groupId: 'works', edgeNode: 'edge-1', clientId: `edge-1-${process.pid}`, publishDeath: true, mqttOptions: { reconnectPeriod: 0 } });
    cleanups.push(async () => edge.stop());
    const commands: UPayload[] = [];
    const T0 = Date.now() - 60_000;
    const born = () => {
      edge.publishNodeBirth({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }] });
      edge.publishDeviceBirth('P-7', {
        timestamp: T0,
        metrics: [
          { name: 'Pump/Flow', alias: 1, type: 'Float', value: 410.5 },
          { name: 'running', alias: 2, type: 'Boolean', value: true },
          { name: 'Pump/Discharge', alias: 3, type: 'Double', value: 4.25 },
          { name: 'Pump/Colour', alias: 4, type: 'String', value: 'blue' },
        ],
      });
    };
    let births = 0;
    edge.on('birth', () => {
      births += 1;
      born();
    });
    edge.on('ncmd', (payload) => {
      commands.push(payload);
      if (payload.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) {
        births += 1;
        born();
      }
    });
    await eventually(() => expect(t.service.live.get('works', 'P-7')?.online).toBe(true), 10_000);

    // Data by alias only; a Float is 32-bit (3.14 arrives as 3.140000104904175).
    edge.publishDeviceData('P-7', { timestamp: T0 + 1000, metrics: [{ alias: 1, type: 'Float', value: 3.14 } as never, { alias: 3, type: 'Double', value: 5.5 } as never] });
    edge.publishDeviceData('P-7', { timestamp: T0 + 2000, metrics: [{ alias: 2, type: 'Boolean', value: false } as never] });
    const rows = () => t.rows(`SELECT "flow_m3h", "running", "discharge_bar" FROM "pump" WHERE "asset" = 'P-7'`);
    await eventually(async () => expect(await rows()).toHaveLength(3), 10_000, 100);
    expect(await rows()).toEqual([
      { time: T0, flow_m3h: 410.5, running: true, discharge_bar: 4.25 },
      { time: T0 + 1000, flow_m3h: 3.14, running: null, discharge_bar: 5.5 },
      { time: T0 + 2000, flow_m3h: null, running: false, discharge_bar: null },
    ]);
    // The metric that is no pump field was refused once, at birth, with its reason.
    await eventually(async () => expect(await t.rows(`SELECT "detail" FROM "rejected" WHERE "reason" = 'SPARKPLUG.UNKNOWN_METRIC'`)).toHaveLength(1), 5000, 100);
    expect(commands).toEqual([]);

    // A message goes missing (seq jumps): hydrowatch asks the edge node to be born again.
    (edge as unknown as { seq: number }).seq += 5;
    edge.publishDeviceData('P-7', { timestamp: T0 + 3000, metrics: [{ alias: 1, type: 'Float', value: 400 } as never] });
    await eventually(() => expect(commands).toHaveLength(1), 5000);
    expect(commands[0]!.metrics).toEqual([expect.objectContaining({ name: 'Node Control/Rebirth', value: true })]);
    await eventually(() => expect(births).toBe(2), 5000);

    // An alias nobody declared: refused, and the edge node is asked for its birth certificate again.
    edge.publishDeviceData('P-7', { timestamp: T0 + 4000, metrics: [{ alias: 99, type: 'Float', value: 1 } as never] });
    await eventually(async () => expect(await t.rows(`SELECT "detail" FROM "rejected" WHERE "reason" = 'SPARKPLUG.UNKNOWN_ALIAS'`)).toHaveLength(1), 5000, 100);
    await eventually(() => expect(births).toBe(3), 5000);
    expect(commands).toHaveLength(2);

    // DDEATH: offline at once.
    edge.publishDeviceDeath('P-7', { timestamp: Date.now() });
    await eventually(() => expect(t.service.live.get('works', 'P-7')?.online).toBe(false), 5000);
    edge.publishDeviceBirth('P-7', { timestamp: T0 + 5000, metrics: [{ name: 'Pump/Flow', alias: 1, type: 'Float', value: 420 }] });
    await eventually(() => expect(t.service.live.get('works', 'P-7')?.online).toBe(true), 5000);

    // The edge node's connection dies: its will (NDEATH) takes its devices offline.
    (edge as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await eventually(() => expect(t.service.live.get('works', 'P-7')?.online).toBe(false), 5000);
    await eventually(async () => expect((await t.rows(`SELECT "online" FROM "status" WHERE "asset" = 'P-7'`)).map((r) => r.online)).toEqual([true, true, true, false, true, false]), 5000, 100);
  });
});
