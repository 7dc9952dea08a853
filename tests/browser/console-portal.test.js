// The web console's user portal (docs/CONSOLE.md §2: Print, Job, My
// purposes, My payment method, My usage, Security) in headless Chromium,
// driven by playwright-core against real nimbusd, nimbus-connector (its
// panel) and nimbus-paysim; run by tests/integration/test-console-portal.sh,
// which sets up the tenants, printer and jobs and passes:
//   PORTAL_PART: print (purposes, the upload, the panel's QR code, the
//   release on a phone; writes the job's number to WORK_DIR/portal-job)
//   or account (usage, payment method, security, every page on a phone,
//   other users' and tenants' data);
//   NIMBUS_URL, PANEL_URL (the connector's panel), ADMIN_AUTH, ALICE, BOB
//   (user@tenant:password), JOB_BOB (bob's held job), JOB_GLOBEX (carol's
//   job in tenant globex, a number acme has not), ZBARIMG (empty: not
//   installed), WORK_DIR, NIMBUS_TEST_DATA, CHROMIUM, SCREENSHOTS_DIR,
//   FAILURE_DIR.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const {
  NIMBUS, TIME_RE, env, assert, assertEqual, launch, newPage, watch, signIn, screenshot, check,
  until, rest, finish,
} = require('./console-lib.js');

const PART = env('PORTAL_PART');
const PANEL = env('PANEL_URL');
const ALICE = env('ALICE');
const BOB = env('BOB');
const WORK = env('WORK_DIR');
const DATA = env('NIMBUS_TEST_DATA');
const [ALICE_USER, ALICE_PW] = ALICE.split(/:(.*)/s);
const NEW_PW = 'alice-pw-2';
const PHONE = { width: 390, height: 844 };
// what no page of alice's may ever show
const FOREIGN = ['Bobs-secret', 'Globex-secret', 'Bobs-purpose', 'Bobs-token'];

async function main() {
  const browser = await launch();
  try {
    if (PART === 'print') await printPart(browser);
    else if (PART === 'account') await accountPart(browser);
    else throw new Error(`unknown PORTAL_PART ${PART}`);
  } finally {
    await browser.close();
  }
}

// ---- helpers ----
const asAlice = (method, p, body) => rest(method, p, { auth: ALICE, body });
const go = async (page, hash) => {
  await page.goto(`${NIMBUS}/${hash}`);
  await page.locator('#main h1').first().waitFor();
};
// the page is no wider than its viewport
async function noHorizontalScroll(page, what) {
  const w = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
  }));
  assert(w.scroll <= w.view, `${what}: ${w.scroll} px wide in a ${w.view} px view`);
}
// nothing of another user's or tenant's in the page's DOM
async function nothingForeign(page, what) {
  const html = await page.content();
  for (const s of FOREIGN) assert(!html.includes(s), `${what} shows ${s}`);
}
const eur = (minor) => `€${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
const purposeRow = (page, name) => page.locator(`#purposes-list tr[data-purpose="${name}"]`);
const restPurpose = async (name) => {
  const r = await asAlice('GET', '/purposes');
  return r.json.purposes.find((p) => p.name === name) || null;
};

// decode the QR code of an SVG: drawn large in a page of its own, photographed, zbarimg
async function decodeQr(browser, svg) {
  const { context, page } = await newPage(browser, { viewport: { width: 500, height: 500 } });
  const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  await page.setContent(`<body style="margin:0;background:#fff"><img id="q" src="${src}" width="400" height="400"></body>`);
  await page.locator('#q').waitFor();
  const file = path.join(WORK, 'job-qr.png');
  await page.locator('#q').screenshot({ path: file });
  await context.close();
  return execFileSync(process.env.ZBARIMG, ['--raw', '-q', file], { encoding: 'utf8' }).trim();
}

