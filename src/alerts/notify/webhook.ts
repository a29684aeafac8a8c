// Generic webhook: POST of the stable JSON body (body.ts), signed with HMAC-SHA256 so the receiver
// knows it came from us. Two channels: the configured URL (ALERT_WEBHOOK_URL) and the routed crew's
// own webhook contact, queued apart so one dead endpoint does not hold back the other.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deliveryId, notificationBody } from './body.js';
import type { ChannelNotifier } from './channel.js';
import { post } from './http.js';
import type { Notification } from '../types.js';

export const SIGNATURE_HEADER = 'x-hydrowatch-signature';

export interface WebhookOptions {
  /** HMAC key (`alerts.webhookSecret`, ALERT_WEBHOOK_SECRET); without it requests go unsigned. */
  secret?: string | undefined;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`. */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a received signature header, for receivers written in TypeScript. */
export function verifySignature(body: string | Buffer, header: string | undefined, secret: string): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

async function deliver(url: string, notification: Notification, options: WebhookOptions): Promise<void> {
  const body = JSON.stringify(notificationBody(notification));
  const headers: Record<string, string> = {
    'x-hydrowatch-event': notification.kind,
    'x-hydrowatch-delivery': deliveryId(notification),
  };
  if (options.secret) headers[SIGNATURE_HEADER] = signBody(body, options.secret);
  await post(url, body, { headers, timeoutMs: options.timeoutMs ?? 10_000, fetch: options.fetch });
}

/** Every notification to the one configured URL. */
export function createWebhookNotifier(url: string, options: WebhookOptions = {}): ChannelNotifier {
  return {
    name: 'webhook',
    send: (notification) => deliver(url, notification, options),
  };
}

/** Notifications routed to a crew with a webhook contact, to that URL (skipped when it is the main URL, already sent). */
export function createCrewWebhookNotifier(options: WebhookOptions & { mainUrl?: string | undefined } = {}): ChannelNotifier {
  const target = (notification: Notification): string | undefined => {
    const url = notification.crew?.contacts.webhook;
    return url !== undefined && url !== options.mainUrl ? url : undefined;
  };
  return {
    name: 'crew-webhook',
    wants: (notification) => target(notification) !== undefined,
    async send(notification) {
      const url = target(notification);
      if (url !== undefined) await deliver(url, notification, options);
    },
  };
}
