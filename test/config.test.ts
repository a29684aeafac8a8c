import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../src/config.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({}, {});
    expect(config.mqtt.port).toBe(1883);
    expect(config.mqtt.url).toBeUndefined();
    expect(config.http.port).toBe(8080);
    expect(config.influx.url).toBe('http://127.0.0.1:8086');
    expect(config.influx.bucket).toBe('hydrowatch');
    expect(config.dataDir).toBe('./data');
    expect(config.insecure).toBe(false);
  });

  it('lets environment variables win over the file', () => {
    const config = parseConfig({ http: { port: 9000 }, influx: { bucket: 'from-file' } }, { HTTP_PORT: '9100', INFLUX_BUCKET: 'from-env', HYDROWATCH_INSECURE: '1' });
    expect(config.http.port).toBe(9100);
    expect(config.influx.bucket).toBe('from-env');
    expect(config.insecure).toBe(true);
  });

  it.each([
    [{ MQTT_PORT: 'abc' }, 'MQTT_PORT (mqtt.port)'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT (http.port)'],
    [{ INFLUX_URL: 'not a url' }, 'INFLUX_URL (influx.url)'],
    [{ MQTT_URL: 'ftp://x' }, 'MQTT_URL (mqtt.url)'],
    [{ ALERT_WEBHOOK_URL: '::' }, 'ALERT_WEBHOOK_URL (alerts.webhookUrl)'],
  ])('names the environment variable of a bad value: %j', (env, key) => {
    expect(() => parseConfig({}, env)).toThrow(ConfigError);
    try {
      parseConfig({}, env);
    } catch (error) {
      expect((error as Error).message).toContain(key);
      expect((error as Error).message.split('\n')).toHaveLength(1);
    }
  });

  it('names the YAML key of a bad value, including typos', () => {
    expect(() => parseConfig({ influx: { batchSize: 0 } }, {})).toThrow(/influx\.batchSize/);
    expect(() => parseConfig({ influx: { bukcet: 'x' } }, {})).toThrow(/unknown key\(s\) bukcet/);
    expect(() => parseConfig({ assets: [{ site: 's1', kind: 'pump', id: 'P 1', station: 'PS', ratedFlow_m3h: 400 }] }, {})).toThrow(/assets\.0\.id/);
  });

  it('reads a YAML file and refuses a broken one with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'http:\n  port: 8181\nassets:\n  - { site: s1, kind: weather, id: W-1 }\n');
    expect(loadConfig({}, good).assets[0]).toMatchObject({ site: 's1', kind: 'weather', id: 'W-1', region: 'default' });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'http: [unclosed\n');
    expect(() => loadConfig({}, bad)).toThrow(/bad\.yaml: not valid YAML/);
    expect(() => loadConfig({ HYDROWATCH_CONFIG: join(dir, 'missing.yaml') }, undefined)).toThrow(/HYDROWATCH_CONFIG: file .* does not exist/);
  });
});