async function printPart(browser) {
  const { page } = await newPage(browser);
  await signIn(page, ALICE_USER, ALICE_PW);

  // ---- My purposes ----
  await check('My purposes: create "Client work" (account CORP, two-sided by default): REST has it', async () => {
    await go(page, '#/purposes');
    await page.locator('#purposes-list[aria-busy="false"]').waitFor();
    await page.locator('#purpose-form select[name="account"] option[value="CORP"]').waitFor({ state: 'attached' });
    await page.getByLabel('Name', { exact: true }).fill('Client work');
    await page.getByLabel('Who pays').selectOption('CORP');
    await page.getByLabel('Default sides').selectOption('two-sided-long-edge');
    await page.locator('#purpose-save').click();
    await purposeRow(page, 'Client work').waitFor();
    const p = await restPurpose('Client work');
    assert(p, 'no purpose in REST');
    assertEqual([p.account, p.private, p.defaults.sides], ['CORP', false, 'two-sided-long-edge'], 'REST purpose');
  });
  await check('edit: Client work gets black and white; create "Scratch" (private)', async () => {
    await purposeRow(page, 'Client work').locator('button.edit').click();
    await page.locator('#purpose-form-title', { hasText: 'Edit purpose Client work' }).waitFor();
    await page.getByLabel('Default colour').selectOption('monochrome');
    await page.locator('#purpose-save').click();
    await page.locator('#notice', { hasText: 'Purpose Client work was saved.' }).waitFor();
    assertEqual((await restPurpose('Client work')).defaults['print-color-mode'], 'monochrome', 'edited in REST');
    await page.getByLabel('Name', { exact: true }).fill('Scratch');
    await page.getByLabel('Who pays').selectOption('(private)');
    await page.locator('#purpose-save').click();
    await purposeRow(page, 'Scratch').waitFor();
    const s = await restPurpose('Scratch');
    assert(s && s.private && s.account === null, `Scratch in REST: ${JSON.stringify(s)}`);
  });
  await check('make default, then delete: REST follows', async () => {
    await purposeRow(page, 'Scratch').locator('button.make-default').click();
    await page.locator('#notice', { hasText: 'Scratch is now your default purpose.' }).waitFor();
    assertEqual((await restPurpose('Scratch')).default, true, 'Scratch default');
    await purposeRow(page, 'Client work').locator('button.make-default').click();
    await page.locator('#notice', { hasText: 'Client work is now your default purpose.' }).waitFor();
    assertEqual([(await restPurpose('Client work')).default, (await restPurpose('Scratch')).default],
      [true, false], 'defaults after');
    await screenshot(page, '12-purposes');
    await purposeRow(page, 'Scratch').locator('button.delete').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
    await page.locator('#notice', { hasText: 'Purpose Scratch was deleted.' }).waitFor();
    assertEqual(await restPurpose('Scratch'), null, 'Scratch in REST');
    await nothingForeign(page, 'My purposes');
  });

  // ---- Print ----
  let jobId = 0;
  await check('Print: the form offers office, her default purpose, the queue\'s settings', async () => {
    await go(page, '#/print');
    await page.locator('#print-form:not([hidden])').waitFor();
    assertEqual(await page.getByLabel('Queue').inputValue(), 'office', 'queue');
    assertEqual(await page.getByLabel('Purpose', { exact: true }).inputValue(), 'Client work', 'the default purpose');
    // the purpose's defaults filled in
    assertEqual(await page.getByLabel('Sides').inputValue(), 'two-sided-long-edge', 'sides from the purpose');
    const media = await page.locator('select[name="media"] option').evaluateAll((o) => o.map((x) => x.value));
    const q = await asAlice('GET', '/queues/office');
    assertEqual(media, [''].concat(q.json.supported.media), 'media offered = the queue\'s');
    assertEqual(await page.locator('select[name="purpose"] option').first().innerText(), 'No purpose', '"none" offered');
  });
  await check('a file that is no PDF: refused, in words, under the file field', async () => {
    await page.locator('input[name="document"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain',
      buffer: Buffer.from('just some words, not a document\n') });
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/jobs') && r.request().method() === 'POST'),
      page.locator('#print-submit').click(),
    ]);
    assert(resp.status() === 415 || resp.status() === 422 || resp.status() === 400, `status ${resp.status()}`);
    const err = page.locator('.field[data-name="document"] .field-error');
    await err.waitFor();
    assert((await err.innerText()).length > 10, 'an error in words');
    assertEqual(await page.locator('input[name="document"]').getAttribute('aria-invalid'), 'true', 'aria-invalid');
    await screenshot(page, '11-print-error');
  });
  await check('upload a PDF, copies 2, two-sided: the progress bar reaches its end, a link to the job', async () => {
    await page.locator('input[name="document"]').setInputFiles(path.join(DATA, 'threepage.pdf'));
    await page.getByLabel('Copies').fill('2');
    await page.getByLabel('Sides').selectOption('two-sided-long-edge');
    await page.getByLabel('Colour').selectOption('monochrome');
    await page.locator('#print-submit').click();
    const link = page.locator('#print-job-link');
    await link.waitFor();
    assertEqual(await page.locator('#upload-progress').evaluate((p) => [p.value, p.max]), [100, 100], 'progress');
    assertEqual(await page.locator('#upload-progress').getAttribute('aria-valuenow'), '100', 'aria-valuenow');
    jobId = +(/id=(\d+)/.exec(await link.getAttribute('href'))[1]);
    const j = (await asAlice('GET', `/jobs/${jobId}`)).json;
    assertEqual([j.state, j.copies, j.settings.sides, j.settings['print-color-mode'], j.purpose && j.purpose.name,
      j.name], ['held', 2, 'two-sided-long-edge', 'monochrome', 'Client work', 'threepage.pdf'], 'the job in REST');
    await screenshot(page, '10-print');
  });

  // ---- the panel: "Release from your phone" ----
  let qrUrl = '';
  await check('the panel\'s job screen shows the job\'s QR code, which decodes to <nimbusd>/#/job?id=N', async () => {
    const panel = await newPage(browser, { viewport: { width: 800, height: 480 } });
    const p = panel.page;
    await p.goto(`${PANEL}/release`);
    await p.locator('#user').fill(ALICE_USER.replace(/@.*/, ''));
    await p.locator('#secret').fill(ALICE_PW);
    await p.locator('#login').click();
    await p.locator(`li.job[data-id="${jobId}"]`).waitFor();
    await p.locator(`li.job[data-id="${jobId}"] input.job-select`).check();
    await p.locator('#next').click();
    await p.locator('body[data-screen="details"]').waitFor();
    const img = p.locator('#job-qr');
    await img.waitFor();
    assertEqual(await p.locator('#job-qr-box figcaption').innerText(), 'Release from your phone', 'caption');
    const want = `${NIMBUS}/#/job?id=${jobId}`;
    assertEqual(await img.getAttribute('data-url'), want, 'data-url');
    assert(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the QR image did not load');
    await screenshot(p, '13-panel-job-qr');
    const svg = await (await p.request.get(`${PANEL}/release/job-qr.svg`)).text();
    assert(svg.startsWith('<svg') || svg.includes('<svg'), 'an SVG');
    qrUrl = process.env.ZBARIMG ? await decodeQr(browser, svg) : await img.getAttribute('data-url');
    if (process.env.ZBARIMG) console.log('# the QR code decoded with zbarimg');
    assertEqual(qrUrl, want, 'the QR code\'s URL');
    await p.locator('#back').click();
    await panel.context.close();
    watch(page);
  });

  // ---- the phone: the QR code's URL, sign in there, release ----
  const phone = await newPage(browser, { viewport: PHONE });
  await check('the phone opens the QR code\'s URL: sign-in, then the job', async () => {
    await phone.page.goto(qrUrl);
    await phone.page.locator('#signin-form').waitFor();
    await phone.page.getByLabel('User', { exact: true }).fill(ALICE_USER);
    await phone.page.getByLabel('Password', { exact: true }).fill(ALICE_PW);
    await phone.page.locator('#signin-submit').click();
    await phone.page.locator('#job-state[data-state="held"]').waitFor();
    assertEqual(await phone.page.locator('#job-title').innerText(), `Job ${jobId}: threepage.pdf`, 'title');
    assertEqual(await phone.page.locator('dd[data-fact="copies"]').innerText(), '2', 'copies');
    assert(/Two-sided/.test(await phone.page.locator('dd[data-fact="settings"]').innerText()), 'settings');
    assert(/Client work/.test(await phone.page.locator('dd[data-fact="purpose"]').innerText()), 'purpose');
    assert(TIME_RE.test(await phone.page.locator('dd[data-fact="sent"]').innerText()), 'time with its zone');
    await noHorizontalScroll(phone.page, 'the job page');
    const btn = await phone.page.locator('#job-release').boundingBox();
    assert(btn && btn.x >= 0 && btn.x + btn.width <= PHONE.width && btn.height >= 44, `Release: ${JSON.stringify(btn)}`);
    await screenshot(phone.page, '14-job-phone');
  });
  await check('Release on the phone: the job leaves held (nimbusd says so)', async () => {
    await phone.page.locator('#job-release').click();
    await phone.page.locator('#notice', { hasText: `Job ${jobId} was released` }).waitFor();
    await until(`job ${jobId} released`, async () => (await asAlice('GET', `/jobs/${jobId}`)).json.state !== 'held');
    await phone.page.locator('#job-state:not([data-state="held"])').waitFor();
    await screenshot(phone.page, '15-job-released-phone');
  });
  await check('#/job of bob\'s job and of another tenant\'s: "not found" in words, nothing of them', async () => {
    for (const id of [env('JOB_BOB'), env('JOB_GLOBEX')]) {
      await go(phone.page, `#/job?id=${id}`);
      const err = phone.page.locator('#job-error');
      await err.waitFor();
      assert(/not found/.test(await err.innerText()), `job ${id}: ${await err.innerText()}`);
      assertEqual(await phone.page.locator('dl.job-facts').count(), 0, 'facts shown');
      await nothingForeign(phone.page, `#/job?id=${id}`);
    }
    await screenshot(phone.page, '16-job-not-found-phone');
  });
  fs.writeFileSync(path.join(WORK, 'portal-job'), String(jobId));
}

