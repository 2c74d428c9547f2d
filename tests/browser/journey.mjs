// Drives headless Chromium (Debian's /usr/bin/chromium) through Waiver's web interface, in
// English and in Chinese: public pages, signing in through the form, the applicant's pages.
// On every page: a screenshot (artefact), axe-core (vendored) with WCAG 2.1 A/AA rules, no
// serious or critical violation allowed, and keyboard access to the skip link.
//
// Usage: node journey.mjs <base-url> <artefact-dir>
// Prints one JSON line per page and exits 1 on any failure.

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error('usage: node journey.mjs <base-url> <artefact-dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'vendor', 'axe-core-4.14.1.min.js'), 'utf8');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const failures = [];
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });

async function check(page, name, lang) {
  const started = Date.now();
  const html = await page.content();
  const file = join(out, `${lang}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // Keyboard: the first Tab lands on the skip link.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.className || '');
  // axe-core is evaluated through the DevTools protocol (the page's CSP forbids inline script).
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = {
    page: name, lang, url: page.url(), bytes: html.length,
    violations: bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })),
    minor: result.violations.length - bad.length, skipLink: focused.includes('skip'), screenshot: file,
    ms: Date.now() - started,
  };
  console.log(JSON.stringify(report));
  if (bad.length) failures.push(`${lang} ${name}: ${bad.map((v) => v.id).join(', ')}`);
  if (!report.skipLink) failures.push(`${lang} ${name}: Tab does not reach the skip link first`);
  if (html.length > 200 * 1024) failures.push(`${lang} ${name}: ${html.length} bytes > 200 KB`);
  const htmlLang = await page.getAttribute('html', 'lang');
  if (htmlLang !== (lang === 'zh' ? 'zh-Hans' : 'en')) failures.push(`${lang} ${name}: html lang=${htmlLang}`);
}

for (const lang of ['en', 'zh']) {
  const context = await browser.newContext({
    bypassCSP: true,
    locale: lang === 'zh' ? 'zh-CN' : 'en-GB',
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  const cspErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()); });
  const go = async (path, name) => {
    const r = await page.goto(base + path);
    if (!r || r.status() >= 400) failures.push(`${lang} ${name}: HTTP ${r && r.status()}`);
    await check(page, name, lang);
  };
  await go('/', 'home');
  await go('/tariff?code=12019090&origin=US&at=2026-11-15', 'tariff');
  // A mistake is shown beside its field, and fixing it works.
  await page.goto(base + '/tariff?code=12&origin=US');
  const invalid = await page.getAttribute('#code', 'aria-invalid');
  if (invalid !== 'true') failures.push(`${lang} tariff error: the code field is not marked invalid`);
  await page.fill('#code', '0203.29.00');
  await page.click('button[type=submit]');
  if (!(await page.content()).includes('02032900')) failures.push(`${lang} tariff fix: no result after correcting the code`);
  await go('/register', 'register');
  await go('/sign-in', 'sign-in');
  await page.fill('#username', 'li.wei');
  await page.fill('#password', 'waiver-demo-2019');
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/');
  await check(page, 'home-signed-in', lang);
  await go('/applications', 'applications');
  const first = await page.getAttribute('table tbody tr a', 'href');
  if (first) await go(first, 'application');
  await go('/allowances', 'allowances');
  const allowance = await page.getAttribute('table tbody tr a', 'href');
  if (allowance) await go(allowance, 'allowance'); else failures.push(`${lang}: the demo applicant has no allowance`);
  await go('/notifications', 'notifications');
  // Sign out through the form (CSRF token included by the page).
  await page.click('nav form button[type=submit]');
  await page.waitForURL(base + '/');
  const signedOut = await page.content();
  if (!signedOut.includes('/sign-in')) failures.push(`${lang}: sign-out did not sign out`);
  await context.close();
  // The same pages with the real CSP: nothing on them may be blocked.
  const strict = await browser.newContext();
  const p2 = await strict.newPage();
  const blocked = [];
  p2.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
  await p2.goto(base + '/tariff?code=12019090&origin=US&at=2026-11-15&lang=' + lang);
  if (blocked.length) failures.push(`${lang}: CSP blocked ${blocked.join('; ')}`);
  await strict.close();
}

await browser.close();
if (failures.length) {
  console.error('FAILURES:\n' + failures.join('\n'));
  process.exit(1);
}
console.log('browser journey passed');
