// Drives headless Chromium (Debian's /usr/bin/chromium) through Waiver's web interface, in
// English and in Chinese: public pages (utilisation too), signing in through the form, the
// applicant's pages, the whole review journey, customs declaring by form and by CSV file.
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
// A hung page must fail the run, not stall CI: give up after 10 minutes.
setTimeout(() => { console.error('journey timed out after 10 minutes'); process.exit(1); }, 10 * 60 * 1000).unref();
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });

async function check(page, name, lang, { keyboard = true } = {}) {
  const started = Date.now();
  const html = await page.content();
  const file = join(out, `${lang}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // Keyboard: the first Tab lands on the skip link.
  // (Skipped mid-form, where focus is in a field rather than at the top of the page.)
  if (keyboard) await page.keyboard.press('Tab');
  const focused = keyboard ? await page.evaluate(() => document.activeElement?.className || '') : 'skip';
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
  // Utilisation is public: aggregates with the utilisation and duty-forgone charts, and no
  // allowance number or importer code on the page.
  await go('/utilisation', 'utilisation-public');
  {
    const html = await page.content();
    if (/WVR-\d{4}-\d{6}|3700HS0001/.test(html)) failures.push(`${lang} utilisation: an allowance or importer is named to an anonymous visitor`);
    if ((await page.$$('svg.chart[role=img]')).length < 2) failures.push(`${lang} utilisation: the charts are missing`);
  }
  // Country quotas are public: the demo's U.S. beef quota near 80%, without its ledger.
  await go('/quotas', 'quotas-public');
  {
    const html = await page.content();
    if (!html.includes('SG-2026-beef') || !html.includes('79.35%')) failures.push(`${lang} quotas: the demo quota is missing`);
    if (/DEMO-2026-01\d\d/.test(html)) failures.push(`${lang} quotas: the ledger is shown to an anonymous visitor`);
  }
  await go('/scenarios', 'scenarios');
  await go('/scenarios/1?month=2020-07', 'scenario');
  await go('/landed-cost?month=2020-07&scenario=1', 'landed-cost');
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

// The whole review journey through the forms, once per language: an applicant applies (and
// fixes a validation error), an officer screens and assigns, one expert declares a conflict and
// is replaced, the experts score, the officer decides, the applicant sees the allowance.
async function signedIn(user, lang) {
  const context = await browser.newContext({ bypassCSP: true, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${base}/sign-in?lang=${lang}`);
  await page.fill('#username', user);
  await page.fill('#password', 'waiver-demo-2019');
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/');
  return { context, page };
}

// Opens a page, fails on an HTTP error, and checks it (screenshot, axe, keyboard, size).
async function visit(page, path, name, lang) {
  const r = await page.goto(base + path);
  if (!r || r.status() >= 400) failures.push(`${lang} ${name}: HTTP ${r && r.status()}`);
  await check(page, name, lang);
}