async function accountPart(browser) {
  const { context, page } = await newPage(browser);
  await signIn(page, ALICE_USER, ALICE_PW);

  // ---- My usage ----
  await check('My usage: both tables equal GET /reports/totals (by month, by purpose)', async () => {
    await go(page, '#/usage');
    await page.locator('#usage-report[aria-busy="false"]').waitFor();
    for (const by of ['month', 'purpose']) {
      const r = (await asAlice('GET', `/reports/totals?by=${by}`)).json;
      assertEqual(r.currency, 'EUR', 'currency');
      assert(r.rows.length >= 1, `no ${by} rows`);
      for (const row of r.rows.concat([Object.assign({ key: '(total)' }, r.totals)])) {
        const key = row.key === null ? '(none)' : row.key;
        const tr = page.locator(`#usage-by-${by} tr[data-key="${key}"]`);
        const cells = await tr.locator('td').evaluateAll((tds) => tds.map((td) => td.textContent));
        assertEqual(cells.slice(1), [String(row.jobs), String(row.pages), String(row.impressions),
          eur(row.print_fee), eur(row.service_fee), eur(row.total)], `${by} ${key}`);
      }
      assert(r.totals.total > 0, 'a charged job');
    }
    assertEqual(await page.locator('figure.chart canvas').count(), 2, 'two charts');
    await screenshot(page, '17-usage');
  });
  await check('the month filter: a range without jobs shows none, and REST agrees', async () => {
    await page.getByLabel('From month').fill('2001-01');
    await page.getByLabel('To month').fill('2001-02');
    await page.locator('#usage-apply').click();
    await page.locator('#usage-by-month td.empty').waitFor();
    const r = (await asAlice('GET', '/reports/totals?by=month&from=2001-01-01&to=2001-02-28')).json;
    assertEqual(r.rows.length, 0, 'REST rows');
    assert(/from=2001-01&to=2001-02/.test(page.url()), `the range in the URL: ${page.url()}`);
  });

  // ---- My payment method ----
  await check('payment method: none, register on nimbus-paysim\'s page, back on the console: saved', async () => {
    await go(page, '#/payment-method');
    await page.locator('#method-none').waitFor();
    await screenshot(page, '18-payment-none');
    await page.locator('#method-register').click();
    await page.locator('button.pay').waitFor(); // the provider's page
    await page.locator('button.pay').click();
    await page.waitForURL((u) => u.hash.startsWith('#/payment-method'));
    await page.locator('#notice', { hasText: 'Your payment method was saved.' }).waitFor();
    await page.locator('#method-state[data-state="active"]').waitFor();
    assert(/4242/.test(await page.locator('#method-display').innerText()), 'the masked card');
    assertEqual(new URL(page.url()).hash, '#/payment-method', 'the message is not kept in the URL');
    const m = (await asAlice('GET', '/me/payment-method')).json;
    assertEqual(m.state, 'active', 'REST state');
    assertEqual(await page.locator('#method-display').innerText(), m.display, 'shown as the API gives it');
    await screenshot(page, '19-payment-saved');
  });

  // ---- Security: tokens, panel PIN ----
  let tokenId = 0;
  let secret = '';
  await check('API token: created, shown once with a copy button, works; listed with created and expiry', async () => {
    await go(page, '#/security');
    await page.locator('#tokens-list[aria-busy="false"]').waitFor();
    await page.getByLabel('Label').fill('portal script');
    await page.getByLabel('Expires after').selectOption(String(30 * 86400));
    await page.locator('#token-create').click();
    const input = page.locator('#token-secret');
    await input.waitFor();
    secret = await input.inputValue();
    assert(/^nmb_/.test(secret), 'the secret');
    await page.locator('#token-copy').click();
    const who = await fetch(`${NIMBUS}/api/v1/whoami`, { headers: { Authorization: `Bearer ${secret}` } });
    assertEqual(who.status, 200, 'the token works');
    const list = (await asAlice('GET', '/tokens')).json.tokens;
    const t = list.find((x) => x.label === 'portal script');
    tokenId = t.id;
    const tr = page.locator(`tr[data-token="${tokenId}"]`);
    await tr.waitFor();
    assert(TIME_RE.test(await tr.locator('td[data-label="Created"]').innerText()), 'created');
    assert(TIME_RE.test(await tr.locator('td[data-label="Expires"]').innerText()), 'expires');
    await screenshot(page, '20-security-token');
    // shown once: a fresh page has no secret
    await go(page, '#/security');
    await page.locator('#tokens-list[aria-busy="false"]').waitFor();
    assert(!(await page.content()).includes(secret), 'the secret shown again');
  });
  await check('revoke: the token stops working', async () => {
    const tr = page.locator(`tr[data-token="${tokenId}"]`);
    await tr.locator('button.revoke').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Revoke' }).click();
    await page.locator('#notice', { hasText: `Token ${tokenId} was revoked.` }).waitFor();
    await tr.locator('.token-state', { hasText: 'Revoked' }).waitFor();
    const who = await fetch(`${NIMBUS}/api/v1/whoami`, { headers: { Authorization: `Bearer ${secret}` } });
    assertEqual(who.status, 401, 'the revoked token');
    await nothingForeign(page, 'Security');
  });
  await check('panel PIN: a bad one refused under the field; set; removed (REST has_panel_pin)', async () => {
    await page.locator('#panel-pin-state').filter({ hasText: 'no panel PIN' }).waitFor();
    await page.getByLabel('New panel PIN').fill('12');
    await page.locator('#panel-pin-submit').click();
    await page.locator('.field[data-name="panel_pin"] .field-error', { hasText: '4 to 12 digits' }).waitFor();
    await page.getByLabel('New panel PIN').fill('4711');
    await page.locator('#panel-pin-submit').click();
    await page.locator('#notice', { hasText: 'Your panel PIN was set.' }).waitFor();
    assertEqual((await asAlice('GET', '/users/alice')).json.has_panel_pin, true, 'has_panel_pin');
    await page.locator('#panel-pin-remove').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Remove' }).click();
    await page.locator('#notice', { hasText: 'Your panel PIN was removed.' }).waitFor();
    assertEqual((await asAlice('GET', '/users/alice')).json.has_panel_pin, false, 'has_panel_pin after');
  });

  // ---- the phone: every portal page, and nothing of anyone else ----
  const phone = await newPage(browser, { viewport: PHONE });
  await check('on a 390x844 phone no portal page scrolls sideways, and none shows others\' data', async () => {
    await signIn(phone.page, ALICE_USER, ALICE_PW);
    const job = fs.readFileSync(path.join(WORK, 'portal-job'), 'utf8').trim();
    const pages = [['#/jobs?state=all', '#jobs-list[aria-busy="false"]', null],
      ['#/print', '#print-form:not([hidden])', '21-print-phone'],
      ['#/purposes', '#purposes-list[aria-busy="false"]', '22-purposes-phone'],
      ['#/payment-method', '#payment-method[aria-busy="false"]', '23-payment-phone'],
      ['#/usage', '#usage-report[aria-busy="false"]', '24-usage-phone'],
      ['#/security', '#tokens-list[aria-busy="false"]', '25-security-phone'],
      [`#/job?id=${job}`, '#job-page[aria-busy="false"]', null]];
    for (const [hash, ready, shot] of pages) {
      await go(phone.page, hash);
      await phone.page.locator(ready).waitFor();
      await noHorizontalScroll(phone.page, hash);
      await nothingForeign(phone.page, hash);
      if (shot) await screenshot(phone.page, shot);
    }
    const jobs = await phone.page.locator('tr[data-job]').evaluateAll((t) => t.map((x) => +x.dataset.job));
    assert(!jobs.includes(+env('JOB_BOB')), 'bob\'s job listed');
  });

  // ---- the password, last: it ends every session ----
  await check('password change: this session signs in again, the others end', async () => {
    await go(page, '#/security');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PW);
    await page.getByLabel('New password again').fill('something-else');
    await page.locator('#password-submit').click();
    await page.locator('.field[data-name="password2"] .field-error', { hasText: 'differ' }).waitFor();
    await page.getByLabel('New password again').fill(NEW_PW);
    await page.locator('#password-submit').click();
    await page.locator('#notice', { hasText: 'Your password was changed.' }).waitFor();
    await screenshot(page, '26-security-password');
    // this browser is signed in again (a new cookie); the phone's session ended
    const c = (await context.cookies(NIMBUS)).find((x) => x.name === 'nimbus_session');
    assertEqual((await rest('GET', '/session', { cookie: `nimbus_session=${c.value}` })).status, 200, 'this session');
    const pc = (await phone.context.cookies(NIMBUS)).find((x) => x.name === 'nimbus_session');
    assertEqual((await rest('GET', '/session', { cookie: `nimbus_session=${pc.value}` })).status, 401, 'the phone');
    assertEqual((await rest('GET', '/whoami', { auth: `${ALICE_USER}:${NEW_PW}` })).status, 200, 'the new password');
    await go(page, '#/jobs');
    await page.locator('#jobs-list[aria-busy="false"]').waitFor();
    assertEqual(await page.locator('#signin-form').count(), 0, 'still signed in');
  });
  await phone.context.close();
  await context.close();
}

finish('console-portal.test.js', main);
