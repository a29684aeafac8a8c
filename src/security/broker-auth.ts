// The embedded broker's access hooks, from the device registry: authenticate (username and
// password against scrypt hashes), and the ACL for publish and subscribe (src/security/acl.ts).
// Denials are counted in hydrowatch_mqtt_denied_total{action} and logged (once a minute per device).
import type { Socket } from 'node:net';
import type { AuthenticateError, Client, Subscription } from 'aedes';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { canPublish, canSubscribe } from './acl.js';
import type { DeviceIdentity, DeviceRegistry } from './devices.js';

/** What the embedded broker asks before it lets a client in, lets it publish, or subscribes it. */
export interface BrokerAccess {
  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void;
  /** Synchronous: the ACL decides before anything reaches the pipeline. */
  mayPublish(client: Client, topic: string): boolean;
  authorizeSubscribe(client: Client, subscription: Subscription, done: (error: Error | null, subscription?: Subscription | null) => void): void;
  close(): void;
}

// MQTT 3.1.1 CONNACK return codes.
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const IDENTIFIER_REJECTED = 2;

const refusal = (returnCode: number, message: string): AuthenticateError => Object.assign(new Error(message), { returnCode }) as AuthenticateError;

export function deviceAccess(registry: DeviceRegistry, log: Logger, metricsRegistry?: Registry): BrokerAccess {
  const denied = new Counter({
    name: 'hydrowatch_mqtt_denied_total',
    help: 'MQTT connections, publishes and subscriptions the embedded broker refused, by action',
    labelNames: ['action'],
    registers: metricsRegistry ? [metricsRegistry] : [],
  });
  for (const action of ['connect', 'publish', 'subscribe']) denied.labels(action).inc(0);

  const identities = new WeakMap<Client, DeviceIdentity>();
  // Client id → who holds it: one device cannot take over (and so disconnect) another's session.
  const clientIds = new Map<string, { username: string; client: Client }>();
  const byUsername = new Map<string, Set<Client>>();
  const lastLogged = new Map<string, number>();

  const warn = (key: string, message: string): void => {
    const now = Date.now();
    if ((lastLogged.get(key) ?? 0) > now - 60_000) return;
    lastLogged.set(key, now);
    if (lastLogged.size > 10_000) lastLogged.clear();
    log.warn(message);
  };
  const peer = (client: Client): string => (client.conn as Partial<Socket>).remoteAddress ?? 'unknown address';

  registry.onRevoke = (usernames) => {
    for (const username of usernames) {
      for (const client of byUsername.get(username) ?? []) if (!client.closed) client.close();
      byUsername.delete(username);
    }
  };

  return {
    authenticate(client, username, password, done) {
      if (!username || !password) {
        denied.labels('connect').inc();
        warn(`anon:${peer(client)}`, `mqtt: refused anonymous client ${JSON.stringify(client.id)} from ${peer(client)}: credentials required`);
        return done(refusal(NOT_AUTHORIZED, 'not authorized'), false);
      }
      registry.verify(username, password.toString('utf8')).then(
        (identity) => {
          if (!identity) {
            denied.labels('connect').inc();
            warn(`auth:${username}`, `mqtt: refused ${JSON.stringify(username)} from ${peer(client)}: bad username or password`);
            return done(refusal(BAD_USERNAME_OR_PASSWORD, 'bad user name or password'), false);
          }
          const holder = clientIds.get(client.id);
          if (holder && holder.username !== identity.username && !holder.client.closed) {
            denied.labels('connect').inc();
            warn(`id:${username}`, `mqtt: refused ${username}: client id ${JSON.stringify(client.id)} is in use by ${holder.username}`);
            return done(refusal(IDENTIFIER_REJECTED, 'identifier rejected'), false);
          }
          clientIds.set(client.id, { username: identity.username, client });
          identities.set(client, identity);
          const live = byUsername.get(identity.username) ?? new Set<Client>();
          for (const old of live) if (old.closed) live.delete(old);
          byUsername.set(identity.username, live.add(client));
          done(null, true);
        },
        (error: unknown) => {
          log.error(`mqtt: authentication failed with an error: ${error instanceof Error ? error.message : String(error)}`);
          done(refusal(NOT_AUTHORIZED, 'not authorized'), false);
        },
      );
    },

    mayPublish(client, topic) {
      const identity = identities.get(client);
      if (identity && canPublish(identity.scope, topic)) return true;
      denied.labels('publish').inc();
      const who = identity?.username ?? client.id;
      warn(`pub:${who}`, `mqtt: denied publish by ${who} to ${JSON.stringify(topic.slice(0, 200))}; the client is disconnected`);
      return false;
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (identity && canSubscribe(identity.scope, subscription.topic)) return done(null, subscription);
      denied.labels('subscribe').inc();
      const who = identity?.username ?? client.id;
      warn(`sub:${who}`, `mqtt: denied subscription of ${who} to ${JSON.stringify(subscription.topic.slice(0, 200))}`);
      // A null subscription is a failure code (0x80) in SUBACK; the client stays connected.
      done(null, null);
    },

    close() {
      registry.close();
    },
  };
}
