// Config schemas of the notification channels, kept apart from the channels so that src/config.ts
// can import them without loading nodemailer.
import { z } from 'zod';

/** Config `alerts.smtp`. */
export const SmtpConfig = z.strictObject({
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465. */
  url: z.url({ protocol: /^smtps?$/ }),
  /** Sender, e.g. `hydrowatch <alerts@water.example>`. */
  from: z.string().min(3),
  /** Recipients for alerts no crew is routed to. */
  to: z.array(z.email()).default([]),
  timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
});
export type SmtpConfig = z.infer<typeof SmtpConfig>;

/** Config `alerts.webhookSecret` (ALERT_WEBHOOK_SECRET): the HMAC key of X-Hydrowatch-Signature. */
export const WebhookSecret = z.string().min(16, 'at least 16 characters');
