// Wires the pieces together in the order data flows, and takes them down in reverse.
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './api/app.js';
import type { HealthReport } from './api/routes/health.js';
import { type Config, ConfigError } from './config.js';
import { InfluxClient, quoteIdent } from './influx/client.js';
import { type EmbeddedBroker, startEmbeddedBroker } from './ingest/embedded-broker.js';
import { type MqttSubscriber, startMqttSubscriber } from './ingest/mqtt-subscriber.js';
import { LiveState } from './live.js';
import { type Logger, redactUrl } from './log.js';
import { Metrics } from './metrics.js';
import { AssetRegistry } from './pipeline/enrich.js';
import { createPipeline, type Pipeline } from './pipeline/pipeline.js';
import { DiskSpool } from './pipeline/disk-spool.js';
import { SpoolWriter } from './pipeline/store.js';
import { type Clock, systemClock } from './pipeline/types.js';
import { KINDS, type Kind } from './schema.js';
import { auditTrail } from './security/audit.js';
import { prepareSecurity } from './security/startup.js';
import { Baselines } from './alerts/baseline.js';
import { startSelfMetrics } from './self-metrics.js';
import { AlertEngine } from './alerts/engine.js';
import { scheduleJobs } from './alerts/jobs.js';
import { defaultRules } from './alerts/rules.js';
import { createNotifiers, EMBEDDED_BROKER_WINDOW, NotificationDispatcher } from './alerts/notify/index.js';
import { Pager } from './alerts/paging.js';
import { type AlertRecord, isActive, type Notification } from './alerts/types.js';
import { clusteredBrokerParts } from './cluster/embedded.js';
import { refuseAlertActionsOnFollowers } from './cluster/follower-guard.js';
import type { ClusterNode } from './cluster/node.js';
import { startClusterRole } from './cluster/start.js';
import { stableClientId } from './ingest/client-id.js';
import { isSparkplugTopic, SPARKPLUG_TOPIC, SparkplugDecoder } from './ingest/sparkplug.js';
import { sparkplugSink } from './ingest/sparkplug-sink.js';
import type { InboundMessage } from './pipeline/types.js';

export interface Service {
  readonly httpUrl: string;
  /** mqtt://host:port of the broker devices publish to. */
  readonly mqttUrl: string;
  readonly metrics: Metrics;
  readonly live: LiveState;
  readonly pipeline: Pipeline;
  readonly spool: DiskSpool;
  readonly influx: InfluxClient;
  readonly alerts: AlertEngine;
  health(): HealthReport;
  close(): Promise<void>;
}

export interface ServiceOptions {
  log: Logger;
  clock?: Clock;
  /** How long shutdown waits for InfluxDB to take what is still spooled. */
  drainTimeoutMs?: number;
}

