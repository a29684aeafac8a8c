// One hydrowatch process as a member of a cluster (README "Deployment"). Every node stores what it
// ingests; alerts are evaluated by exactly one node, the leader, elected through a Redis lease:
//  - the leader reads every reading through the alert feed (alert-feed.ts) and keeps the alert state
//    in Redis (fenced by the lease); a message that changed an alert is acknowledged only once that
//    state is in Redis, so a new leader never raises again what its predecessor raised;
//  - followers keep a read-only copy of that state for the API and refuse alert actions (503);
//  - on an external broker with a shared subscription the leader also empties the sessions of
//    ingestors that went silent (session-adoption.ts), so their share of the load moves at once.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { AlertEngine } from '../alerts/engine.js';
import { type Logger, redactUrl } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';
import type { AlertFeed } from './alert-feed.js';
import { RedisLease } from './lease.js';
import { Membership } from './membership.js';

export interface ClusterNodeOptions {
  redisUrl: string;
  /** `cluster.name`: prefixes the Redis keys. */
  name: string;
  leaseMs: number;
  /** This node in logs and /health (the MQTT client id or the host name). */
  nodeId: string;
  alerts: AlertEngine;
  feed: AlertFeed;
  /** What the leader does with a message of the feed (evaluate it; store Sparkplug it alone receives). */
  onMessage: (message: InboundMessage) => Promise<void>;
  /** Ingestors sharing a subscription: heartbeat under this client id, and adopt silent members' sessions. */
  shared?: { clientId: string; adopt: (clientId: string) => Promise<number> } | undefined;
  /** Called after this node took over the alerts (re-establish notifications). */
  onElected?: () => void;
  log: Logger;
  registry?: Registry | undefined;
}

export interface ClusterStatus {
  name: string;
  node: string;
  role: 'leader' | 'follower';
  leader?: string | undefined;
}

export interface ClusterNode {
  isLeader(): boolean;
  status(): ClusterStatus;
  close(): Promise<void>;
}

