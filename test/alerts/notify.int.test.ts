// Every notification channel against a real receiver: Debian's prometheus-alertmanager routing to
// a webhook receiver in this test, an HTTP server checking the webhook signature, an SMTP server
// (smtp-server), an aedes broker; and the dispatcher riding out a receiver that is down.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerNotifier } from '../../src/alerts/notify/alertmanager.js';
import { DeliveryError } from '../../src/alerts/notify/channel.js';
import { NotificationDispatcher } from '../../src/alerts/notify/dispatcher.js';
import { createEmailNotifier } from '../../src/alerts/notify/email.js';
import { createNotifiers } from '../../src/alerts/notify/index.js';
import { createMqttNotifier, type MqttPublish } from '../../src/alerts/notify/mqtt.js';
import { createCrewWebhookNotifier, createWebhookNotifier, verifySignature } from '../../src/alerts/notify/webhook.js';
import type { Notification } from '../../src/alerts/types.js';
import { type LocalAlertmanager, startAlertmanager } from '../../src/dev/alertmanager.js';
import { freePort } from '../../src/dev/ports.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { makeNotification, T0 } from '../helpers/alert-fixtures.js';
import { eventually } from '../helpers/service.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}

/** An HTTP server on loopback that records every request and answers `status()`. */
async function receiver(opts: { port?: number; status?: () => number } = {}): Promise<{ url: string; port: number; requests: Received[]; server: Server }> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = opts.status?.() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${port}`, port, requests, server };
}

const crewB = { name: 'emergency-repair', tier: 1, contacts: { email: ['repair@water.example'] } };

describe('Alertmanager channel (Debian prometheus-alertmanager)', () => {
  let am: LocalAlertmanager;
  let hook: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    hook = await receiver();
    am = await startAlertmanager({
      config: [
        'route:',
        '  receiver: test',
        "  group_by: ['alertname', 'site', 'asset']",
        '  group_wait: 0s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: test',
        '    webhook_configs:',
        `      - url: ${hook.url}/alertmanager`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    });
    cleanups.push(() => am.dispose());
  });

  type AmAlert = { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string };
  const delivered = (): AmAlert[] => hook.requests.flatMap((r) => (JSON.parse(r.raw) as { alerts: AmAlert[] }).alerts);

  it('a raised alert reaches the receiver with its labels; escalation moves the crew label; cleared arrives as resolved', async () => {
    const notifier = new AlertmanagerNotifier({ url: am.url, timezone: 'Asia/Shanghai' });
    const raised = makeNotification({ at: Date.now() }, { raisedAt: Date.now() - 5000 });
    await notifier.send(raised);

    const firing = await eventually(() => {
      const found = delivered().find((a) => a.status === 'firing' && a.labels.alertname === 'pump-trip');
      expect(found).toBeDefined();
      return found!;
    }, 15_000);
    expect(firing.labels).toEqual({ alertname: 'pump-trip', site: 'plant1', asset: 'P-01', severity: 'critical', region: 'north', crew: 'pump-mechanics' });
    expect(firing.annotations.summary).toBe('[CRITICAL] pump-trip P-01 plant1 — pump tripped');
    expect(firing.annotations.description).toContain('pump tripped; raised ');
    expect(firing.annotations.link).toBe(raised.link);
    expect(firing.generatorURL).toBe(raised.link);
    expect(Date.parse(firing.startsAt)).toBe(raised.alert.raisedAt);
    expect(hook.requests[0]?.path).toBe('/alertmanager');

    // Escalated to tier 1: one active alert in Alertmanager, now labelled with the new crew.
    const escalated: Notification = { ...raised, kind: 'escalated', crew: crewB, alert: { ...raised.alert, tier: 1 }, at: Date.now() };
    await notifier.send(escalated);
    const active = async () => {
      const res = await fetch(`${am.url}/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=true`);
      return ((await res.json()) as AmAlert[]).filter((a) => a.labels.alertname === 'pump-trip');
    };
    await eventually(async () => expect((await active()).map((a) => a.labels.crew)).toEqual(['emergency-repair']), 10_000);

    // The periodic re-send keeps it alive (Alertmanager would resolve it after resolve_timeout).
    expect(notifier.activeCount).toBe(1);
    await notifier.refresh();

    const cleared: Notification = {
      ...escalated,
      kind: 'cleared',
      alert: { ...escalated.alert, state: 'cleared_unack', clearedAt: Date.now() },
      at: Date.now(),
    };
    await notifier.send(cleared);
    expect(notifier.activeCount).toBe(0);
    const resolved = await eventually(() => {
      const found = delivered().find((a) => a.status === 'resolved' && a.labels.crew === 'emergency-repair');
      expect(found).toBeDefined();
      return found!;
    }, 15_000);
    expect(Date.parse(resolved.endsAt)).toBe(cleared.at);
    await eventually(async () => expect(await active()).toEqual([]), 10_000);
  });

  it('a shelved alert is resolved in Alertmanager and fires again when unshelved', async () => {
    const notifier = new AlertmanagerNotifier({ url: am.url });
    const base = makeNotification({ at: Date.now() }, { id: 'a-2', rule: 'motor-hot', ruleKind: 'threshold', severity: 'high', message: 'motor temperature high', value: 118.5, threshold: 110 });
    await notifier.send(base);
    const until = Date.now() + 3_600_000;
    await notifier.send({ ...base, kind: 'shelved', alert: { ...base.alert, shelved: { by: 'li.wei', reason: 'motor under repair', at: Date.now(), until } }, at: Date.now() });
    expect(notifier.activeCount).toBe(0);
    await notifier.send({ ...base, kind: 'unshelved', at: Date.now() });
    expect(notifier.activeCount).toBe(1);
    await eventually(async () => {
      const res = await fetch(`${am.url}/api/v2/alerts?active=true&filter=alertname%3D%22motor-hot%22`);
      const alerts = (await res.json()) as AmAlert[];
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.annotations.description).toContain('value 118.5 vs threshold 110');
    }, 10_000);
  });

  it('endsAt is never before startsAt (Alertmanager would refuse it); a dead Alertmanager is a retryable failure', async () => {
    const notifier = new AlertmanagerNotifier({ url: am.url });
    // Cleared as of a time before the raise (a late reading): endsAt is clamped to startsAt and accepted.
    await notifier.send(makeNotification({ kind: 'cleared', at: T0 }, { id: 'a-late', rule: 'late', state: 'cleared', raisedAt: T0 + 10_000 }));
    const down = new AlertmanagerNotifier({ url: `http://127.0.0.1:${await freePort()}` });
    const error = await down.send(makeNotification()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(true);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

describe('webhook channel', () => {
  const secret = 'test-secret-0123456789';

  it('POSTs the documented body, signed with HMAC-SHA256 of the exact bytes', async () => {
    const hook = await receiver();
    const notifier = createWebhookNotifier(`${hook.url}/alerts`, { secret });
    const notification = makeNotification({}, { value: 0, threshold: 1 });
    await notifier.send(notification);
    expect(hook.requests).toHaveLength(1);
    const request = hook.requests[0]!;
    const expected = `sha256=${createHmac('sha256', secret).update(request.raw).digest('hex')}`;
    expect(request.headers['x-hydrowatch-signature']).toBe(expected);
    expect(verifySignature(request.raw, request.headers['x-hydrowatch-signature'] as string, secret)).toBe(true);
    expect(verifySignature(request.raw, expected.replace(/.$/, '0'), secret)).toBe(false);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-hydrowatch-event']).toBe('raised');
    expect(JSON.parse(request.raw)).toEqual({
      version: 1,
      deliveryId: `a-00001-pump-trip-P-01:raised:${T0 + 1000}`,
      kind: 'raised',
      at: '2026-07-14T06:00:01.000Z',
      summary: '[CRITICAL] pump-trip P-01 plant1 — pump tripped',
      alert: {
        id: 'a-00001-pump-trip-P-01',
        rule: 'pump-trip',
        ruleKind: 'pump_trip',
        site: 'plant1',
        asset: 'P-01',
        kind: 'pump',
        region: 'north',
        severity: 'critical',
        state: 'active_unack',
        message: 'pump tripped',
        value: 0,
        threshold: 1,
        raisedAt: '2026-07-14T06:00:00.000Z',
        clearedAt: null,
        acknowledged: null,
        shelved: null,
        tier: 0,
        replayed: false,
      },
      crew: { name: 'pump-mechanics', tier: 0 },
      link: 'http://hydrowatch.example/alerts/a-00001-pump-trip-P-01',
    });
  });

  it('a crew with its own webhook gets it too; non-2xx answers throw, 4xx as permanent', async () => {
    let status = 200;
    const crewHook = await receiver({ status: () => status });
    const crewNotifier = createCrewWebhookNotifier({ secret, mainUrl: 'http://main.example/hook' });
    const routed = makeNotification({ crew: { name: 'emergency-repair', tier: 1, contacts: { webhook: `${crewHook.url}/page` } } });
    expect(crewNotifier.wants?.(routed)).toBe(true);
    expect(crewNotifier.wants?.(makeNotification())).toBe(false); // no crew webhook
    expect(crewNotifier.wants?.(makeNotification({ crew: { name: 'x', tier: 0, contacts: { webhook: 'http://main.example/hook' } } }))).toBe(false);
    await crewNotifier.send(routed);
    expect(crewHook.requests[0]?.path).toBe('/page');
    expect(JSON.parse(crewHook.requests[0]!.raw).crew).toEqual({ name: 'emergency-repair', tier: 1 });

    status = 400;
    const rejected = await crewNotifier.send(routed).catch((e: unknown) => e);
    expect(rejected).toMatchObject({ name: 'DeliveryError', retryable: false });
    expect((rejected as Error).message).toContain('HTTP 400');
    status = 503;
    expect(await crewNotifier.send(routed).catch((e: unknown) => e)).toMatchObject({ retryable: true });
  });
});

describe('e-mail channel (smtp-server)', () => {
  interface Mail {
    from: string;
    to: string[];
    raw: string;
  }
  const mails: Mail[] = [];
  let port = 0;

  beforeAll(async () => {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('nobody@')) {
          callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
          return;
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const from = session.envelope.mailFrom;
          mails.push({ from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  });

  it('sends the routed crew a plain-text mail with the subject, value vs threshold, times and link', async () => {
    const notifier = createEmailNotifier(
      { url: `smtp://127.0.0.1:${port}`, from: 'hydrowatch <alerts@water.example>', to: ['dispatch@water.example'], timeoutMs: 10_000 },
      { timezone: 'Asia/Shanghai' },
    );
    cleanups.push(() => notifier.close?.() ?? Promise.resolve());
    const crew = { name: 'pump-mechanics', tier: 0, contacts: { email: ['mechanics@water.example', 'foreman@water.example'] } };
    await notifier.send(makeNotification({ crew }));
    const mail = mails.at(-1)!;
    expect(mail.from).toBe('alerts@water.example');
    expect(mail.to).toEqual(['mechanics@water.example', 'foreman@water.example']);
    const { headers, body } = parseMail(mail.raw);
    expect(headers.subject).toBe('[CRITICAL] pump-trip P-01 plant1 — pump tripped');
    expect(headers['x-hydrowatch-alert']).toBe('a-00001-pump-trip-P-01');
    expect(headers['content-type']).toMatch(/^text\/plain/);
    expect(body).toContain('Raised:    2026-07-14 14:00:00 Asia/Shanghai');
    expect(body).toContain('Paged:     pump-mechanics (tier 0)');
    expect(body).toContain('Link:      http://hydrowatch.example/alerts/a-00001-pump-trip-P-01');
    expect(body).toContain('Acknowledge the alert to stop escalation');

    await notifier.send(
      makeNotification(
        { kind: 'escalated', crew: crewB },
        { id: 'a-3', rule: 'reservoir-low', ruleKind: 'threshold', kind: 'reservoir', asset: 'R-N', severity: 'high', message: 'reservoir level low', value: 18.4, threshold: 25, tier: 1 },
      ),
    );
    const second = mails.at(-1)!;
    expect(second.to).toEqual(['repair@water.example']);
    const parsed = parseMail(second.raw);
    expect(parsed.headers.subject).toBe('[HIGH] ESCALATED to tier 1 reservoir-low R-N plant1 — reservoir level low');
    expect(parsed.body).toContain('Reading:   value 18.4 vs threshold 25');
    expect(parsed.headers['in-reply-to']).toBe('<a-3@hydrowatch>');

    // Unrouted: the configured default recipients. Replayed: nobody.
    expect(notifier.wants?.(makeNotification({ crew: undefined }))).toBe(true);
    await notifier.send(makeNotification({ crew: undefined }));
    expect(mails.at(-1)!.to).toEqual(['dispatch@water.example']);
    expect(notifier.wants?.(makeNotification({}, { replayed: true }))).toBe(false);
  });

  it('a refused recipient is a permanent failure; a dead server a retryable one', async () => {
    const notifier = createEmailNotifier({ url: `smtp://127.0.0.1:${port}`, from: 'alerts@water.example', to: [], timeoutMs: 5_000 });
    const refused = await notifier.send(makeNotification({ crew: { name: 'x', tier: 0, contacts: { email: ['nobody@water.example'] } } })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'DeliveryError', retryable: false });
    await notifier.close?.();
    const dead = createEmailNotifier({ url: `smtp://127.0.0.1:${await freePort()}`, from: 'alerts@water.example', to: [], timeoutMs: 5_000 });
    const error = await dead.send(makeNotification()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DeliveryError', retryable: true });
    await dead.close?.();
  });
});

describe('MQTT alert topic (aedes)', () => {
  it('retained while active, emptied when it ends', async () => {
    const broker = await Aedes.createBroker();
    const server: TcpServer = createTcpServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const clients: MqttClient[] = [];
    cleanups.push(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const publish: MqttPublish = (topic, payload, { retain, qos }) =>
      new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false }, (error) => (error ? reject(error) : resolve())),
      );
    const notifier = createMqttNotifier(publish);
    const topic = 'hydrowatch/alerts/plant1/P-01/pump-trip';

    const raised = makeNotification();
    await notifier.send(raised);

    // A subscriber that comes later gets the retained alert.
    const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    clients.push(sub);
    const messages: Array<{ topic: string; payload: string; retain: boolean }> = [];
    sub.on('message', (t, payload, packet) => messages.push({ topic: t, payload: payload.toString('utf8'), retain: packet.retain }));
    await sub.subscribeAsync('hydrowatch/alerts/#', { qos: 1 });
    await eventually(() => expect(messages).toHaveLength(1), 10_000);
    expect(messages[0]).toMatchObject({ topic, retain: true });
    expect(JSON.parse(messages[0]!.payload)).toMatchObject({ kind: 'raised', alert: { id: raised.alert.id, state: 'active_unack' } });

    // Acknowledged but still active: the retained payload is updated, not removed.
    await notifier.send({ ...raised, kind: 'acknowledged', alert: { ...raised.alert, state: 'active_ack', acknowledged: { by: 'li.wei', note: 'on my way', at: T0 + 2000 } } });
    await eventually(() => expect(messages).toHaveLength(2), 10_000);
    expect(JSON.parse(messages[1]!.payload).alert.acknowledged).toEqual({ by: 'li.wei', note: 'on my way', at: new Date(T0 + 2000).toISOString() });

    await notifier.send({ ...raised, kind: 'cleared', alert: { ...raised.alert, state: 'cleared', clearedAt: T0 + 3000 } });
    await eventually(() => expect(messages).toHaveLength(3), 10_000);
    expect(messages[2]).toMatchObject({ topic, payload: '' });

    // A new subscriber finds nothing retained: only the marker published after it subscribed arrives.
    const late = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    clients.push(late);
    const lateMessages: string[] = [];
    late.on('message', (t) => lateMessages.push(t));
    await late.subscribeAsync('hydrowatch/alerts/#', { qos: 1 });
    await publish('hydrowatch/alerts/marker', 'x', { retain: false, qos: 1 });
    await eventually(() => expect(lateMessages).toContain('hydrowatch/alerts/marker'), 10_000);
    expect(lateMessages).toEqual(['hydrowatch/alerts/marker']);
  });
});

describe('dispatcher with a receiver that is down', () => {
  it('retries with backoff, counts failures in /metrics, never slows enqueue, and delivers once the receiver is up', async () => {
    const port = await freePort();
    const registry = new Registry();
    const lines: string[] = [];
    const dispatcher = new NotificationDispatcher([createWebhookNotifier(`http://127.0.0.1:${port}/hook`, { secret: 's3cret', timeoutMs: 2000 })], {
      registry,
      log: createLogger('info', (line) => lines.push(line)),
      initialBackoffMs: 50,
      maxBackoffMs: 400,
    });
    cleanups.push(() => dispatcher.close(1000));
    const metricValue = async (name: string): Promise<number> => {
      const text = await registry.metrics();
      const match = new RegExp(`^${name}\\{channel="webhook"\\} (\\d+)$`, 'm').exec(text);
      return Number(match?.[1] ?? NaN);
    };

    const started = performance.now();
    for (let i = 0; i < 200; i++) dispatcher.enqueue(makeNotification({ at: T0 + i }, { id: `a-${i}` }));
    expect(performance.now() - started).toBeLessThan(250);
    expect(await metricValue('hydrowatch_notification_failures_total')).toBe(0); // nothing was tried inside enqueue()

    await eventually(async () => expect(await metricValue('hydrowatch_notification_failures_total')).toBeGreaterThanOrEqual(3), 10_000);
    expect(await metricValue('hydrowatch_notifications_sent_total')).toBe(0);
    expect(await metricValue('hydrowatch_notification_queue_depth')).toBe(200);
    expect(lines.filter((l) => l.includes('webhook failing')).length).toBe(1);
    expect(lines.some((l) => /ECONNREFUSED/.test(l))).toBe(true);

    const hook = await receiver({ port });
    await eventually(async () => expect(await metricValue('hydrowatch_notifications_sent_total')).toBe(200), 15_000);
    expect(await metricValue('hydrowatch_notification_queue_depth')).toBe(0);
    expect(hook.requests).toHaveLength(200);
    // In order, each one signed.
    expect(hook.requests.map((r) => JSON.parse(r.raw).alert.id)).toEqual([...Array(200).keys()].map((i) => `a-${i}`));
    expect(hook.requests.every((r) => verifySignature(r.raw, r.headers['x-hydrowatch-signature'] as string, 's3cret'))).toBe(true);
    expect(lines.some((l) => l.includes('webhook delivers again'))).toBe(true);
  });
});

describe('createNotifiers', () => {
  it('builds one channel per configured key', () => {
    const none = createNotifiers({}, { log: silentLogger });
    expect(none.map((n) => n.name)).toEqual(['crew-webhook']);
    const all = createNotifiers(
      {
        webhookUrl: 'http://127.0.0.1:1/hook',
        webhookSecret: 'x',
        alertmanagerUrl: 'http://127.0.0.1:9093',
        smtp: { url: 'smtp://127.0.0.1:25', from: 'alerts@water.example', to: [], timeoutMs: 15_000 },
      },
      { log: silentLogger, publish: async () => undefined },
    );
    expect(all.map((n) => n.name)).toEqual(['webhook', 'crew-webhook', 'alertmanager', 'mqtt', 'email']);
    for (const notifier of all) void notifier.close?.();
  });
});

/** Headers (unfolded, RFC 2047 decoded, lower-case names) and the decoded text body of a raw mail. */
function parseMail(raw: string): { headers: Record<string, string>; body: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  let body = rest.join('\n\n');
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) body = decodeQuotedPrintable(body.replace(/=\r?\n/g, ''));
  else if (/base64/i.test(headers['content-transfer-encoding'] ?? '')) body = Buffer.from(body, 'base64').toString('utf8');
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
