// The web console's reports, audit log and operator pages (docs/CONSOLE.md
// §2) in headless Chromium, driven by playwright-core against a real
// nimbusd; run by tests/integration/test-console-ops.sh, which prints and
// charges the jobs (nimbus-connector, ippeveprinter) and passes:
//   NIMBUS_URL, ADMIN_AUTH (boss@acme:password, tenant admin),
//   OPERATOR_AUTH (admin@system:password), TENANT_ID (acme's id, for the
//   ledger's account names), CHROMIUM, SCREENSHOTS_DIR (optional),
//   FAILURE_DIR.
// Checked: the reports page's table equals the ledger's charge postings
// (GET /ledger) and the pages of the completed jobs; its CSV download is
// GET /reports/totals?format=csv byte for byte; the audit log filters by
// action and pages through every entry; a tenant admin has no operator
// page; the operator creates, edits, suspends (sign-in refused in words),
// resumes and deletes tenants; a service-fee edit reaches GET
// /billing?tenant=; system health shows ok and /healthz's schema version.
'use strict';
const fs = require('fs');
const path = require('path');
const {
  NIMBUS, TIME_RE, env, assert, assertEqual, launch, newPage, watch, signIn, check, until, rest,
  finish,
} = require('./console-lib.js');

// NAME.png of what the viewport shows into SCREENSHOTS_DIR, when set (not
// the whole page: docs/console/ keeps each picture small)
async function screenshot(page, name) {
  if (process.env.SCREENSHOTS_DIR) {
    await page.screenshot({ path: path.join(process.env.SCREENSHOTS_DIR, `${name}.png`) });
  }
}

const ADMIN = env('ADMIN_AUTH');
const OPERATOR = env('OPERATOR_AUTH');
const TENANT_ID = env('TENANT_ID');
const [ADMIN_USER, ADMIN_PW] = ADMIN.split(/:(.*)/s);
const [OP_USER, OP_PW] = OPERATOR.split(/:(.*)/s);

// en-US writes EUR from integer cents: 1234 → "€12.34" (the test's own
// integer arithmetic, not ui.js)
const eur = (cents) => `${cents < 0 ? '-' : ''}€${Math.floor(Math.abs(cents) / 100)}.` +
  `${String(Math.abs(cents) % 100).padStart(2, '0')}`;

// GET path (under /api/v1) as text, with Basic auth
async function restText(p, auth) {
  const r = await fetch(`${NIMBUS}/api/v1${p}`,
    { headers: { Authorization: 'Basic ' + Buffer.from(auth).toString('base64') } });
  assertEqual(r.status, 200, `GET ${p}`);
  return r.text();
}

// click button, wait for the download it offers, return its text and name
async function download(page, button) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.locator(button).click()]);
  const file = await d.path();
  return { name: d.suggestedFilename(), text: fs.readFileSync(file, 'utf8'), url: d.url() };
}

// the cells of a table row as {column label: text}
const rowCells = (tr) => tr.locator('td').evaluateAll((tds) =>
  Object.fromEntries(tds.map((td) => [td.dataset.label, td.innerText.trim()])));

async function main() {
  const browser = await launch();
  try {
    await adminPages(browser);
    await operatorPages(browser);
  } finally {
    await browser.close();
  }
}

