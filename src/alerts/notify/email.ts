// E-mail over SMTP (nodemailer) to the routed crew's addresses, or to `alerts.smtp.to` when no crew
// is routed. Plain text, short enough to read on a phone; all mails about one alert share a thread.
import { createTransport } from 'nodemailer';
import { localTimestamp, summaryLine, valueLine } from './body.js';
import { type ChannelNotifier, DeliveryError } from './channel.js';
import type { SmtpConfig } from './config.js';
import type { Logger } from '../../log.js';
import type { Notification } from '../types.js';

export interface EmailOptions {
  /** Times in the mail are local times here. */
  timezone?: string;
  log?: Logger;
}

const STATE_TEXT: Record<string, string> = {
  active_unack: 'active, not acknowledged',
  active_ack: 'active, acknowledged',
  cleared_unack: 'cleared (back to normal), not acknowledged',
  cleared: 'cleared',
};

export function createEmailNotifier(smtp: SmtpConfig, options: EmailOptions = {}): ChannelNotifier {
  const timezone = options.timezone ?? 'Asia/Shanghai';
  const transport = createTransport({
    url: smtp.url,
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
  });
  // Replayed alerts are recorded, never paged.
  const recipients = (notification: Notification): string[] =>
    notification.alert.replayed ? [] : notification.crew ? (notification.crew.contacts.email ?? []) : smtp.to;
  return {
    name: 'email',
    wants: (notification) => recipients(notification).length > 0,
    async send(notification) {
      const to = recipients(notification);
      if (to.length === 0) return;
      const thread = `<${notification.alert.id}@hydrowatch>`;
      try {
        const info = await transport.sendMail({
          from: smtp.from,
          to,
          subject: summaryLine(notification),
          text: emailText(notification, timezone),
          headers: { 'X-Hydrowatch-Alert': notification.alert.id, 'X-Hydrowatch-Event': notification.kind },
          references: thread,
          inReplyTo: notification.kind === 'raised' ? undefined : thread,
        });
        if (info.rejected.length > 0) options.log?.warn(`email for alert ${notification.alert.id}: server refused ${info.rejected.join(', ')}`);
      } catch (error) {
        const err = error as { message?: string; permanent?: boolean; code?: string };
        // A permanent SMTP rejection (5xx) would be refused again: do not retry it.
        throw new DeliveryError(`SMTP: ${err.code ? `${err.code} ` : ''}${err.message ?? String(error)}`, err.permanent !== true, { cause: error });
      }
    },
    async close() {
      transport.close();
    },
  };
}

/** The plain-text body: what, where, value vs threshold, times, who was paged, link. */
export function emailText(notification: Notification, timezone: string): string {
  const { alert, crew, link } = notification;
  const at = (ms: number): string => localTimestamp(ms, timezone);
  const lines = [
    summaryLine(notification),
    '',
    `Rule:      ${alert.rule} (${alert.ruleKind}), severity ${alert.severity}`,
    `Asset:     ${alert.kind} ${alert.asset} at site ${alert.site}, region ${alert.region}`,
    `State:     ${STATE_TEXT[alert.state] ?? alert.state}`,
  ];
  const values = valueLine(notification);
  if (values) lines.push(`Reading:   ${values}`);
  lines.push(`Raised:    ${at(alert.raisedAt)}`);
  if (alert.clearedAt !== undefined) lines.push(`Cleared:   ${at(alert.clearedAt)}`);
  if (alert.acknowledged) {
    lines.push(`Acknowledged: by ${alert.acknowledged.by} at ${at(alert.acknowledged.at)}${alert.acknowledged.note ? ` — ${alert.acknowledged.note}` : ''}`);
  }
  if (alert.shelved) lines.push(`Shelved:   by ${alert.shelved.by} until ${at(alert.shelved.until)} — ${alert.shelved.reason}`);
  if (crew) lines.push(`Paged:     ${crew.name} (tier ${crew.tier})`);
  if (link) lines.push(`Link:      ${link}`);
  lines.push('');
  if (alert.state === 'active_unack') lines.push('Acknowledge the alert to stop escalation to the next on-call tier.');
  lines.push(`Alert id ${alert.id}; sent ${at(notification.at)}.`);
  return `${lines.join('\n')}\n`;
}
