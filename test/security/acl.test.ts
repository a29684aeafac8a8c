// The broker ACL as pure functions: what a device, a site credential and a monitor may do.
import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, type Scope } from '../../src/security/acl.js';

const pump: Scope = { role: 'device', site: 'plant1', kind: 'pump', asset: 'P-01' };
const site: Scope = { role: 'device', site: 'plant1' };
const monitor: Scope = { role: 'monitor' };

describe('canPublish', () => {
  it('lets a device publish its own telemetry, status and command topics', () => {
    for (const channel of ['telemetry', 'status', 'command']) expect(canPublish(pump, `hydrowatch/plant1/pump/P-01/${channel}`), channel).toBe(true);
  });

  it.each([
    ['another site', 'hydrowatch/north/pump/P-01/telemetry'],
    ['another asset of its site', 'hydrowatch/plant1/pump/P-02/telemetry'],
    ['its asset under another kind', 'hydrowatch/plant1/meter/P-01/telemetry'],
    ['a channel that is not its', 'hydrowatch/plant1/pump/P-01/config'],
    ['a level below its channel', 'hydrowatch/plant1/pump/P-01/telemetry/x'],
    ['the alert topics', 'hydrowatch/alerts/plant1/P-01/low_level'],
    ['$SYS', '$SYS/broker/clients'],
    ['outside hydrowatch/', 'other/plant1/pump/P-01/telemetry'],
    ['a + wildcard', 'hydrowatch/plant1/pump/+/telemetry'],
    ['a # wildcard', 'hydrowatch/plant1/pump/P-01/#'],
    ['an empty level', 'hydrowatch/plant1/pump//telemetry'],
    ['a bad asset id', 'hydrowatch/plant1/pump/P 01/telemetry'],
  ])('refuses a device publishing to %s', (_what, topic) => {
    expect(canPublish(pump, topic)).toBe(false);
  });

  it('lets a site credential publish for any asset and kind of its site, and only its site', () => {
    expect(canPublish(site, 'hydrowatch/plant1/pump/P-02/telemetry')).toBe(true);
    expect(canPublish(site, 'hydrowatch/plant1/reservoir/R-1/status')).toBe(true);
    expect(canPublish(site, 'hydrowatch/plant1/boiler/B-1/telemetry')).toBe(false);
    expect(canPublish(site, 'hydrowatch/north/pump/P-02/telemetry')).toBe(false);
    expect(canPublish(site, 'hydrowatch/plant1/pump/+/telemetry')).toBe(false);
  });

  it('never lets a monitor publish', () => {
    expect(canPublish(monitor, 'hydrowatch/plant1/pump/P-01/telemetry')).toBe(false);
  });
});

describe('canSubscribe', () => {
  it('lets a device subscribe to its own command topic and below it', () => {
    expect(canSubscribe(pump, 'hydrowatch/plant1/pump/P-01/command')).toBe(true);
    expect(canSubscribe(pump, 'hydrowatch/plant1/pump/P-01/command/#')).toBe(true);
    expect(canSubscribe(pump, 'hydrowatch/plant1/pump/P-01/command/+')).toBe(true);
  });

  it.each([
    ['$SYS', '$SYS/#'],
    ['$SYS, one level', '$SYS/broker/clients/connected'],
    ['everything', '#'],
    ['a wildcard first level', '+/plant1/pump/P-01/command'],
    ['another asset’s commands', 'hydrowatch/plant1/pump/P-02/command'],
    ['every asset’s commands', 'hydrowatch/plant1/pump/+/command'],
    ['another site', 'hydrowatch/north/pump/P-01/command'],
    ['its own telemetry', 'hydrowatch/plant1/pump/P-01/telemetry'],
    ['all of its own topics', 'hydrowatch/plant1/pump/P-01/#'],
    ['the alert topics', 'hydrowatch/alerts/#'],
    ['a shared subscription', '$share/g/hydrowatch/plant1/pump/P-01/command'],
    ['a malformed filter', 'hydrowatch/plant1/pump/P-01/command/a#'],
  ])('refuses a device subscribing to %s', (_what, filter) => {
    expect(canSubscribe(pump, filter)).toBe(false);
  });

  it('lets a site credential subscribe to the command topics of its site only', () => {
    expect(canSubscribe(site, 'hydrowatch/plant1/+/+/command')).toBe(true);
    expect(canSubscribe(site, 'hydrowatch/plant1/pump/P-07/command')).toBe(true);
    expect(canSubscribe(site, 'hydrowatch/+/+/+/command')).toBe(false);
    expect(canSubscribe(site, 'hydrowatch/plant1/#')).toBe(false);
  });

  it('lets a monitor read under hydrowatch/ but not $SYS or everything', () => {
    expect(canSubscribe(monitor, 'hydrowatch/#')).toBe(true);
    expect(canSubscribe(monitor, 'hydrowatch/alerts/#')).toBe(true);
    expect(canSubscribe(monitor, '#')).toBe(false);
    expect(canSubscribe(monitor, '$SYS/#')).toBe(false);
    expect(canSubscribe(monitor, '+/#')).toBe(false);
  });
});