// ---- the tenant admin: reports and audit log ----
async function adminPages(browser) {
  const { context, page } = await newPage(browser);
  await signIn(page, ADMIN_USER, ADMIN_PW);

  await check('a tenant admin has no operator section, and #/operator/tenants says not permitted', async () => {
    await page.locator('nav.mainnav a', { hasText: 'Reports' }).waitFor();
    assertEqual(await page.locator('nav.mainnav .nav-heading', { hasText: 'Operator' }).count(), 0,
      'an Operator heading');
    assertEqual(await page.locator('nav.mainnav a[href^="#/operator"]').count(), 0, 'an operator link');
    await page.goto(`${NIMBUS}/#/operator/tenants`);
    const msg = page.locator('#not-permitted');
    await msg.waitFor();
    assert(/not permitted/i.test(await msg.innerText()), `the words: ${await msg.innerText()}`);
    assertEqual(await page.locator('#tenant-list').count(), 0, 'the tenants list drawn');
    assertEqual((await rest('GET', '/tenants', { auth: ADMIN })).status, 403, 'GET /tenants as the admin');
  });

  // the ledger's charge postings of the tenant: per account and in all
  const ledger = (await rest('GET', '/ledger?limit=10000', { auth: ADMIN })).json.entries
    .filter((e) => e.kind === 'charge');
  const byAccount = {};
  const all = { print_fee: 0, service_fee: 0, total: 0 };
  for (const e of ledger) {
    const m = new RegExp(`^tenant:${TENANT_ID}:(prepaid|receivable):(.*)$`).exec(e.account);
    if (m) {
      byAccount[m[2]] = (byAccount[m[2]] || 0) + e.amount;
      all.total += e.amount;
    } else if (e.account === `tenant:${TENANT_ID}:revenue`) {
      all.print_fee -= e.amount;
    } else if (e.account === 'operator:revenue') {
      all.service_fee -= e.amount;
    }
  }
  const completed = (await rest('GET', '/jobs?state=completed&limit=1000', { auth: ADMIN })).json.jobs;
  const pagesOf = (user) => completed.filter((j) => !user || j.owner === user || j.user === user)
    .reduce((a, j) => a + j.pages, 0);

  await check('reports by account: the table equals the ledger\'s charge postings', async () => {
    assert(ledger.length >= 8, `only ${ledger.length} ledger lines of charges`);
    assertEqual(Object.keys(byAccount).sort(), ['CLIENT-A', 'CORP'], 'accounts charged in the ledger');
    await page.goto(`${NIMBUS}/#/admin/reports?by=account`);
    await page.locator('#report-totals[aria-busy="false"]').waitFor();
    for (const [code, total] of Object.entries(byAccount)) {
      const cells = await rowCells(page.locator(`#report-totals tr[data-key="${code}"]`));
      assertEqual(cells['Total charged'], eur(total), `${code}'s total`);
    }
    const t = await rowCells(page.locator('#report-totals tr[data-total="all"]'));
    assertEqual(t['Total charged'], eur(all.total), 'total charged');
    assertEqual(t['Print fee'], eur(all.print_fee), 'print fees');
    assertEqual(t['Service fee'], eur(all.service_fee), 'service fees');
    assertEqual(all.print_fee + all.service_fee, all.total, 'the ledger\'s lines add up');
    assertEqual(t.Pages, String(pagesOf()), 'pages of the completed jobs');
    assertEqual(t.Jobs, String(completed.length), 'completed jobs');
    assertEqual(await page.locator('#report-totals figure.chart canvas').count(), 2, 'two charts');
    await screenshot(page, '50-reports');
  });

  await check('reports by user: alice and bob, the same totals; the CSV download is GET /reports/totals?format=csv', async () => {
    await page.getByLabel('Group by').selectOption('user');
    await page.locator('#report-show').click();
    await page.locator('#report-totals tr[data-key="bob"]').waitFor();
    assert(/by=user/.test(page.url()), `the grouping kept in the URL: ${page.url()}`);
    const bob = await rowCells(page.locator('#report-totals tr[data-key="bob"]'));
    const bobJobs = completed.filter((j) => (j.owner || j.user) === 'bob');
    assertEqual(bob.Pages, String(bobJobs.reduce((a, j) => a + j.pages, 0)), "bob's pages");
    const t = await rowCells(page.locator('#report-totals tr[data-total="all"]'));
    assertEqual(t['Total charged'], eur(all.total), 'total charged');
    const d = await download(page, '#export-totals');
    assertEqual(d.name, 'totals-by-user.csv', 'file name');
    assert(d.url.startsWith('blob:'), `offered as a blob: URL (${d.url})`);
    const want = await restText('/reports/totals?by=user&format=csv', ADMIN);
    assertEqual(d.text, want, 'the CSV');
    assert(want.split('\n')[0].startsWith('key,jobs,pages'), 'a CSV header');
    const log = await download(page, '#export-log');
    assertEqual(log.text, await restText('/reports/print-log?format=csv', ADMIN), 'the print log CSV');
  });

  await check('the print log lists the charged jobs, times in the viewer\'s zone', async () => {
    await page.locator('#print-log[aria-busy="false"]').waitFor();
    const ids = await page.locator('#print-log tr[data-job]').evaluateAll((trs) => trs.map((t) => +t.dataset.job));
    const want = completed.map((j) => j.id).sort((a, b) => b - a);
    assertEqual(ids, want, 'jobs, newest first');
    const cells = await rowCells(page.locator(`#print-log tr[data-job="${want[0]}"]`));
    assert(TIME_RE.test(cells.Time), `time: ${cells.Time}`);
    assertEqual(cells.Charged, 'charged', 'charge state');
  });

  await check('a date range with the end before the start is refused next to To', async () => {
    await page.getByLabel('From', { exact: true }).fill('2026-12-10');
    await page.getByLabel('To', { exact: true }).fill('2026-12-01');
    await page.locator('#report-show').click();
    const err = page.locator('.field[data-name="to"] .field-error');
    await err.waitFor();
    assert(/before the first day/.test(await err.innerText()), 'the words');
    await page.getByLabel('From', { exact: true }).fill('2030-01-01');
    await page.getByLabel('To', { exact: true }).fill('');
    await page.locator('#report-show').click();
    await page.locator('#report-totals td.empty', { hasText: 'No printed or charged jobs in this period.' }).waitFor();
    await page.locator('#print-log td.empty', { hasText: 'No jobs in this period.' }).waitFor();
    assert(!/\bnull\b/.test(await page.locator('#main').innerText()), 'the page says null');
    assertEqual(await page.locator('#report-totals canvas').count(), 0, 'charts of nothing');
    await page.getByLabel('From', { exact: true }).fill('');
    await page.getByLabel('To', { exact: true }).fill('');
  });

  // ---- audit log ----
  const wantIds = (await rest('GET', '/audit?action=token-created&limit=1000', { auth: ADMIN })).json.entries
    .map((e) => e.id);
  await check('the audit log filtered by action: 50 a page, every entry once, newest first', async () => {
    assert(wantIds.length === 55, `GET /audit has ${wantIds.length} token-created entries`);
    await page.goto(`${NIMBUS}/#/admin/audit`);
    await page.locator('#audit-list[aria-busy="false"]').waitFor();
    await screenshot(page, '51-audit');
    await page.getByLabel('Action', { exact: true }).fill('token-created');
    await page.locator('#audit-show').click();
    await until('the filtered list', async () => (await page.locator('#audit-list tr[data-entry]').count()) === 50 &&
      (await page.locator('#audit-list tr[data-action]:not([data-action="token-created"])').count()) === 0);
    assert(/action=token-created/.test(page.url()), `the filter kept in the URL: ${page.url()}`);
    const ids = await page.locator('#audit-list tr[data-entry]').evaluateAll((t) => t.map((x) => +x.dataset.entry));
    const first = await rowCells(page.locator('#audit-list tr[data-entry]').first());
    assert(TIME_RE.test(first.Time), `time: ${first.Time}`);
    assertEqual(first.Actor.startsWith('alice'), true, `actor ${first.Actor}`);
    await page.locator('.pager button', { hasText: 'Next' }).click();
    await until('page two', async () => (await page.locator('#audit-list tr[data-entry]').count()) === 5);
    ids.push(...await page.locator('#audit-list tr[data-entry]').evaluateAll((t) => t.map((x) => +x.dataset.entry)));
    assertEqual(ids, wantIds, 'the entries of both pages');
    assert(await page.locator('.pager button', { hasText: 'Next' }).isDisabled(), 'Next on the last page');
    await page.locator('.pager button', { hasText: 'Previous' }).click();
    await until('page one again', async () => (await page.locator('#audit-list tr[data-entry]').count()) === 50);
    await screenshot(page, '52-audit-filtered');
    const d = await download(page, '#audit-export');
    assertEqual(d.text, await restText('/audit?action=token-created&format=csv', ADMIN), 'the CSV');
  });
  await check('an actor filter that matches nobody says so', async () => {
    await page.getByLabel('Actor', { exact: true }).fill('nobody-at-all');
    await page.locator('#audit-show').click();
    await page.locator('#audit-list td.empty', { hasText: 'No entries match' }).waitFor();
  });

  // a phone: the reports page without horizontal scroll
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await check('on a 390x844 phone the reports page has no horizontal scroll', async () => {
    await signIn(phone.page, ADMIN_USER, ADMIN_PW);
    await phone.page.goto(`${NIMBUS}/#/admin/reports?by=account`);
    await phone.page.locator('#report-totals[aria-busy="false"]').waitFor();
    const w = await phone.page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
    }));
    assert(w.scroll <= w.view, `page ${w.scroll} px wide in a ${w.view} px view`);
    await screenshot(phone.page, '53-reports-phone');
  });
  await phone.context.close();
  watch(page);
  await context.close();
}

