#!/usr/bin/env node
// Measures how long the browser console takes to load (docs/console.md, "Load time"): opens
// /console/ in fresh Chromium pages (Debian's, through playwright-core) with the management key
// already in the tab, and prints the load event and the time until the first worker row is shown.
//   node scripts/measure-console.mjs http://127.0.0.1:8081 [key_file.json] [runs]
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [base = 'http://127.0.0.1:8081', keyFile = 'key_file.json', runsText = '6'] = process.argv.slice(2);
let key = null;
try {
  key = JSON.parse(readFileSync(keyFile, 'utf8')).management.key;
} catch {
  // token authorization off: the console opens without a key
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const rows = [];
try {
  for (let run = 1; run <= Number(runsText); run++) {
    const context = await browser.newContext();
    if (key !== null) await context.addInitScript((k) => sessionStorage.setItem('lantern.managementKey', k), key);
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${base}/console/`);
    await page.locator('article tbody tr').first().waitFor();
    const shownMs = Math.round(performance.now() - started);
    const loadEventMs = await page.evaluate(() => Math.round(performance.getEntriesByType('navigation')[0].loadEventEnd));
    rows.push({ run, loadEventMs, firstWorkerShownMs: shownMs });
    await context.close();
  }
} finally {
  await browser.close();
}
console.table(rows);
