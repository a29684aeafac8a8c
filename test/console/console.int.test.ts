// The alarm console in a real headless Chromium (Debian `chromium`, driven by playwright-core)
// against a real service and InfluxDB: sign in with a token that never enters a URL, see a pump
// trip appear live, acknowledge it, see the `alert` event in InfluxDB; a viewer cannot; deep
// links; the heat-wave banner and actions; screenshots for the README (docs/console-*.png).
import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDebianPackages } from '../../src/dev/apt.js';
import { addDevice } from '../../src/security/cli.js';
import { sha256Hex } from '../../src/security/hash.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const TOKENS = { viewer: 'hwt_console-test-viewer', operator: 'hwt_console-test-operator' };
const API_TOKENS = [
  { name: 'crew-phone', role: 'viewer', sha256: sha256Hex(TOKENS.viewer) },
  { name: 'dispatch-desk', role: 'operator', sha256: sha256Hex(TOKENS.operator) },
];
const ASSETS = [
  { site: 'plant1', kind: 'pump', id: 'P-01', region: 'north', station: 'S1', ratedFlow_m3h: 400, role: 'duty' },
  { site: 'plant1', kind: 'pump', id: 'P-02', region: 'north', station: 'S1', ratedFlow_m3h: 400, role: 'standby' },
  { site: 'hill', kind: 'reservoir', id: 'R-H', region: 'north', capacity_m3: 20_000, area_m2: 4_000, minLevel_m: 0.5, maxLevel_m: 5 },
  { site: 'hill', kind: 'meter', id: 'DM-3', region: 'north', district: 'hill-east' },
  { site: 'hill', kind: 'weather', id: 'W-1', region: 'north' },
];
const RULES = [
  { id: 'pump-trip', kind: 'pump_trip', severity: 'critical', scope: { kind: 'pump' }, message: 'pump tripped' },
  { id: 'reservoir-low', kind: 'threshold', severity: 'high', scope: { kind: 'reservoir' }, field: 'level_pct', below: 25, deadband: 3, message: 'reservoir level low' },
  { id: 'pressure-low', kind: 'threshold', severity: 'medium', scope: { kind: 'meter' }, field: 'pressure_bar', below: 2, deadband: 0.2, message: 'district pressure low' },
];
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PHONE = { width: 390, height: 844 };
const DESK = { width: 1280, height: 860 };
// Screenshots are test artifacts (test-artifacts/, not committed); UPDATE_SCREENSHOTS=1 refreshes the README's copies in docs/.
const DOCS = join(import.meta.dirname, '..', '..', process.env.UPDATE_SCREENSHOTS === '1' ? 'docs' : 'test-artifacts');
mkdirSync(DOCS, { recursive: true });

// Page code is passed as strings: the test's TypeScript has no DOM types.
const focusedId = (page: Page) => page.evaluate<string | undefined>('document.activeElement?.id');

interface Tab {
  page: Page;
  /** Every URL the page requested: the token must be in none. */
  urls: string[];
  /** Uncaught errors and console errors (a CSP violation is one). */
  errors: string[];
}

