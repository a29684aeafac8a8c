// The MQTT alert topic (design §2): `hydrowatch/alerts/{site}/{asset}/{rule}`, retained with the
// JSON body (body.ts) while the alert is active (acknowledged or shelved included), and an empty
// retained payload — which deletes the retained message — once it is no longer active.
import { notificationBody } from './body.js';
import type { ChannelNotifier } from './channel.js';
import { TOPIC_ROOT } from '../../schema.js';
import { type AlertRecord, isActive, type Notification } from '../types.js';

/** The embedded broker's publish, or a wrapper around the external client's publishAsync. */
export type MqttPublish = (topic: string, payload: string | Buffer, options: { retain: boolean; qos: 0 | 1 }) => Promise<void>;

export const alertTopic = (alert: Pick<AlertRecord, 'site' | 'asset' | 'rule'>): string =>
  `${TOPIC_ROOT}/alerts/${alert.site}/${alert.asset}/${alert.rule}`;

export function createMqttNotifier(publish: MqttPublish): ChannelNotifier {
  const deliver = (notification: Notification): Promise<void> => {
    const payload = isActive(notification.alert) ? JSON.stringify(notificationBody(notification)) : '';
    return publish(alertTopic(notification.alert), payload, { retain: true, qos: 1 });
  };
  return {
    name: 'mqtt',
    send: deliver,
    // The embedded broker keeps retained messages in memory: after a restart, publish them again.
    async restore(open) {
      for (const notification of open) if (isActive(notification.alert)) await deliver(notification);
    },
  };
}
