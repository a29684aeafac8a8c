// What the service needs from the security config at start, checked before anything connects.
// Secure is the default: without HYDROWATCH_INSECURE=1 the service refuses to start, with one line
// naming the key, unless API tokens are configured and (embedded broker) the device registry exists.
import { existsSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import type { ApiSecurity } from '../api/auth.js';
import { type Config, ConfigError } from '../config.js';
import type { AuditEntry } from '../influx/points.js';
import type { Logger } from '../log.js';
import { type BrokerAccess, deviceAccess } from './broker-auth.js';
import { DeviceRegistry } from './devices.js';
import { tlsServerOptions } from './tls.js';
import { TokenVerifier } from './tokens.js';

export interface ServiceSecurity {
  /** The embedded broker's hooks; undefined in insecure mode (anyone may connect). */
  brokerAccess(metricsRegistry: Registry): BrokerAccess | undefined;
  mqttTls: { port: number; options: TlsOptions; plaintext: boolean } | undefined;
  https: TlsOptions | undefined;
  api(audit: (entry: AuditEntry) => Promise<void>): ApiSecurity;
}

export function prepareSecurity(config: Config, log: Logger): ServiceSecurity {
  const embedded = config.mqtt.url === undefined;
  const tokens = new TokenVerifier(config.api.tokens);
  let registry: DeviceRegistry | undefined;

  if (config.insecure) {
    log.warn('INSECURE MODE (HYDROWATCH_INSECURE=1): anonymous MQTT clients may publish and the HTTP API is open to anyone who can reach it');
    if (tokens.size > 0) log.warn('INSECURE MODE: api.tokens are configured but not checked');
  } else {
    if (tokens.size === 0) {
      throw new ConfigError(
        'config: api.tokens: no API tokens are configured; create one with `hydrowatch token add --name <who> --role admin` and add what it prints to the config (or set HYDROWATCH_INSECURE=1 for an open API)',
      );
    }
    if (embedded) {
      const path = config.mqtt.devicesFile;
      if (!existsSync(path)) {
        throw new ConfigError(
          `config: HYDROWATCH_DEVICES (mqtt.devicesFile): ${path} does not exist; register devices with \`hydrowatch device add --site … --kind … --asset … --file ${path}\` (or set HYDROWATCH_INSECURE=1 for anonymous MQTT)`,
        );
      }
      registry = new DeviceRegistry(path, log);
      if (registry.size === 0) log.warn(`device registry ${path} is empty: every MQTT connection will be refused until a device is added`);
      else log.info(`device registry ${path}: ${registry.size} credentials; anonymous MQTT is refused`);
    } else if (!config.mqtt.username) {
      log.warn(`MQTT_URL is set without MQTT_USERNAME: device authentication is left to the external broker`);
    }
  }

  let mqttTls: ServiceSecurity['mqttTls'];
  if (config.mqtt.tls) {
    if (embedded) mqttTls = { port: config.mqtt.tls.port, options: tlsServerOptions(config.mqtt.tls, 'mqtt.tls'), plaintext: config.mqtt.tls.plaintext };
    else log.warn('mqtt.tls configures the embedded broker, which is not started because MQTT_URL is set; ignored');
  }
  const https = config.http.tls ? tlsServerOptions(config.http.tls, 'http.tls') : undefined;

  return {
    brokerAccess(metricsRegistry) {
      if (!registry) return undefined;
      registry.watch();
      return deviceAccess(registry, log, metricsRegistry);
    },
    mqttTls,
    https,
    api: (audit) => ({
      insecure: config.insecure,
      tokens,
      openMetrics: config.api.openMetrics,
      rateLimit: config.api.rateLimit,
      bodyLimitBytes: config.api.bodyLimitBytes,
      audit,
      log,
    }),
  };
}