describe('alarm console in headless Chromium', () => {
  let browser: Browser;
  let t: TestService;
  let dir: string;
  let plant1: MqttClient;
  let hill: MqttClient;
  const contexts: BrowserContext[] = [];

  const open = async (viewport: { width: number; height: number }, path = '/console'): Promise<Tab> => {
    const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Asia/Shanghai' });
    contexts.push(context);
    const page = await context.newPage();
    const tab: Tab = { page, urls: [], errors: [] };
    page.on('request', (request) => tab.urls.push(request.url()));
    page.on('pageerror', (error) => tab.errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) tab.errors.push(message.text());
    });
    await page.goto(`${t.service.httpUrl}${path}`);
    return tab;
  };
  const signIn = async ({ page }: Tab, token: string) => {
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#connection').textContent()).toBe('Live');
  };
  const api = async (path: string) => {
    const response = await fetch(`${t.service.httpUrl}${path}`, { headers: { authorization: `Bearer ${TOKENS.operator}` } });
    return { status: response.status, body: (await response.json()) as any };
  };
  const telemetry = (client: MqttClient, site: string, kind: string, asset: string, ts: number, values: Record<string, number | boolean>) =>
    client.publishAsync(`hydrowatch/${site}/${kind}/${asset}/telemetry`, JSON.stringify({ ts, values }), { qos: 1 });

  beforeAll(async () => {
    const { chromium: executablePath } = await ensureDebianPackages({ chromium: 'chromium' });
    dir = await mkdtemp(join(tmpdir(), 'hydrowatch-console-'));
    const devices = join(dir, 'devices.yaml');
    const plant1Login = await addDevice({ site: 'plant1', file: devices }, () => undefined);
    const hillLogin = await addDevice({ site: 'hill', file: devices }, () => undefined);
    [browser, t] = await Promise.all([
      chromium.launch({ executablePath, args: CHROMIUM_ARGS }),
      startTestService(
        inject('influxUrl'),
        { influx: { flushIntervalMs: 20 }, api: { tokens: API_TOKENS }, assets: ASSETS, alerts: { rules: RULES } },
        { HYDROWATCH_INSECURE: '0', HYDROWATCH_DEVICES: devices },
      ),
    ]);
    [plant1, hill] = await Promise.all([t.publisher(plant1Login), t.publisher(hillLogin)]);
    await mkdir(DOCS, { recursive: true });
  });
  afterAll(async () => {
    // On a loaded machine Chromium can be slow to go: bounded, so the service still closes.
    const bounded = (work: Promise<unknown>) => Promise.race([work.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 15_000))]);
    for (const context of contexts) await bounded(context.close());
    await bounded(browser?.close() ?? Promise.resolve());
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  let pumpAlertId: string;

  it('serves the console with a strict Content-Security-Policy, and redirects /console to /console/', async () => {
    const page = await fetch(`${t.service.httpUrl}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*script-src 'self'/);
    const script = await fetch(`${t.service.httpUrl}/console/console.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${t.service.httpUrl}/console`, { redirect: 'manual' })).headers.get('location')).toBe('console/');
    expect((await fetch(`${t.service.httpUrl}/console/..%2Fpackage.json`)).status).toBe(404);
    // The stream is an API route like any other: no token, no stream.
    expect((await fetch(`${t.service.httpUrl}/api/alerts/stream`)).status).toBe(401);
  });

  it('signs in, shows a pump trip live, acknowledges it; the acknowledgement is in InfluxDB; a viewer cannot acknowledge', async () => {
    const desk = await open(DESK);
    await expect.poll(() => desk.page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    await signIn(desk, TOKENS.operator);
    const phone = await open(PHONE);
    await signIn(phone, TOKENS.viewer);
    await expect.poll(() => desk.page.locator('#regions').textContent()).toContain('No heat wave — north');
    // Marks the documents: a reload would lose the marks.
    for (const { page } of [desk, phone]) await page.evaluate('window.notReloaded = true');

    const now = Date.now();
    await telemetry(plant1, 'plant1', 'pump', 'P-01', now - 4 * 60_000, { running: true, flow_m3h: 410, fault_code: 0 });
    await telemetry(plant1, 'plant1', 'pump', 'P-01', now - 3 * 60_000, { running: false, flow_m3h: 0, fault_code: 31 });
    const card = desk.page.locator('li.alert', { has: desk.page.getByRole('heading', { name: /P-01 · pump-trip/ }) });
    await card.waitFor({ timeout: 5000 });
    pumpAlertId = (await card.getAttribute('data-id'))!;
    await expect.poll(() => card.locator('.state').textContent()).toBe('Unacknowledged');
    expect(await card.locator('.severity').textContent()).toBe('CRITICAL');
    expect(await card.getByRole('heading').textContent()).toBe('P-01 · pump-trip at plant1');
    expect(await card.textContent()).toMatch(/pump tripped: fault code 31Value31 against threshold 0Active for3 min \(since (\d{1,2} [A-Z][a-z]{2}, )?\d\d:\d\d\)/);
    expect(await desk.page.title()).toBe('(1) CRITICAL — hydrowatch alarm console');
    expect(await desk.page.locator('#announce-urgent').textContent()).toMatch(/^New critical alert: pump-trip on P-01 at plant1/);

    // The viewer (a crew phone) sees it too, but the API refuses its acknowledgement, in plain words.
    const phoneCard = phone.page.locator(`#alert-${pumpAlertId}`);
    await phoneCard.getByRole('button', { name: 'Acknowledge' }).click();
    await phone.page.getByLabel('Your name').fill('crew 7');
    await phone.page.getByRole('dialog').getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => phone.page.locator('#dialog-error').textContent()).toMatch(/^Your token is not allowed to do this; it needs an operator token \(crew-phone has role viewer/);
    await phone.page.getByRole('button', { name: 'Cancel' }).click();
    expect((await api(`/api/alerts/${pumpAlertId}`)).body.state).toBe('active_unack');

    // The dispatcher acknowledges: keyboard only, from the card's button to the dialog's submit.
    await card.getByRole('button', { name: 'Acknowledge' }).focus();
    await desk.page.keyboard.press('Enter');
    await expect.poll(() => focusedId(desk.page)).toBe('field-by');
    await desk.page.keyboard.type('dispatcher Li');
    await desk.page.keyboard.press('Tab');
    await desk.page.keyboard.type('crew 2 sent');
    await desk.page.keyboard.press('Tab'); // Cancel
    await desk.page.keyboard.press('Tab'); // Acknowledge
    await desk.page.keyboard.press('Enter');
    await expect.poll(() => card.locator('.state').textContent()).toBe('Acknowledged');
    expect(await card.locator('.who').textContent()).toMatch(/^Acknowledged by dispatcher Li \(dispatch-desk\) at (\d{1,2} [A-Z][a-z]{2}, )?\d\d:\d\d — “crew 2 sent”$/);
    expect(await card.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    expect(await desk.page.title()).toBe('hydrowatch alarm console');
    // …and the crew's phone follows live.
    await expect.poll(() => phoneCard.locator('.state').textContent()).toBe('Acknowledged');

    const events = await eventually(async () => {
      const rows = await t.rows(`SELECT "state", "by", "id" FROM "alert" WHERE "asset" = 'P-01'`);
      expect(rows.map((r) => r.state)).toEqual(['active', 'acknowledged']);
      return rows;
    });
    expect(events[1]).toMatchObject({ id: pumpAlertId, by: 'dispatcher Li (dispatch-desk)' });

    for (const tab of [desk, phone]) {
      expect(await tab.page.evaluate('window.notReloaded')).toBe(true);
      expect(tab.urls.filter((url) => url.includes(TOKENS.operator) || url.includes(TOKENS.viewer))).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
    expect(await desk.page.evaluate(`sessionStorage.getItem('hydrowatch.console.token')`)).toBe(TOKENS.operator);
    expect(await desk.page.evaluate('JSON.stringify(localStorage)')).not.toContain(TOKENS.operator);
  });

  it('a deep link (from a notification) opens its alert highlighted and focused, even when filters would hide it', async () => {
    // A link from an e-mail opens a new tab: sign in there, and the link still leads to the alert.
    const tab = await open(PHONE, `/console/#/alerts/${pumpAlertId}`);
    await signIn(tab, TOKENS.viewer);
    await expect.poll(() => focusedId(tab.page)).toBe(`alert-${pumpAlertId}-title`);
    expect(await tab.page.locator(`#alert-${pumpAlertId}`).getAttribute('class')).toMatch(/\blinked\b/);
    expect(tab.page.url()).toBe(`${t.service.httpUrl}/console/#/alerts/${pumpAlertId}`);

    await tab.page.goto(`${t.service.httpUrl}/console/#/`);
    await tab.page.getByLabel('Severity').selectOption('low');
    await expect.poll(() => tab.page.locator('#empty').textContent()).toBe('No open alerts match these filters.');
    await tab.page.goto(`${t.service.httpUrl}/console/#/alerts/${pumpAlertId}`);
    await expect.poll(() => focusedId(tab.page)).toBe(`alert-${pumpAlertId}-title`);
    expect(await tab.page.getByLabel('Severity').inputValue()).toBe('');
    expect(tab.errors).toEqual([]);
  });

  it('declares a heat wave and shelves an alert from the console; screenshots for the README', async () => {
    const now = Date.now();
    await telemetry(hill, 'hill', 'weather', 'W-1', now - 10_000, { air_temp_c: 38.4 });
    await telemetry(hill, 'hill', 'reservoir', 'R-H', now - 8 * 60_000, { level_m: 1.1, level_pct: 22.4 });
    await telemetry(hill, 'hill', 'meter', 'DM-3', now - 5 * 60_000, { pressure_bar: 1.6, flow_m3h: 310 });
    await telemetry(plant1, 'plant1', 'pump', 'P-02', now - 2 * 60_000, { running: true, flow_m3h: 395, fault_code: 0 });
    await telemetry(plant1, 'plant1', 'pump', 'P-02', now - 60_000, { running: false, flow_m3h: 0, fault_code: 12 });

    const desk = await open(DESK);
    await signIn(desk, TOKENS.operator);
    await desk.page.getByRole('button', { name: 'Declare heat wave…' }).click();
    await desk.page.getByLabel('Your name').fill('duty manager Wang');
    await desk.page.getByLabel('Reason').fill('CMA orange warning: 38 °C forecast for three days');
    await desk.page.getByRole('button', { name: 'Declare heat wave', exact: true }).click();
    await expect.poll(() => desk.page.locator('#regions').textContent()).toMatch(/HEAT WAVE — north.*Declared by duty manager Wang \(dispatch-desk\)/);
    expect((await api('/api/heatwave')).body.regions[0]).toMatchObject({ active: true, source: 'manual' });

    const meter = desk.page.locator('li.alert', { has: desk.page.getByRole('heading', { name: /DM-3 · pressure-low/ }) });
    await meter.getByRole('button', { name: 'Shelve…' }).click();
    await desk.page.getByLabel('Your name').fill('dispatcher Li');
    await desk.page.getByRole('dialog').getByRole('button', { name: 'Shelve' }).click();
    await expect.poll(() => desk.page.locator('#dialog-error').textContent()).toBe('Please fill in “Reason” (at least 3 characters).');
    await desk.page.getByLabel('Reason').fill('valve work on Hill Rd, pressure expected low');
    await desk.page.getByLabel('For how long').selectOption('120');
    await desk.page.getByRole('dialog').getByRole('button', { name: 'Shelve' }).click();
    await expect.poll(() => meter.locator('.state').textContent()).toBe('Unacknowledged · shelved');
    // The end time, with its date when it falls on another day (late in the evening, local time).
    expect(await meter.locator('.who').textContent()).toMatch(/^Shelved by dispatcher Li \(dispatch-desk\) until (\d{1,2} [A-Z][a-z]{2}, )?\d\d:\d\d — “valve work on Hill Rd/);

    // Two critical pump trips (one acknowledged), the heat-wave alert, a low reservoir, a shelved pressure alert.
    await expect.poll(() => desk.page.locator('#alerts > li').count()).toBe(5);
    expect(await desk.page.locator('#alerts .severity').allTextContents()).toEqual(['CRITICAL', 'CRITICAL', 'HIGH', 'HIGH', 'MEDIUM']);
    // The screenshots show the page from its top, with no focus ring left from the last action.
    await desk.page.evaluate('document.activeElement?.blur(); window.scrollTo(0, 0)');
    await desk.page.screenshot({ path: join(DOCS, 'console-desktop.png') });

    const phone = await open(PHONE);
    await signIn(phone, TOKENS.viewer);
    await expect.poll(() => phone.page.locator('#alerts > li').count()).toBe(5);
    await phone.page.screenshot({ path: join(DOCS, 'console-phone.png') });

    // The repaired pump runs again: its acknowledged alert closes and leaves the list live; its link still shows it, closed.
    await telemetry(plant1, 'plant1', 'pump', 'P-01', Date.now(), { running: true, flow_m3h: 405, fault_code: 0 });
    await expect.poll(() => desk.page.locator('#alerts > li').count()).toBe(4);
    await desk.page.goto(`${t.service.httpUrl}/console/#/alerts/${pumpAlertId}`);
    await expect.poll(() => desk.page.locator('#linked .state').textContent()).toBe('Closed');
    expect(await focusedId(desk.page)).toBe(`alert-${pumpAlertId}-title`);
    expect(await desk.page.locator('#linked button').count()).toBe(0);
    expect([...desk.errors, ...phone.errors]).toEqual([]);
  });
});

describe('alarm console in insecure mode', () => {
  it('works without signing in', async () => {
    const { chromium: executablePath } = await ensureDebianPackages({ chromium: 'chromium' });
    const [browser, t] = await Promise.all([chromium.launch({ executablePath, args: CHROMIUM_ARGS }), startTestService(inject('influxUrl'), { assets: ASSETS })]);
    try {
      const page = await browser.newPage({ viewport: PHONE });
      await page.goto(`${t.service.httpUrl}/console/`);
      await expect.poll(() => page.locator('#connection').textContent()).toBe('Live');
      expect(await page.locator('#signin').isHidden()).toBe(true);
      expect(await page.locator('#sign-out').isHidden()).toBe(true);
      expect(await page.locator('#empty').textContent()).toBe('No open alerts.');
    } finally {
      await browser.close();
      await t.close();
    }
  });
});