export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { alerts, feed, log } = options;
  const prefix = `hydrowatch:${options.name}:`;
  const stateKey = `${prefix}alerts-state`;
  // Commands fail fast while Redis is away: a leader that cannot renew must notice within its lease.
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: Math.max(500, Math.floor(options.leaseMs / 2)) });
  redis.on('error', () => undefined); // reported by the tick that fails
  const token = `${options.nodeId} ${randomUUID()}`;
  const lease = new RedisLease(redis, `${prefix}alert-leader`, token, options.leaseMs);
  const membership = options.shared ? new Membership(redis, prefix, options.shared.clientId, options.leaseMs) : undefined;
  const leaderGauge = new Gauge({ name: 'hydrowatch_cluster_leader', help: '1 while this node evaluates the cluster’s alerts', registers: options.registry ? [options.registry] : [] });

  let leader = false;
  let leaderNode: string | undefined;
  let lastRenewedAt = 0;
  let lastPushed: string | undefined;
  let lastMirrored: string | undefined;
  let changes = 0;
  let stopListening: (() => void) | undefined;
  let redisFailing = false;
  const adopting = new Set<string>();
  // State writes one at a time, in order: the newest always lands last.
  let pushChain: Promise<unknown> = Promise.resolve();

  const pushState = (): Promise<void> => {
    const run = pushChain.then(async () => {
      if (!leader) return;
      const json = alerts.exportState();
      if (json === lastPushed) return;
      if (!(await lease.setIfHolder(stateKey, json))) throw new Error('the alert lease is no longer ours');
      lastPushed = json;
    });
    pushChain = run.catch(() => undefined);
    return run;
  };

  const handle = async (message: InboundMessage): Promise<void> => {
    const before = changes;
    await options.onMessage(message);
    if (!leader) throw new Error('no longer the alert leader');
    // An alert changed: acknowledge only once the new state is safe in Redis.
    if (changes !== before) {
      await pushState().catch((error: unknown) => {
        // The next leader (maybe this node again) resumes from the state in Redis and gets this message again.
        void stepDown(`could not save the alert state: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      });
    }
  };

  const becomeLeader = async (): Promise<void> => {
    const saved = await redis.get(stateKey);
    if (saved) {
      try {
        alerts.importState(saved);
      } catch (error) {
        log.error(`cluster: the alert state in Redis is unreadable (${error instanceof Error ? error.message : String(error)}); keeping this node's`);
      }
    }
    leader = true;
    leaderNode = options.nodeId;
    lastPushed = saved ?? undefined;
    stopListening = alerts.onChange(() => (changes += 1));
    leaderGauge.set(1);
    await feed.start(handle);
    log.info(`cluster ${options.name}: ${options.nodeId} is the alert leader${saved ? ' (alert state taken over from Redis)' : ''}`);
    options.onElected?.();
  };

  const stepDown = async (why: string): Promise<void> => {
    if (!leader) return;
    leader = false;
    leaderGauge.set(0);
    stopListening?.();
    stopListening = undefined;
    log.warn(`cluster ${options.name}: ${options.nodeId} is no longer the alert leader (${why})`);
    await feed.stop();
  };

  const adoptSilentMembers = async (): Promise<void> => {
    if (!membership || !options.shared) return;
    for (const clientId of await membership.silent()) {
      if (adopting.has(clientId)) continue;
      adopting.add(clientId);
      void options.shared
        .adopt(clientId)
        .then(async (taken) => {
          log.info(`cluster ${options.name}: took over the session of silent ingestor ${clientId} (${taken} queued message(s) ingested)`);
          await membership.forget(clientId);
        })
        .catch((error: unknown) => log.warn(`cluster ${options.name}: adopting ${clientId} failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => adopting.delete(clientId));
    }
  };

  const tick = async (): Promise<void> => {
    try {
      await membership?.heartbeat();
      const held = await lease.acquireOrRenew();
      lastRenewedAt = Date.now();
      if (redisFailing) log.info(`cluster ${options.name}: Redis answers again`);
      redisFailing = false;
      if (held && !leader) await becomeLeader();
      else if (!held && leader) await stepDown('another node holds the lease');
      if (leader) {
        await pushState();
        await adoptSilentMembers();
      } else {
        leaderNode = (await lease.holder())?.split(' ')[0];
        // Followers answer the read API from a copy of the leader's state.
        const saved = await redis.get(stateKey);
        if (saved && saved !== lastMirrored) {
          alerts.importState(saved);
          lastMirrored = saved;
        }
      }
    } catch (error) {
      if (!redisFailing) log.warn(`cluster ${options.name}: Redis at ${redactUrl(options.redisUrl)}: ${error instanceof Error ? error.message : String(error)}`);
      redisFailing = true;
      // Without renewals the lease runs out and someone else may lead: stop before that.
      if (leader && Date.now() - lastRenewedAt > options.leaseMs * 0.8) await stepDown('cannot renew the lease');
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let running = true;
  const loop = async (): Promise<void> => {
    await tick();
    if (running) timer = setTimeout(() => void loop(), Math.max(100, Math.floor(options.leaseMs / 3)));
  };
  await loop();

  let closing: Promise<void> | undefined;
  return {
    isLeader: () => leader,
    status: () => ({ name: options.name, node: options.nodeId, role: leader ? 'leader' : 'follower', ...(leaderNode ? { leader: leaderNode } : {}) }),
    close() {
      closing ??= (async () => {
        running = false;
        clearTimeout(timer);
        if (leader) {
          await pushState().catch(() => undefined);
          await stepDown('shutting down');
          await lease.release().catch(() => undefined);
        }
        await membership?.leave().catch(() => undefined);
        redis.disconnect();
      })();
      return closing;
    },
  };
}
