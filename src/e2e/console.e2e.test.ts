// The browser console (docs/console.md) in a real browser: Debian's chromium driven by
// playwright-core, against a real server with token authorization on and real Python workers.
// Screenshots go to a temporary folder (LANTERN_CONSOLE_SCREENSHOTS=<dir> keeps them there).
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { lanternPerTest, request, waitFor, type Lantern, type MarSpec } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };
const SECOND: MarSpec = { file: 'second.mar', handler: 'echo_handler.py', modelName: 'second' };
const ECHO_2: MarSpec = { file: 'echo-2.mar', handler: 'echo_handler.py', modelName: 'echo', version: '2.0' };
/** Predictions sent to move the latency chart: bounded. */
const LOAD_REQUESTS = 40;

interface Keys {
  readonly management: string;
  readonly inference: string;
}

async function keysOf(lantern: Lantern): Promise<Keys> {
  const file = lantern.server.keyFile;
  assert.ok(file !== null, 'token authorization is on');
  const keys = JSON.parse(await readFile(file, 'utf8')) as { management: { key: string }; inference: { key: string } };
  return { management: keys.management.key, inference: keys.inference.key };
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: unknown[] }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes): ${v.help}`);
}

const card = (page: Page, model: string, version = '1.0') => page.locator(`article[data-model="${model}"][data-version="${version}"]`);

describe('the browser console', { timeout: 180_000 }, () => {
  const lanterns = lanternPerTest({ afterEach });
  let browser: Browser | null = null;
  afterEach(async () => {
    await browser?.close();
    browser = null;
  });

  it('signs in, follows the models and workers live, scales, shows load and a crash, and passes axe', async (t) => {
    const lantern = await lanterns.start({ archives: [ECHO, SECOND, ECHO_2], properties: ['disable_token_authorization=false'] });
    const keys = await keysOf(lantern);
    const keep = process.env.LANTERN_CONSOLE_SCREENSHOTS;
    const shots = keep ?? (await mkdtemp(path.join(tmpdir(), 'lantern-console-')));
    await mkdir(shots, { recursive: true });
    try {
      browser = await launch();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const urls: string[] = [];
      const problems: string[] = [];
      page.on('request', (r) => urls.push(r.url()));
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (m) => {
        // Refusals the test provokes (a wrong key, a missing archive) are the API's answers, checked
        // below; anything else (a CSP refusal, a script error) is a fault.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
      });
      page.on('response', (r) => {
        const { pathname } = new URL(r.url());
        // Every static file the page asks for is there.
        if (pathname.startsWith('/console/') && !pathname.startsWith('/console/api/') && r.status() !== 200) problems.push(`${r.status()} for ${pathname}`);
      });

      // Without a key the console asks for one; the static files need none.
      const started = performance.now();
      await page.goto(`${lantern.management}/console/`);
      await page.getByLabel('Management key').waitFor();
      t.diagnostic(`console load to the sign-in form: ${Math.round(performance.now() - started)} ms`);
      await page.screenshot({ path: path.join(shots, 'sign-in.png') });

      // A wrong key is refused and says so; the right one opens the console.
      await page.getByLabel('Management key').fill('not-the-key');
      await page.keyboard.press('Enter');
      await page.getByText('The management key was refused').waitFor();
      const signedIn = performance.now();
      await page.getByLabel('Management key').fill(keys.management);
      await page.keyboard.press('Enter');
      await page.locator('#models-title').waitFor();
      await page.locator('#no-models').waitFor();
      t.diagnostic(`sign-in to the first data shown: ${Math.round(performance.now() - signedIn)} ms`);

      // A model registered through the API appears.
      const registered = await request('POST', `${lantern.management}/models?url=echo.mar&initial_workers=1`, {
        headers: { authorization: `Bearer ${keys.management}` },
      });
      assert.equal(registered.status, 200, registered.text);
      await card(page, 'echo').locator('tbody tr[data-state="ready"]').first().waitFor();

      // Scale from the console with the keyboard only: the worker count changes in the server and on the page.
      await card(page, 'echo').getByLabel('Min workers').focus();
      await page.keyboard.press('Control+A');
      await page.keyboard.type('2');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('2');
      await page.keyboard.press('Enter');
      await page.locator('#confirm[open]').waitFor();
      await page.keyboard.press('Enter');
      await waitFor('two echo workers in the server', () => lantern.pids('echo').length === 2, 30_000);
      await waitFor('two ready workers on the page', async () => (await card(page, 'echo').locator('tbody tr[data-state="ready"]').count()) === 2, 30_000);

      // The latency chart moves under a bounded load.
      assert.equal(await card(page, 'echo').locator('figure.latency').getAttribute('data-latency-points'), '0');
      for (let i = 0; i < LOAD_REQUESTS; i++) {
        const reply = await request('POST', `${lantern.inference}/predictions/echo`, { body: `load ${i}`, headers: { authorization: `Bearer ${keys.inference}` } });
        assert.equal(reply.status, 200, reply.text);
      }
      await waitFor('latency points on the chart', async () => Number(await card(page, 'echo').locator('figure.latency').getAttribute('data-latency-points')) > 0);
      assert.match(await card(page, 'echo').locator('figure.latency figcaption').innerText(), /p50 [\d.]+ ms, p99 [\d.]+ ms/);

      // A worker killed from outside shows up with its restart and its last error.
      const [victim] = lantern.pids('echo');
      assert.ok(victim !== undefined);
      process.kill(victim, 'SIGKILL');
      const crashedRow = card(page, 'echo').locator('tbody tr').filter({ has: page.locator('td.restarts', { hasText: /^[1-9]/ }) });
      await crashedRow.first().waitFor({ timeout: 30_000 });
      assert.notEqual((await crashedRow.first().locator('td.last-error').innerText()).trim(), '–');
      await waitFor('the restarted worker ready', async () => (await card(page, 'echo').locator('tbody tr[data-state="ready"]').count()) === 2, 30_000);

      // The live log tail, filtered.
      await page.getByLabel('Filter').fill('restarting');
      await page.locator('#log .line', { hasText: 'restarting' }).first().waitFor();

      // A reload keeps the key for this tab: the console opens straight onto the data.
      const reloaded = performance.now();
      await page.reload();
      await card(page, 'echo').locator('tbody tr').first().waitFor();
      const loadEventMs = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
      t.diagnostic(`reload to the models shown: ${Math.round(performance.now() - reloaded)} ms (load event at ${Math.round(loadEventMs)} ms)`);

      // Register from the model store list, then a refused registration shows the API's error.
      await page.getByLabel('From the model store').selectOption('second.mar');
      await page.getByLabel('Initial workers').fill('0');
      await page.getByRole('button', { name: 'Register…', exact: true }).click();
      await page.getByRole('button', { name: 'Register', exact: true }).click();
      await card(page, 'second').waitFor();
      await page.getByLabel('or a URL').fill('missing.mar');
      await page.getByRole('button', { name: 'Register…', exact: true }).click();
      await page.getByRole('button', { name: 'Register', exact: true }).click();
      await page.locator('#action-result.error', { hasText: 'ModelNotFoundException' }).waitFor();
      await page.getByLabel('or a URL').fill('');
      await page.screenshot({ path: path.join(shots, 'console.png'), fullPage: true });

      const desktop = await seriousViolations(page);
      assert.deepEqual(desktop, [], 'axe at laptop width');

      // A second version registered through the API is made the default from the console.
      const auth = { headers: { authorization: `Bearer ${keys.management}` } };
      assert.equal((await request('POST', `${lantern.management}/models?url=echo-2.mar&initial_workers=0`, auth)).status, 200);
      const v2 = card(page, 'echo', '2.0');
      await v2.getByRole('button', { name: 'Make default…' }).click();
      await page.getByRole('button', { name: 'Make default', exact: true }).click();
      await v2.locator('.badge:visible').waitFor();
      await waitFor('version 2.0 the default in the server', () => lantern.server.registry.isDefault('echo', '2.0'));

      // Unregister from the console: the card goes.
      await card(page, 'second').getByRole('button', { name: 'Unregister…' }).click();
      await page.getByRole('button', { name: 'Unregister', exact: true }).click();
      await card(page, 'second').waitFor({ state: 'detached' });
      assert.equal((await request('GET', `${lantern.management}/models/second`, auth)).status, 404);

      // Down to a phone: one column, nothing wider than the screen, axe still clean.
      await page.setViewportSize({ width: 390, height: 844 });
      await waitFor('the page to fit a phone', () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
      await page.screenshot({ path: path.join(shots, 'phone.png'), fullPage: true });
      assert.deepEqual(await seriousViolations(page), [], 'axe at phone width');

      assert.deepEqual(problems, []);
      for (const url of urls) assert.ok(!url.includes(keys.management), `the key is never in a URL: ${url}`);
      assert.ok(!lantern.logs.some((line) => line.includes(keys.management)), 'the key is never logged');
      t.diagnostic(`screenshots in ${shots}`);
    } finally {
      if (keep === undefined) await rm(shots, { recursive: true, force: true });
    }
  });

  it('opens without a key when token authorization is off', async () => {
    const open = await lanterns.start();
    browser = await launch();
    const page = await browser.newPage();
    await page.goto(`${open.management}/console/`);
    await page.locator('#models-title').waitFor();
    assert.equal(await page.locator('#sign-in').isHidden(), true);
    assert.equal(await page.locator('#sign-out').isHidden(), true);
  });

  it('serves its files without a key and with a strict policy, and guards its data with the management key', async () => {
    const lantern = await lanterns.start({ properties: ['disable_token_authorization=false'] });
    const keys = await keysOf(lantern);
    const page = await request('GET', `${lantern.management}/console/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal((await request('GET', `${lantern.management}/console/uPlot.iife.min.js`)).status, 200, 'the chart library is in the package');
    const bare = await fetch(`${lantern.management}/console`, { redirect: 'manual' });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), '/console/');
    for (const name of ['server', 'models', 'store', 'logs']) {
      const refused = await request('GET', `${lantern.management}/console/api/${name}`);
      assert.equal(refused.status, 400, name);
      assert.equal(refused.json().type, 'InvalidKeyException');
      const wrongKey = await request('GET', `${lantern.management}/console/api/${name}`, { headers: { authorization: `Bearer ${keys.inference}` } });
      assert.equal(wrongKey.status, 400, `${name} with the inference key`);
    }
    const auth = { headers: { authorization: `Bearer ${keys.management}` } };
    // Only the console's own files: no way out of its folder, in any encoding.
    for (const escape of ['/console/..%2Fkey_file.json', '/console/%2e%2e/%2e%2e/package.json', '/console/missing.js']) {
      assert.equal((await request('GET', `${lantern.management}${escape}`, auth)).status, 404, escape);
    }
    const tooLong = await request('GET', `${lantern.management}/console/api/logs?filter=${'x'.repeat(201)}`, auth);
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.json().type, 'BadRequestException');
    const server = (await request('GET', `${lantern.management}/console/api/server`, auth)).json();
    assert.equal(server.tokenAuthorization, true);
    assert.equal(server.config.disable_token_authorization, false);
    assert.ok(!JSON.stringify(server).includes(keys.management), 'no key in the server view');
    assert.deepEqual(
      server.listeners.map((l: { api: string }) => l.api),
      ['inference', 'management', 'metrics', 'grpc-inference', 'grpc-management'],
    );
    // The refusals above are in the log tail; a filter keeps only them.
    const logs = (await request('GET', `${lantern.management}/console/api/logs?filter=token_refused`, auth)).json();
    assert.ok(logs.lines.length >= 4, JSON.stringify(logs));
    assert.ok(logs.lines.every((l: { message: string }) => l.message.includes('TOKEN_REFUSED')));
    const newer = (await request('GET', `${lantern.management}/console/api/logs?after=${logs.last}`, auth)).json();
    assert.ok(newer.lines.every((l: { seq: number }) => l.seq > logs.last));
  });

  it('is gone with enable_console=false', async () => {
    const off = await lanterns.start({ properties: ['enable_console=false'] });
    for (const path of ['/console/', '/console/app.js', '/console/api/server']) {
      const reply = await request('GET', `${off.management}${path}`);
      assert.equal(reply.status, 404, `${path}: ${reply.text}`);
    }
  });
});
