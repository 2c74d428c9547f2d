// Page weight and first render of every page of the web interface, per role, in headless
// Chromium (Debian's /usr/bin/chromium). For each page: the bytes of the document and every
// subresource it loads (CSS, our script), and the median over RUNS loads of
// first-contentful-paint (performance.getEntriesByType('paint')) and of the server's time to
// first byte. Exits 1 if any page weighs more than 200 KB.
//
// Usage: node perf.mjs <base-url> [runs]   (bench/ui.sh starts the server and calls this)

import { chromium } from 'playwright-core';

const [base, runsArg] = process.argv.slice(2);
if (!base) {
  console.error('usage: node perf.mjs <base-url> [runs]');
  process.exit(2);
}
const runs = Number(runsArg || 7);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// (user or null, pages)
const plan = [
  [null, ['/', '/tariff?code=12019090&origin=US&at=2026-11-15', '/register', '/programmes', '/programmes/CN-2020-MKT', '/policy-changes', '/sign-in',
    '/utilisation', '/quotas', '/scenarios', '/scenarios/1?month=2020-07', '/landed-cost?month=2020-07&scenario=1']],
  ['li.wei', ['/', '/applications', '/applications/new', '/allowances', '/notifications', '/enterprise']],
  ['officer.zhang', ['/applications', '/programmes/new?from=CN-2020-MKT', '/reviews/overdue', '/programmes/CN-2020-MKT/sla', '/allowances', '/utilisation']],
  ['expert.liu', ['/queue']],
  ['customs.qingdao', ['/declarations/new', '/declarations/csv', '/declarations/DEMO-2025-0001', '/allowances', '/refunds']],
  ['analyst.he', ['/utilisation', '/programmes/CN-2020-MKT/sla']],
];

const rows = [];
let over = 0;
for (const [user, pages] of plan) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (user) {
    await page.goto(`${base}/sign-in?lang=en`);
    await page.fill('#username', user);
    await page.fill('#password', 'waiver-demo-2019');
    await page.click('button[type=submit]');
    await page.waitForURL(base + '/');
  }
  // An application and an allowance of this user's, when there is one.
  const extra = [];
  if (user) {
    for (const list of ['/applications', '/allowances']) {
      const r = await page.goto(base + list);
      if (r && r.ok()) {
        const href = await page.getAttribute('table tbody tr a', 'href').catch(() => null);
        if (href && pages.includes(list)) extra.push(href);
      }
    }
  }
  const cdp = await context.newCDPSession(page);
  for (const path of [...pages, ...extra]) {
    // Weight: one load with the cache off, every response body counted (document, CSS, script).
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const sizes = [];
    const onResponse = async (resp) => {
      try { sizes.push((await resp.body()).length); } catch { /* a redirect has no body */ }
    };
    page.on('response', onResponse);
    await page.goto(base + path, { waitUntil: 'load' });
    await page.waitForTimeout(50);
    page.off('response', onResponse);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    // First render: RUNS loads as a returning visitor (CSS and script cached, as they are
    // served with max-age), median of first-contentful-paint and of time to first byte.
    const fcp = [];
    const ttfb = [];
    for (let i = 0; i < runs; i++) {
      await page.goto(base + path, { waitUntil: 'load' });
      // The paint entry is recorded with the first frame, which may come after `load`.
      await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, null, { timeout: 3000 }).catch(() => {});
      const m = await page.evaluate(() => {
        const p = performance.getEntriesByName('first-contentful-paint')[0];
        const n = performance.getEntriesByType('navigation')[0];
        return { fcp: p ? p.startTime : null, ttfb: n ? n.responseStart - n.requestStart : null };
      });
      if (m.fcp !== null) fcp.push(m.fcp);
      if (m.ttfb !== null) ttfb.push(m.ttfb);
    }
    if (bytes > 200 * 1024) over += 1;
    rows.push({ user: user || 'anonymous', path, bytes, fcp_ms: median(fcp), fcp_max_ms: Math.max(...fcp), ttfb_ms: median(ttfb), runs: fcp.length });
  }
  await context.close();
}
await browser.close();

console.log('| who | page | weight (bytes) | median FCP ms | worst FCP ms | median TTFB ms |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.user} | \`${r.path}\` | ${r.bytes} | ${r.fcp_ms.toFixed(1)} | ${r.fcp_max_ms.toFixed(1)} | ${r.ttfb_ms.toFixed(1)} |`);
}
const fcps = rows.map((r) => r.fcp_ms);
const worstRuns = rows.map((r) => r.fcp_max_ms);
const slow = rows.filter((r) => r.fcp_ms >= 100).map((r) => `${r.user} ${r.path}`);
console.log(`\npages: ${rows.length}; heaviest ${Math.max(...rows.map((r) => r.bytes))} bytes; FCP median of medians ${median(fcps).toFixed(1)} ms, worst median ${Math.max(...fcps).toFixed(1)} ms, worst single load ${Math.max(...worstRuns).toFixed(1)} ms; pages with a median FCP of 100 ms or more: ${slow.length ? slow.join(', ') : 'none'}; pages over 200 KB: ${over}`);
if (over) process.exit(1);