export async function startService(config: Config, options: ServiceOptions): Promise<Service> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  // Refuses to start (one line naming the key) unless secured or HYDROWATCH_INSECURE=1; warns loudly if insecure.
  const security = prepareSecurity(config, log);

  const registry = new AssetRegistry(config.assets);
  const baselines = new Baselines(config.timezone);
  const live = new LiveState(registry);
  const metrics = new Metrics();
  // Durable: what a device was acknowledged survives kill -9 and is replayed on start.
  const spool = await DiskSpool.open({ dir: join(config.dataDir, 'spool'), maxBytes: config.spoolMaxBytes, maxLines: config.spoolMaxReadings, log });
  metrics.spoolSource = spool;
  const influx = new InfluxClient(config.influx, log);
  const writer = new SpoolWriter(spool, influx, config.influx, metrics, log);

  try {
    await influx.connect();
    await restoreLiveState(influx, live, log);
  } catch (error) {
    log.warn(`starting without InfluxDB (${error instanceof Error ? error.message : String(error)}); readings are held until it answers`);
  }
  writer.start();
  // The service's own counters, into InfluxDB every 10 s, for the ingest-health dashboard (InfluxQL only).
  const selfMetrics = startSelfMetrics({
    metrics,
    spool,
    append: (lines) => spool.append(lines),
    instance: config.mqtt.clientId ?? `hydrowatch-${hostname()}`,
    clock,
    onError: (error) => log.warn(`self metrics: ${error instanceof Error ? error.message : String(error)}`),
  });

  const alerts = new AlertEngine({
    rules: config.alerts.rules ?? defaultRules(),
    assets: config.assets,
    clock,
    log,
    write: (lines) => {
      spool.append(lines).catch((error: unknown) => log.error(`could not spool alert events: ${String(error)}`));
    },
    notify: (kind, alert) => notifyHook?.(kind, alert),
    statePath: join(config.dataDir, 'alerts-state.json'),
    heatwave: { ...config.alerts.heatwave, timezone: config.timezone },
    liveWindowMs: config.alerts.liveWindowMinutes * 60_000,
    baseline: baselines.get,
  });
  // Set once the notifiers exist (they need the broker to publish alert topics).
  let notifyHook: ((kind: Notification['kind'], alert: AlertRecord) => void) | undefined;

  // In a cluster the alert leader evaluates every reading (src/cluster/node.ts), not the node that stores it.
  const redisUrl = config.cluster.redisUrl;
  const pipeline = createPipeline({
    spool,
    registry,
    live,
    metrics,
    clock,
    log,
    strictAssets: config.strictAssets,
    rejectSamplesPerMinute: config.rejectSamplesPerMinute,
    // A rule that throws is logged by the pipeline and never costs the reading.
    evaluate: (reading, receivedAt) => (redisUrl ? undefined : alerts.onReading(reading, receivedAt)),
    onCommand: (command) => (redisUrl ? undefined : alerts.onCommand(command.site, command.asset, command.command, command.ts)),
  });
  // Sparkplug B edge nodes: decoded into the messages our own devices send, then the same pipeline.
  let sparkplugPublish: ((topic: string, payload: Buffer) => Promise<void>) | undefined;
  const sparkplug = config.sparkplug.enabled
    ? sparkplugSink({
        decoder: new SparkplugDecoder({
          asset: (site, asset) => registry.get(site, asset),
          metricNames: config.sparkplug.metrics,
          publish: (topic, payload) => void sparkplugPublish?.(topic, payload).catch((error: unknown) => log.warn(`sparkplug: could not publish ${topic}: ${String(error)}`)),
          now: clock.now,
        }),
        pipeline,
        spool,
        metrics,
        log,
        rejectSamplesPerMinute: config.rejectSamplesPerMinute,
      })
    : undefined;
  const sink = (message: InboundMessage): Promise<void> =>
    sparkplug && isSparkplugTopic(message.topic) ? sparkplug(message).then(() => undefined) : pipeline.ingest(message);
  // A shared subscription cannot carry Sparkplug (one host must see an edge node in order): in a cluster the leader takes it.
  const sparkplugUnshared = config.sparkplug.enabled && !redisUrl && !config.mqtt.shareGroup;
  if (config.sparkplug.enabled && config.mqtt.url && config.mqtt.shareGroup && !redisUrl) {
    log.warn('MQTT_SHARE_GROUP without HYDROWATCH_REDIS_URL: alerts are evaluated on the share of readings each ingestor gets, and Sparkplug is not subscribed; set HYDROWATCH_REDIS_URL (README "Deployment")');
  }
  const clientId = config.mqtt.url ? (config.mqtt.clientId ?? stableClientId(config.dataDir, config.mqtt.shareGroup !== undefined)) : undefined;

  let broker: EmbeddedBroker | undefined;
  let subscriber: MqttSubscriber | undefined;
  let mqttUrl: string;
  if (config.mqtt.url) {
    subscriber = await startMqttSubscriber({ ...config.mqtt, clientId, url: config.mqtt.url, sink, log, now: clock.now, unsharedTopics: sparkplugUnshared ? [SPARKPLUG_TOPIC] : [] });
    mqttUrl = config.mqtt.url;
  } else {
    const access = security.brokerAccess(metrics.registry);
    broker = await startEmbeddedBroker({
      host: config.mqtt.host,
      port: config.mqtt.port,
      sink,
      log,
      now: clock.now,
      access,
      tls: security.mqttTls,
      sparkplug: config.sparkplug.enabled,
      cluster: redisUrl ? clusteredBrokerParts(redisUrl) : undefined,
    });
    const plainUrl = security.mqttTls && !security.mqttTls.plaintext ? undefined : `mqtt://${displayHost(config.mqtt.host)}:${broker.port}`;
    const tlsUrl = broker.tlsPort === undefined ? undefined : `mqtts://${displayHost(config.mqtt.host)}:${broker.tlsPort}`;
    mqttUrl = tlsUrl ?? plainUrl!;
    log.info(`embedded MQTT broker listening on ${[tlsUrl, plainUrl].filter(Boolean).join(' and ')}${access ? ' (device credentials required)' : ''}`);
  }

  // Notifications: alert topics go out on the broker the service uses.
  const publish = (broker ?? subscriber)!.publish;
  const notifiers = createNotifiers(config.alerts, {
    log,
    timezone: config.timezone,
    publish: (t, p, o) => publish(t, p, o),
    publishWindow: broker ? EMBEDDED_BROKER_WINDOW : undefined,
  });
  const dispatcher = new NotificationDispatcher(notifiers, { registry: metrics.registry, log });
  const pager = new Pager({ dispatcher, roster: config.alerts.roster, rules: alerts.rules, now: clock.now, publicUrl: config.alerts.publicUrl });
  notifyHook = (kind, alert) => pager.notify(kind, alert);
  const restoreNotifications = () => pager.restore(alerts.list({ state: 'active' }).filter(isActive));
  sparkplugPublish = (topic, payload) => publish(topic, payload, { retain: false, qos: 0 });
  // Several nodes, one alert leader (README "Deployment"); the leader re-establishes notifications when elected.
  const cluster: ClusterNode | undefined = redisUrl
    ? await startClusterRole({ config, redisUrl, alerts, registry, pipeline, spool, metrics, clock, log, broker, clientId, sink, publish: (topic, payload) => publish(topic, payload, { retain: false, qos: 0 }), onElected: restoreNotifications })
    : undefined;
  if (!cluster) restoreNotifications();
  const leads = (): boolean => cluster?.isLeader() ?? true;

  const health = (): HealthReport => {
    const influxState = influx.state();
    const brokerConnected = broker ? true : (subscriber?.connected() ?? false);
    const report: HealthReport = {
      status: influxState.reachable && spool.acknowledging && brokerConnected ? 'ok' : 'degraded',
      broker: broker
        ? { mode: 'embedded', connected: true, port: broker.port, clients: broker.connectedClients() }
        : { mode: 'external', connected: brokerConnected, url: redactUrl(mqttUrl) },
      influx: {
        url: config.influx.url,
        reachable: influxState.reachable,
        ...(influxState.flavour ? { flavour: influxState.flavour } : {}),
        ...(influxState.version ? { version: influxState.version } : {}),
        ...(influxState.lastError ? { lastError: influxState.lastError } : {}),
        ...(writer.lastSuccessAt ? { lastWriteAt: new Date(writer.lastSuccessAt).toISOString() } : {}),
      },
      ...(cluster ? { cluster: cluster.status() } : {}),
      spool: {
        depth: spool.depth,
        limit: spool.limit,
        acknowledging: spool.acknowledging,
        bytes: spool.bytes,
        maxBytes: spool.maxBytes,
        ...(spool.lastError ? { lastError: spool.lastError } : {}),
      },
    };
    return report;
  };

  // Every mutating API call is audited through the spool, so the one InfluxDB writer stores it.
  const apiSecurity = { security: security.api(auditTrail((lines) => spool.append(lines))), https: security.https };
  const app = await buildApp({ live, metrics, health, log, alerts, maxShelveMinutes: config.alerts.maxShelveMinutes, ...apiSecurity });
  if (cluster) refuseAlertActionsOnFollowers(app, cluster);
  await app.listen({ port: config.http.port, host: config.http.host });
  const address = app.server.address() as AddressInfo;
  const httpUrl = `${security.https ? 'https' : 'http'}://${displayHost(config.http.host)}:${address.port}`;
  log.info(`HTTP API listening on ${httpUrl} (OpenAPI at ${httpUrl}/docs)`);

  // On-delays and shelves run out between readings: check every few seconds.
  const alertTimer = setInterval(() => {
    if (!leads()) return;
    alerts.tick();
    for (const escalated of pager.escalate(alerts.list({ state: 'active' }))) alerts.update(escalated);
  }, 5000);
  alertTimer.unref();
  const jobs = scheduleJobs(
    [
      {
        name: 'stale-sensor-sweep',
        schedule: '* * * * *',
        run: () => {
          if (!leads()) return 'not the alert leader';
          alerts.tick();
          return `${alerts.list({ state: 'active' }).filter((a) => a.ruleKind === 'stale').length} stale sensor alert(s) open`;
        },
      },
      {
        name: 'heatwave-assessment',
        schedule: '5 0 * * *',
        run: () =>
          !leads() ? 'not the alert leader' : alerts.assessHeatwaves().map((r) => `${r.region}: ${r.active ? 'heat wave' : 'normal'} (${r.hot_days} hot days)`).join('; ') || 'no regions',
      },
      { name: 'demand-baselines', schedule: '17 * * * *', run: async () => `${await baselines.refresh(influx)} hourly baselines` },
    ],
    config.timezone,
    log,
  );
  baselines.refresh(influx).catch(() => undefined);

  let closing: Promise<void> | undefined;
  return {
    httpUrl,
    mqttUrl,
    metrics,
    live,
    pipeline,
    spool,
    influx,
    alerts,
    health,
    close() {
      closing ??= (async () => {
        // Stop taking messages first, then write what was taken, then close the rest.
        clearInterval(alertTimer);
        await jobs.stop();
        await subscriber?.close();
        await cluster?.close();
        await dispatcher.close(10_000);
        await broker?.close();
        alerts.close();
        selfMetrics.stop();
        const left = await writer.drain(options.drainTimeoutMs ?? 30_000);
        if (left > 0) log.error(`shutting down with ${left} points not written: InfluxDB did not take them in time`);
        await writer.stop();
        await app.close();
        // Last: what arrived after the drain (an audited API call) is on disk for the next start.
        await spool.close();
        await influx.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}

/** After a restart, the API knows each asset's latest values and online state again. */
async function restoreLiveState(influx: InfluxClient, live: LiveState, log: Logger): Promise<void> {
  let restored = 0;
  const recent = 'WHERE time > now() - 30d GROUP BY "site", "asset"';
  for (const kind of KINDS) {
    // The newest row gives the time and seq; last(*) gives each field's newest value, which an
    // asset may have sent in an older message than the newest one.
    const newest = await influx.query(`SELECT * FROM ${quoteIdent(kind)} ${recent} ORDER BY time DESC LIMIT 1`);
    const lastValues = await influx.query(`SELECT last(*) FROM ${quoteIdent(kind)} ${recent}`);
    for (const s of newest) {
      const row = s.values[0];
      const site = s.tags?.site;
      const asset = s.tags?.asset;
      if (!row || !site || !asset) continue;
      const seqIndex = s.columns.indexOf('seq');
      const seq = seqIndex >= 0 && typeof row[seqIndex] === 'number' ? (row[seqIndex] as number) : undefined;
      const values: Record<string, number | boolean> = {};
      const last = lastValues.find((l) => l.tags?.site === site && l.tags?.asset === asset);
      last?.columns.forEach((column, i) => {
        const value = last.values[0]?.[i];
        const field = column.replace(/^last_/, '');
        if (column !== 'time' && field !== 'seq' && (typeof value === 'number' || typeof value === 'boolean')) values[field] = value;
      });
      live.restore({ site, kind: kind as Kind, asset, latest: { ts: Number(row[0]), ...(seq === undefined ? {} : { seq }), values } });
      restored += 1;
    }
  }
  const statuses = await influx.query(`SELECT last("online") FROM "status" WHERE time > now() - 30d GROUP BY "site", "asset", "kind"`);
  for (const s of statuses) {
    const kind = s.tags?.kind as Kind | undefined;
    if (!s.tags?.site || !s.tags.asset || !kind || !KINDS.includes(kind)) continue;
    live.restore({ site: s.tags.site, kind, asset: s.tags.asset, online: s.values[0]?.[1] === true });
  }
  if (restored > 0) log.info(`restored the latest reading of ${restored} assets from InfluxDB`);
}

const displayHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
