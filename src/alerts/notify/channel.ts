// What the dispatcher needs from a notifier beyond the `Notifier` port, and the delivery error.
import type { Notification, Notifier } from '../types.js';

export interface ChannelNotifier extends Notifier {
  /**
   * False when this channel has nothing to deliver for the notification (no recipient, nothing
   * routed): the dispatcher then does not queue it, so `sent` counts real deliveries only.
   */
  wants?(notification: Notification): boolean;
  /**
   * Periodic upkeep, e.g. re-sending the active alerts that Alertmanager would otherwise resolve
   * after its resolve_timeout. The dispatcher calls it every `refreshIntervalMs`, in the channel's
   * queue, and counts its failures; a failed refresh is not retried (the next one is due soon).
   */
  refresh?(): Promise<void>;
  /**
   * After a restart: re-establish what the channel shows for alerts that are still open (the
   * Alertmanager active set, retained MQTT topics) without paging anyone again.
   */
  restore?(open: Notification[]): Promise<void>;
}

/** A failed delivery. `retryable: false` (a 4xx, a refused recipient) makes the dispatcher drop it at once. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Anything but a DeliveryError marked permanent is worth another try. */
export const isRetryable = (error: unknown): boolean => !(error instanceof DeliveryError) || error.retryable;