// ---- the operator ----
async function operatorPages(browser) {
  const { context, page } = await newPage(browser);
  await signIn(page, OP_USER, OP_PW);
  const tenant = async (name) => rest('GET', `/tenants/${name}`, { auth: OPERATOR });
  const row = (name) => page.locator(`#tenant-list tr[data-tenant="${name}"]`);

  await check('the operator\'s first page is Tenants; a new tenant is created on the page', async () => {
    await page.locator('nav.mainnav a[aria-current="page"]', { hasText: 'Tenants' }).waitFor();
    await page.locator('#tenant-list[aria-busy="false"]').waitFor();
    const form = page.locator('#tenant-create');
    await form.getByLabel('Name', { exact: true }).fill('globex');
    await form.getByLabel('Display name').fill('Globex Corporation');
    await form.getByLabel('Unreleased jobs expire after (hours)').fill('48');
    await form.getByLabel('Sign-in at a printer\'s panel').selectOption('pin');
    await form.getByRole('button', { name: 'Create tenant' }).click();
    await row('globex').waitFor();
    const t = (await tenant('globex')).json;
    assertEqual([t.display_name, t.retention_hours, t.panel_login, t.suspended],
      ['Globex Corporation', 48, 'pin', false], 'the tenant in nimbusd');
    await screenshot(page, '54-tenants');
  });
  await check('a wrong limit is refused next to its field', async () => {
    const form = page.locator('#tenant-create');
    await form.getByLabel('Name', { exact: true }).fill('initech');
    await form.getByLabel('Unreleased jobs expire after (hours)').fill('9999');
    await form.getByRole('button', { name: 'Create tenant' }).click();
    const err = form.locator('.field[data-name="retention_hours"] .field-error');
    await err.waitFor();
    assert(/retention_hours/.test(await err.innerText()), `the words: ${await err.innerText()}`);
    assertEqual((await tenant('initech')).status, 404, 'initech created');
    await form.getByLabel('Unreleased jobs expire after (hours)').fill('0');
    await form.getByLabel('Name', { exact: true }).fill('');
  });
  await check('edit limits: held jobs per user reaches nimbusd', async () => {
    await row('globex').locator('button.edit').click();
    const form = page.locator('#tenant-edit-form');
    await form.getByLabel('Held jobs per user').fill('7');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('#notice', { hasText: 'The limits of globex were saved.' }).waitFor();
    assertEqual((await tenant('globex')).json.max_held_jobs_per_user, 7, 'max_held_jobs_per_user');
    assertEqual((await tenant('globex')).json.retention_hours, 48, 'retention kept');
  });

  assertEqual((await rest('POST', '/users?tenant=globex', { auth: OPERATOR,
    body: { name: 'carol', password: 'carol-pw-1', role: 'user' } })).status, 201, 'user carol');
  const other = await newPage(browser);
  watch(page);
  await check('suspend asks first; then nimbusd has the tenant suspended', async () => {
    await row('globex').locator('button.suspend').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await screenshot(page, '55-tenant-suspend');
    await dialog.getByRole('button', { name: 'Keep it running' }).click();
    await dialog.waitFor({ state: 'detached' });
    assertEqual((await tenant('globex')).json.suspended, false, 'kept running');
    await row('globex').locator('button.suspend').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Suspend' }).click();
    await page.locator('#tenant-list tr[data-tenant="globex"][data-suspended="true"]').waitFor();
    assertEqual((await tenant('globex')).json.suspended, true, 'suspended');
    assertEqual(await row('globex').locator('td[data-label="State"]').innerText(), 'Suspended', 'state');
  });
  await check('the suspended tenant\'s user cannot sign in, and the sign-in page says why', async () => {
    watch(other.page);
    await other.page.goto(`${NIMBUS}/`);
    await other.page.getByLabel('User', { exact: true }).fill('carol@globex');
    await other.page.getByLabel('Password', { exact: true }).fill('carol-pw-1');
    const [resp] = await Promise.all([
      other.page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST'),
      other.page.locator('#signin-submit').click(),
    ]);
    assertEqual(resp.status(), 403, 'POST /session');
    const err = other.page.locator('.field[data-name="user"] .field-error');
    await err.waitFor();
    assert(/suspended/.test(await err.innerText()), `the words: ${await err.innerText()}`);
    assertEqual(await other.page.locator('#signout').count(), 0, 'signed in');
    await screenshot(other.page, '56-signin-suspended');
    watch(page);
  });
  await check('resume: the tenant runs again and its user signs in', async () => {
    await row('globex').locator('button.resume').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Resume' }).click();
    await page.locator('#tenant-list tr[data-tenant="globex"][data-suspended="false"]').waitFor();
    assertEqual((await tenant('globex')).json.suspended, false, 'resumed');
    watch(other.page);
    await signIn(other.page, 'carol@globex', 'carol-pw-1');
    assertEqual(await other.page.locator('#who').innerText(), 'carol@globex', 'who');
    watch(page);
  });
  await other.context.close();
  await check('delete needs the tenant\'s name typed; a wrong one deletes nothing', async () => {
    await row('doomed').waitFor();
    await row('doomed').locator('button.delete').click();
    let dialog = page.locator('dialog[open]');
    await dialog.getByLabel('Tenant name').fill('doome');
    await dialog.getByRole('button', { name: 'Delete the tenant' }).click();
    await row('doomed').locator('.row-error', { hasText: 'nothing was deleted' }).waitFor();
    assertEqual((await tenant('doomed')).status, 200, 'doomed still there');
    await row('doomed').locator('button.delete').click();
    dialog = page.locator('dialog[open]');
    await dialog.getByLabel('Tenant name').fill('doomed');
    await dialog.getByRole('button', { name: 'Delete the tenant' }).click();
    await row('doomed').waitFor({ state: 'detached' });
    assertEqual((await tenant('doomed')).status, 404, 'doomed deleted');
    assertEqual(await page.locator('#tenant-list tr[data-tenant="system"] button').count(), 0,
      'actions offered on system');
  });

  // ---- service fees ----
  await check('service fees: each tenant\'s plan with its example, as nimbusd rounds', async () => {
    await page.locator('nav.mainnav a', { hasText: 'Service fees' }).click();
    const acme = page.locator('#fee-list tr[data-tenant="acme"]');
    await acme.waitFor();
    const cells = await rowCells(acme);
    assertEqual([cells['Fixed part'], cells.Percentage], ['€0.10', '5.00 %'], 'acme\'s plan');
    // 100 × 500 / 10000 = 5; + 10 = 15
    assertEqual(cells.Example, 'a €1.00 print fee → service fee €0.15, total €1.15', 'example');
    assert(/half away from zero/.test(await page.locator('#fee-rule').innerText()), 'the rounding said');
    assertEqual(await page.locator('#fee-list tr[data-tenant="globex"]').count(), 1, 'globex listed');
    const globex = await rowCells(page.locator('#fee-list tr[data-tenant="globex"]'));
    assertEqual(globex.Example, 'a 100 print fee → service fee 0, total 100 (minor units: no currency yet)',
      'a tenant without a currency');
    assert(!/\bnull\b/.test(await page.locator('#main').innerText()), 'the page says null');
  });
  await check('a fee edit reaches GET /billing?tenant=, the example rounding half away from zero', async () => {
    await page.locator('#fee-list tr[data-tenant="acme"] button.edit').click();
    const form = page.locator('#fee-edit-form');
    await form.getByLabel('Fixed part (minor units)').fill('7');
    await form.getByLabel('Percentage of the print fee (basis points)').fill('250');
    await form.getByLabel('Example print fee (minor units)').fill('20');
    // 20 × 250 / 10000 = 0.5 → 1 (half away from zero); 7 + 1 = 8
    assertEqual(await page.locator('#fee-example').innerText(),
      'Example: a €0.20 print fee → service fee €0.08, total €0.28.', 'example at 0.5');
    await form.getByLabel('Example print fee (minor units)').fill('19');
    // 19 × 250 / 10000 = 0.475 → 0; 7
    assertEqual(await page.locator('#fee-example').innerText(),
      'Example: a €0.19 print fee → service fee €0.07, total €0.26.', 'example below 0.5');
    await screenshot(page, '57-fees-edit');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('#notice', { hasText: 'The service fee of acme was saved.' }).waitFor();
    const b = (await rest('GET', '/billing?tenant=acme', { auth: OPERATOR })).json;
    assertEqual([b.service_fee_fixed, b.service_fee_bps, b.currency], [7, 250, 'EUR'], 'GET /billing?tenant=acme');
    const cells = await rowCells(page.locator('#fee-list tr[data-tenant="acme"]'));
    assertEqual(cells.Example, 'a €1.00 print fee → service fee €0.10, total €1.10', 'the new example');
    await screenshot(page, '58-fees');
  });
  await check('a service fee over 100 % is refused next to its field', async () => {
    await page.locator('#fee-list tr[data-tenant="acme"] button.edit').click();
    const form = page.locator('#fee-edit-form');
    await form.getByLabel('Percentage of the print fee (basis points)').fill('10001');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('.field[data-name="service_fee_bps"] .field-error').waitFor();
    assertEqual((await rest('GET', '/billing?tenant=acme', { auth: OPERATOR })).json.service_fee_bps, 250, 'kept');
    await form.getByRole('button', { name: 'Close' }).click();
  });

  // ---- system health ----
  const hz = await (await fetch(`${NIMBUS}/healthz`)).json();
  await check('system health: ok, the schema version of /healthz, key figures, and two charts', async () => {
    assert(hz && hz.status === 'ok', `GET /healthz: ${JSON.stringify(hz)}`);
    await page.locator('nav.mainnav a', { hasText: 'System health' }).click();
    await page.locator('#health-state', { hasText: 'ok' }).waitFor();
    assertEqual(await page.locator('#health-state').innerText(), 'ok', 'status');
    assertEqual(await page.locator('#health-schema').innerText(), String(hz.schema_version), 'schema version');
    assertEqual(await page.locator('#health-version').innerText(), hz.version, 'version');
    assert(/healthy/.test(await page.locator('#health-words').innerText()), 'in words');
    const jobs = await page.locator('#health-figures dd[data-figure="Jobs waiting"]').innerText();
    assert(/job/.test(jobs), `jobs waiting: ${jobs}`);
    const printed = await page.locator('#health-figures tr[data-state="completed"] td[data-label="Jobs"]').innerText();
    assert(+printed >= 4, `printed jobs: ${printed}`);
    const polls = await page.locator('#health-figures dd[data-figure="Printers listening"]').innerText();
    assert(/long-polls/.test(polls), `long-polls: ${polls}`);
    // the second sample, 5 s later, draws the charts
    await page.locator('#health-charts figure.chart canvas').nth(1).waitFor({ timeout: 20000 });
    await screenshot(page, '59-health');
  });
  await check('a failing /healthz is shown as a problem in words', async () => {
    // nimbusd's own 503 is made for a short disk or a dead store; here the
    // browser is given one such answer to show
    await page.route('**/healthz', (r) => r.fulfill({
      status: 503, contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503,
        detail: 'the spool disk has 10 MB free, less than --min-free-space 64 MB' }),
    }));
    const words = page.locator('#health-words.problem');
    await words.waitFor({ timeout: 20000 });
    assert(/not healthy: the spool disk has 10 MB free/.test(await words.innerText()), await words.innerText());
    assertEqual(await page.locator('#health-state').innerText(), 'problem (HTTP 503)', 'status');
    await page.unroute('**/healthz');
  });
  await check('the operator picks acme: its reports and audit log', async () => {
    await page.locator('#tenant-picker').selectOption('acme');
    // the hash, not a reload: the picker lives in the page
    await page.evaluate(() => { window.location.hash = '#/admin/audit?action=billing-updated'; });
    await page.locator('#audit-list tr[data-action="billing-updated"]').first().waitFor();
    await page.evaluate(() => { window.location.hash = '#/admin/reports?by=account'; });
    await page.locator('#report-totals tr[data-key="CORP"]').waitFor();
  });
  await context.close();
}

finish('console-ops.test.js', main);
