// The channel registry: adding a channel is one file under notify/ and one line in CHANNELS.
// A factory returns undefined when its channel is not configured.
import { AlertmanagerNotifier } from './alertmanager.js';
import type { ChannelNotifier } from './channel.js';
import type { SmtpConfig } from './config.js';
import { createEmailNotifier } from './email.js';
import { createMqttNotifier, type MqttPublish } from './mqtt.js';
import { createCrewWebhookNotifier, createWebhookNotifier } from './webhook.js';
import type { Logger } from '../../log.js';

/** The slice of config `alerts` the channels read (src/config.ts's `alerts` object has these keys). */
export interface NotifyConfig {
  /** ALERT_WEBHOOK_URL */
  webhookUrl?: string | undefined;
  /** ALERT_WEBHOOK_SECRET: HMAC key for X-Hydrowatch-Signature (main and crew webhooks). */
  webhookSecret?: string | undefined;
  /** ALERTMANAGER_URL */
  alertmanagerUrl?: string | undefined;
  smtp?: SmtpConfig | undefined;
}

export interface NotifierDeps {
  log: Logger;
  /** Publishes on the broker the service uses (embedded or external); without it, no MQTT channel. */
  publish?: MqttPublish | undefined;
  /** The MQTT channel's window of publishes out at once (mqtt.ts; EMBEDDED_BROKER_WINDOW on the embedded broker). */
  publishWindow?: number | undefined;
  /** For local times in e-mails and Alertmanager descriptions (config `timezone`). */
  timezone?: string | undefined;
  fetch?: typeof fetch;
}

type ChannelFactory = (config: NotifyConfig, deps: NotifierDeps) => ChannelNotifier | undefined;

export const CHANNELS: Record<string, ChannelFactory> = {
  webhook: (config, deps) => {
    if (!config.webhookUrl) return undefined;
    if (!config.webhookSecret) deps.log.warn('alerts: ALERT_WEBHOOK_URL is set without ALERT_WEBHOOK_SECRET: webhook requests go unsigned');
    return createWebhookNotifier(config.webhookUrl, { secret: config.webhookSecret, fetch: deps.fetch });
  },
  'crew-webhook': (config, deps) => createCrewWebhookNotifier({ secret: config.webhookSecret, mainUrl: config.webhookUrl, fetch: deps.fetch }),
  alertmanager: (config, deps) =>
    config.alertmanagerUrl ? new AlertmanagerNotifier({ url: config.alertmanagerUrl, timezone: deps.timezone, fetch: deps.fetch }) : undefined,
  mqtt: (_config, deps) => (deps.publish ? createMqttNotifier(deps.publish, { log: deps.log, ...(deps.publishWindow ? { window: deps.publishWindow } : {}) }) : undefined),
  email: (config, deps) => (config.smtp ? createEmailNotifier(config.smtp, { timezone: deps.timezone, log: deps.log }) : undefined),
};

/** One notifier per configured channel, in CHANNELS order. */
export function createNotifiers(config: NotifyConfig, deps: NotifierDeps): ChannelNotifier[] {
  return Object.values(CHANNELS).flatMap((factory) => factory(config, deps) ?? []);
}

export { AlertmanagerNotifier } from './alertmanager.js';
export { notificationBody, type NotificationBody } from './body.js';
export { type ChannelNotifier, DeliveryError } from './channel.js';
export { NotificationDispatcher, type DispatcherOptions } from './dispatcher.js';
export { SmtpConfig, WebhookSecret } from './config.js';
export { dueEscalations, type DueEscalation } from './escalation.js';
export { alertTopic, EMBEDDED_BROKER_WINDOW, type MqttPublish } from './mqtt.js';
export { signBody, verifySignature, SIGNATURE_HEADER } from './webhook.js';