async function experts(page, app) {
  await page.goto(`${base}/applications/${app}`);
  return page.$$eval('h2 + table tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim())));
}

// Without JavaScript the application form still works: nothing is checked while typing, the
// server checks on submit and shows the error beside the field.
{
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${base}/sign-in?lang=en`);
  await page.fill('#username', 'li.wei');
  await page.fill('#password', 'waiver-demo-2019');
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/');
  await page.goto(`${base}/applications/new`);
  await page.fill('#quantity', 'forty');
  await page.waitForTimeout(800);
  if (await page.$('#quantity-error')) failures.push('no-JS: an error appeared without a submit');
  await page.click('form.stack button[type=submit]');
  await page.waitForLoadState('load');
  if ((await page.getAttribute('#quantity', 'aria-invalid')) !== 'true') failures.push('no-JS: the server did not mark the quantity');
  if ((await page.inputValue('#quantity')) !== 'forty') failures.push('no-JS: the form lost what was typed');
  // (axe-core needs JavaScript; the same page is checked with it above and below.)
  await page.screenshot({ path: join(out, 'en-new-application-no-js.png'), fullPage: true });
  await context.close();
}

// The demo's rejected application: the applicant (Jiangyuan) appeals through the form.
{
  const j = await signedIn('ma.jun', 'en');
  await j.page.goto(`${base}/applications`);
  const links = await j.page.$$eval('table tbody tr', (rows) => rows
    .filter((r) => r.textContent.includes('02032900'))
    .map((r) => r.querySelector('a').getAttribute('href')));
  if (!links.length) failures.push('appeal: the rejected demo application is not listed');
  else {
    await j.page.goto(base + links[0]);
    await check(j.page, 'appeal-form', 'en');
    await j.page.fill('#grounds', 'The contract was signed on 2020-03-05; the copy is attached.');
    await j.page.click(`form[action="${links[0]}/appeal"] button`);
    await j.page.waitForURL(base + links[0]);
    if (!(await j.page.content()).includes('Appealed')) failures.push('appeal: the state did not change to appealed');
  }
  await j.context.close();
}

for (const [lang, line] of [['en', '12019010'], ['zh', '02032190']]) {
  const a = await signedIn('li.wei', lang);
  await a.page.goto(`${base}/applications/new`);
  await check(a.page, 'new-application', lang);
  const fill = async (values) => { for (const [k, v] of Object.entries(values)) await a.page.fill('#' + k, v); };
  await fill({
    line, quantity: '40000', unit: 't', value: '16000000', currency: 'USD',
    contract_number: `J-${lang}-1`, contract_supplier: 'Gulf Grain (fictional)', contract_signed_on: '2020-03-05',
    contract_quantity: '40000', contract_overfill_pct: '15',
    plan_0_month: '2020-04', plan_0_quantity: '20000', plan_1_month: '2020-05', plan_1_quantity: '20000',
    evidence_commercial_need: 'crush capacity', evidence_contract_credibility: 'signed', evidence_plan_feasibility: 'two cargoes',
    public_summary: '40 000 t for crushing',
  });
  // Checked as the user types (validate.js asks the server's domain validation): the 15%
  // overfill is flagged before any submit, and a plan that does not add up is flagged, then
  // cleared once it does.
  try {
    await a.page.waitForSelector('#contract_overfill_pct-error', { timeout: 5000 });
    if ((await a.page.getAttribute('#contract_overfill_pct', 'aria-describedby')) !== 'contract_overfill_pct-error') failures.push(`${lang} live: the overfill error is not linked to its field`);
    await a.page.fill('#plan_1_quantity', '10000');
    await a.page.waitForSelector('#monthly_plan-error', { timeout: 5000 });
    const planMsg = await a.page.textContent('#monthly_plan-error');
    if (!planMsg.includes(lang === 'zh' ? '各月合计' : 'add up to')) failures.push(`${lang} live: plan message ${planMsg}`);
    await check(a.page, 'new-application-live', lang, { keyboard: false });
    await a.page.fill('#plan_1_quantity', '20000');
    await a.page.waitForSelector('#monthly_plan-error', { state: 'detached', timeout: 5000 });
  } catch (e) {
    failures.push(`${lang} live validation: ${e.message.split('\n')[0]}`);
  }
  await a.page.click('form.stack button[type=submit]');
  // 15% overfill is above the programme's 10%: the error sits beside the field, input kept.
  if ((await a.page.getAttribute('#contract_overfill_pct', 'aria-invalid')) !== 'true') failures.push(`${lang} journey: overfill error not shown beside the field`);
  if ((await a.page.inputValue('#contract_supplier')) !== 'Gulf Grain (fictional)') failures.push(`${lang} journey: the form lost what was typed`);
  await check(a.page, 'new-application-error', lang);
  // Fixing the field clears it from the summary the submit left (as the user types).
  await a.page.fill('#contract_overfill_pct', '10');
  try {
    await a.page.waitForSelector('.error-summary', { state: 'detached', timeout: 5000 });
  } catch (e) {
    failures.push(`${lang} live: the error summary is still shown after the fix`);
  }
  await a.page.click('form.stack button[type=submit]');
  await a.page.waitForURL(/\/applications\/APP-/);
  const app = a.page.url().split('/').pop();

  const o = await signedIn('officer.zhang', lang);
  await o.page.goto(`${base}/applications/${app}`);
  await o.page.click('button[value=accept]');
  await o.page.waitForURL(`${base}/applications/${app}`);
  await o.page.click(`form[action="/applications/${app}/assign"] button`);
  await o.page.waitForURL(`${base}/applications/${app}`);
  await check(o.page, 'officer-application', lang);
  // A contact with someone outside the record goes into the contact log and the history.
  await o.page.fill('#contact_party', 'Ms Zhou, port authority (fictional)');
  await o.page.fill('#contact_at', '2020-04-02T10:00');
  await o.page.selectOption('#contact_channel', 'phone');
  await o.page.fill('#contact_summary', 'asked about berth capacity in May');
  await o.page.click(`form[action="/applications/${app}/contact"] button`);
  await o.page.waitForURL(`${base}/applications/${app}`);
  if (!(await o.page.content()).includes('asked about berth capacity in May')) failures.push(`${lang} journey: the contact is not in the log`);
  // The officer's other pages.
  await visit(o.page, '/programmes', 'programmes', lang);
  await visit(o.page, '/programmes/CN-2020-MKT', 'programme', lang);
  await visit(o.page, '/programmes/new?from=CN-2020-MKT', 'programme-new', lang);
  await visit(o.page, '/policy-changes?programme=CN-2020-MKT', 'policy-changes', lang);
  await visit(o.page, '/reviews/overdue', 'overdue', lang);
  await o.page.goto(`${base}/applications/${app}`);
  let team = (await experts(o.page, app)).filter((r) => r[1] === 'active').map((r) => r[0]);
  if (team.length !== 3 || team.includes('expert.wang')) failures.push(`${lang} journey: assigned ${team}`);

  // The first expert declares a conflict and is replaced.
  const leaving = await signedIn(team[0], lang);
  await leaving.page.goto(`${base}/applications/${app}`);
  await check(leaving.page, 'expert-application', lang);
  await leaving.page.fill('#conflict_reason', 'advised the applicant in 2019');
  await leaving.page.click(`form[action="/applications/${app}/conflict"] button`);
  await leaving.page.waitForURL(base + '/');
  await leaving.context.close();
  team = (await experts(o.page, app)).filter((r) => r[1] === 'active').map((r) => r[0]);
  if (team.length !== 3 || team.includes('expert.wang')) failures.push(`${lang} journey: after the conflict ${team}`);

  let queueChecked = false;
  for (const name of team) {
    const e = await signedIn(name, lang);
    if (!queueChecked) {
      await visit(e.page, '/queue', 'expert-queue', lang);
      if (!(await e.page.content()).includes(app)) failures.push(`${lang} journey: ${app} is not in ${name}'s queue`);
      queueChecked = true;
    }
    await e.page.goto(`${base}/applications/${app}`);
    for (const key of ['commercial_need', 'contract_credibility', 'plan_feasibility']) {
      await e.page.fill(`#score_${key}`, '4');
      await e.page.fill(`#rationale_${key}`, 'the evidence is specific');
    }
    await e.page.click(`form[action="/applications/${app}/score"] button`);
    await e.page.waitForURL(`${base}/applications/${app}`);
    await e.context.close();
  }
  await o.page.goto(`${base}/applications/${app}`);
  await check(o.page, 'decision-form', lang);
  for (const key of ['commercial_need', 'contract_credibility', 'plan_feasibility']) {
    await o.page.fill(`#reason_${key}`, 'shown by the contract and the plan');
  }
  await o.page.click(`form[action="/applications/${app}/decide"] button`);
  await o.page.waitForURL(`${base}/applications/${app}`);
  const decided = await o.page.content();
  await o.page.goto(`${base}/programmes/CN-2020-MKT/sla`);
  await check(o.page, 'sla', lang);
  // The SLA page charts applications per state and open applications by age.
  if ((await o.page.$$('svg.chart[role=img]')).length < 2) failures.push(`${lang} sla: the age chart is missing`);
  if (!decided.includes(lang === 'zh' ? '已批准' : 'Approved')) failures.push(`${lang} journey: not approved`);
  await o.context.close();

  await a.page.goto(`${base}/allowances`);
  const rows = await a.page.$$eval('table tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent.trim()));
  if (!rows.includes(line)) failures.push(`${lang} journey: the applicant sees no allowance for ${line} (${rows})`);
  await check(a.page, 'allowances-after', lang);
  // Customs declares against the new allowance through the form, and the applicant sees the
  // balance drop.
  const links = await a.page.$$eval('table tbody tr', (trs, l) => trs
    .filter((tr) => (tr.querySelectorAll('td')[2] || {}).textContent?.trim() === l)
    .map((tr) => tr.querySelector('a').getAttribute('href')), line);
  const link = links.sort().pop();
  if (!link) {
    failures.push(`${lang} journey: no allowance link for ${line}`);
  } else {
    const number = link.split('/').pop();
    await a.page.goto(base + link);
    const before = (await a.page.textContent('dl.facts dd strong')).trim();
    const cu = await signedIn('customs.qingdao', lang);
    await cu.page.goto(`${base}/declarations/new`);
    await check(cu.page, 'declaration-form', lang);
    await visit(cu.page, '/declarations/csv', 'declarations-csv', lang);
    const now = new Date(Date.now() + 8 * 3600 * 1000 + 60 * 1000).toISOString().slice(0, 16);
    // The same page with a file: customs uploads a CSV (multipart, the CSRF token in the form)
    // and every row is accounted for.
    const upload = `CSV-${lang}-${Date.now() % 100000}`;
    const csv = 'number,importer,declared_at,shipped_on,line,code,origin,quantity,unit,customs_value,currency,allowance\n'
      + `${upload},3700HS0001,${now},,1,${line},US,10,t,4000,USD,${number}\n`;
    await cu.page.setInputFiles('#csv_file', { name: 'journey.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await cu.page.click('form.stack button[type=submit]');
    await cu.page.waitForLoadState('load');
    {
      const html = await cu.page.content();
      if (!html.includes(`/declarations/${upload}`) || !html.includes('journey.csv')) failures.push(`${lang} csv upload: ${upload} is not reported as recorded`);
      await check(cu.page, 'declarations-csv-uploaded', lang);
    }
    await visit(cu.page, '/refunds', 'refunds', lang);
    await cu.page.goto(`${base}/declarations/new`);
    const decl = `JRN-${lang}-${Date.now() % 100000}`;
    for (const [id, v] of Object.entries({ number: decl, importer: '3700HS0001', declared_at: now,
      l1_code: line, l1_quantity: '1000', l1_value: '400000', l1_allowance: number })) {
      await cu.page.fill('#' + id, v);
    }
    await cu.page.click('form.stack button[type=submit]');
    try {
      await cu.page.waitForURL(`${base}/declarations/${decl}`, { timeout: 10000 });
      await check(cu.page, 'declaration', lang);
    } catch (e) {
      failures.push(`${lang} journey: declaring through the form did not reach the declaration page (${cu.page.url()})`);
    }
    await cu.context.close();
    await a.page.goto(base + link);
    const after = (await a.page.textContent('dl.facts dd strong')).trim();
    if (after === before) failures.push(`${lang} journey: the balance did not drop after the declaration (${before})`);
    // The plan against imports: the application's two planned months and this month's imports
    // (1 000 t by the form, 10 t by the file).
    const planRows = await a.page.$$eval('#plan ~ figure + table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
    const thisMonth = now.slice(0, 7);
    const imported = planRows.find((r) => r[0] === thisMonth);
    if (!planRows.some((r) => r[0] === '2020-04') || !imported || imported[2] !== '1,010') failures.push(`${lang} plan: ${JSON.stringify(planRows)}`);
    await check(a.page, 'allowance-after-declaration', lang);
  }
  await visit(a.page, '/enterprise', 'enterprise', lang);
  await a.context.close();
}

await browser.close();
if (failures.length) {
  console.error('FAILURES:\n' + failures.join('\n'));
  process.exit(1);
}
console.log('browser journey passed');
