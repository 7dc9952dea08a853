// The tenant admin console (docs/CONSOLE.md §2: users, queues, printers,
// price tables, billing accounts) in headless Chromium, driven by
// playwright-core against a real nimbusd, nimbus-connector and
// ippeveprinter; run by tests/integration/test-console-admin.sh, which
// sets up the tenants and passes:
//   CONSOLE_PART: printer (boss adds printer lobby; its claim code, read
//   from the page, goes into CODE_FILE for a connector to claim) or main
//   (everything else, with lobby's connector running);
//   NIMBUS_URL, ADMIN_AUTH (boss@acme), ALICE (alice@acme, a plain user),
//   GLOBEX_ADMIN (gboss@globex, another tenant's admin), OPERATOR_AUTH
//   (admin@system), JOB_LOCKED (alice's job, PIN 1234, locked by wrong
//   PINs), CODE_FILE, NIMBUS_TEST_DATA, CHROMIUM, SCREENSHOTS_DIR
//   (optional), FAILURE_DIR.
// Waits are Playwright's (locators, waitFor, waitForResponse) or polls of
// nimbusd's REST API; nimbusd is asked from node to check what the pages
// did.
'use strict';
const fs = require('fs');
const path = require('path');
const {
  NIMBUS, TIME_RE, env, assert, assertEqual, launch, newPage, watch, signIn, screenshot, check,
  until, rest, finish,
} = require('./console-lib.js');

const PART = env('CONSOLE_PART');
const ADMIN = env('ADMIN_AUTH');
const ALICE = env('ALICE');
const GLOBEX = env('GLOBEX_ADMIN');
const OPERATOR = env('OPERATOR_AUTH');
const split = (auth) => auth.split(/:(.*)/s);

async function main() {
  const browser = await launch();
  try {
    if (PART === 'printer') await partPrinter(browser);
    else if (PART === 'main') await partMain(browser);
    else throw new Error(`unknown CONSOLE_PART ${PART}`);
  } finally {
    await browser.close();
  }
}

// open a hash route and wait for the list box of the page to be loaded
async function open(page, hash, listId) {
  await page.goto(`${NIMBUS}/#${hash}`);
  await page.locator(`#${listId}[aria-busy="false"]`).waitFor();
}

// a screenshot of the viewport only (1280x800) with node scrolled to its
// top, for a page too long for a small full-page PNG
async function viewShot(page, name, selector) {
  if (!process.env.SCREENSHOTS_DIR) return;
  await page.locator(selector).evaluate((n) => n.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: path.join(process.env.SCREENSHOTS_DIR, `${name}.png`) });
}

// the REST answer's JSON, failing on another status
async function restOk(method, p, opts, want = 200) {
  const r = await rest(method, p, opts);
  if (r.status !== want) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

// en-US euros from integer cents, without floating arithmetic
const euros = (cents) => `€${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

// ---- part "printer": add a printer, read its claim code from the page ----
async function partPrinter(browser) {
  const { page } = await newPage(browser);
  const [user, pw] = split(ADMIN);
  await signIn(page, user, pw);
  await check('the Printers page lists the tenant\'s printers: none yet, never globex\'s', async () => {
    await open(page, '/admin/printers', 'printers-list');
    assertEqual(await page.locator('tr[data-printer]').count(), 0, 'printers listed');
    assert(!(await page.locator('#main').innerText()).includes('globex-lobby'), 'globex\'s printer shown');
  });
  await check('adding printer lobby shows its claim code as text and as a QR image (blob: URL)', async () => {
    const form = page.locator('#printer-form');
    await form.getByLabel('Name', { exact: true }).fill('lobby');
    await form.getByLabel('Location', { exact: true }).fill('Lobby, ground floor');
    assert(await form.getByLabel('office', { exact: true }).isChecked(), 'queue office ticked');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/printers') && r.request().method() === 'POST'),
      form.getByRole('button', { name: 'Add printer' }).click(),
    ]);
    assertEqual(resp.status(), 201, 'POST /printers');
    const code = (await page.locator('#claim-code').innerText()).trim();
    assert(/^NMBC-[A-Z0-9-]+$/.test(code), `claim code text: ${code}`);
    const img = page.locator('#claim-qr');
    await until('the QR image is drawn', () => img.evaluate((i) => i.complete && i.naturalWidth > 0));
    const src = await img.getAttribute('src');
    assert(src.startsWith('blob:'), `QR src: ${src}`);
    assert((await img.getAttribute('alt')).includes(code), 'the QR image\'s alt text names the code');
    // the row: unclaimed, with its location
    const row = page.locator('tr[data-printer="lobby"]');
    await row.waitFor();
    assertEqual(await row.getAttribute('data-status'), 'unclaimed', 'status');
    assert((await row.locator('td[data-label="Status"]').innerText()).startsWith('Unclaimed'), 'Unclaimed shown');
    assertEqual(await row.locator('td[data-label="Location"]').innerText(), 'Lobby, ground floor', 'location');
    await screenshot(page, '34-admin-printers-claim');
    fs.writeFileSync(env('CODE_FILE'), code);
  });
}

// ---- part "main" ----
async function partMain(browser) {
  const { context, page } = await newPage(browser);
  const logged = [];
  page.on('console', (m) => logged.push(m.text()));
  const [bossUser, bossPw] = split(ADMIN);
  await signIn(page, bossUser, bossPw);

  // ---- printers: online, last contact, state, edit ----
  await check('lobby shows online after its connector claimed it (Refresh until), with last contact', async () => {
    await open(page, '/admin/printers', 'printers-list');
    const row = page.locator('tr[data-printer="lobby"]');
    await until('lobby online on the page', async () => {
      await page.locator('button.refresh').click();
      await page.locator('#printers-list[aria-busy="false"]').waitFor();
      return (await row.locator('[data-online]').getAttribute('data-online').catch(() => null)) === 'true';
    }, 60000);
    const p = await restOk('GET', '/printers/lobby', { auth: ADMIN });
    assertEqual(p.online, true, 'online in nimbusd');
    assertEqual(await row.getAttribute('data-status'), 'registered', 'status');
    assert((await row.locator('td[data-label="Status"]').innerText()).startsWith('Online'), 'Online shown');
    const seen = await row.locator('td[data-label="Last contact"]').innerText();
    assert(TIME_RE.test(seen), `last contact: ${seen}`);
    await until('make and model reported', async () =>
      (await restOk('GET', '/printers/lobby', { auth: ADMIN })).make_and_model);
    await page.locator('button.refresh').click();
    await page.locator('#printers-list[aria-busy="false"]').waitFor();
    const mm = (await restOk('GET', '/printers/lobby', { auth: ADMIN })).make_and_model;
    assertEqual(await row.locator('td[data-label="Make and model"]').innerText(), mm, 'make and model');
    assert(/^(Idle|Printing|Stopped)/.test(await row.locator('.printer-state').innerText()), 'state in words');
    assertEqual(await page.locator('tr[data-printer="globex-lobby"]').count(), 0, 'globex\'s printer listed');
    await screenshot(page, '35-admin-printers-online');
  });
  await check('editing lobby\'s location and price table saves them (PATCH, seen in nimbusd and the list)', async () => {
    await page.locator('tr[data-printer="lobby"] button.edit').click();
    const form = page.locator('#printer-form');
    await form.getByLabel('Location', { exact: true }).fill('Lobby, by the stairs');
    await form.getByLabel('Price table').selectOption('office-eur');
    await form.getByRole('button', { name: 'Save printer' }).click();
    await page.locator('#notice', { hasText: 'Printer lobby was saved.' }).waitFor();
    const p = await restOk('GET', '/printers/lobby', { auth: ADMIN });
    assertEqual([p.location, p.pricing.price_table], ['Lobby, by the stairs', 'office-eur'], 'location, table');
    const row = page.locator('tr[data-printer="lobby"]');
    await row.locator('td[data-label="Location"]', { hasText: 'Lobby, by the stairs' }).waitFor();
    assertEqual(await row.locator('td[data-label="Pricing"]').innerText(), 'office-eur', 'the list\'s pricing');
  });

  // ---- price tables: the editor, its preview, and a real job's fee ----
  let previewCents = 0;
  const previewTotal = () => page.locator('#preview-total').getAttribute('data-minor').then(Number);
  await check('the price table editor previews a sample job; an edit changes the preview', async () => {
    await open(page, '/admin/prices', 'prices-list');
    await page.locator('tr[data-table="office-eur"] button.edit').click();
    const sample = page.locator('.sample');
    await sample.getByLabel('Pages', { exact: true }).fill('3');
    await sample.getByLabel('Colour', { exact: true }).selectOption('mono');
    await sample.getByLabel('Paper size', { exact: true }).selectOption('iso_a4_210x297mm');
    // 3 A4 mono one-sided impressions: 10 + 10 + 5 = 25, service 5 + 10 % (2.5 → 3) = 8
    await until('the preview of 3 pages', async () => (await previewTotal()) === 33);
    const price = page.locator('input.price[data-tier="0"][data-size="a4"][data-combo="mono-one-sided"]');
    assertEqual(await price.inputValue(), '0.10', 'the saved price, in euros');
    assert((await price.getAttribute('aria-label')).includes('Tier 1, A4'), 'the price input has a label');
    await price.fill('0.25');
    // 25 + 25 + 5 = 55, service 5 + 5.5 → 6 = 11: 66
    await until('the preview after the edit', async () => (await previewTotal()) === 66);
    previewCents = await previewTotal();
    assertEqual(await page.locator('#preview-total').innerText(), euros(previewCents), 'the preview in words');
    await viewShot(page, '36-admin-prices-editor', '#price-editor');
  });
  await check('a price that is not an amount, and a bad tier: errors in words next to the editor', async () => {
    const price = page.locator('input.price[data-tier="1"][data-size="a4"][data-combo="mono-one-sided"]');
    await price.fill('0.055');
    const err = price.locator('xpath=following-sibling::span[contains(@class,"field-error")]');
    await err.waitFor();
    assert(/2 digits after the point/.test(await err.innerText()), `price error: ${await err.innerText()}`);
    await price.fill('0.05');
    await err.waitFor({ state: 'hidden' });
    const from = page.locator('#tier-1-from');
    await from.fill('1');
    const tableError = page.locator('#table-error');
    await until('nimbusd\'s words about the tier', async () =>
      /tier 2: from must be greater than 1/.test(await tableError.innerText()));
    await viewShot(page, '37-admin-prices-error', '#price-editor');
    await from.fill('3');
    await tableError.waitFor({ state: 'hidden' });
    await until('the preview is back', async () => (await previewTotal()) === previewCents);
  });
  await check('saving the table; a job submitted afterwards over REST is charged what the preview said', async () => {
    await page.locator('#save-table').click();
    await page.locator('#notice', { hasText: 'Price table office-eur was saved.' }).waitFor();
    const t = await restOk('GET', '/price-tables/office-eur', { auth: ADMIN });
    assertEqual(t.table.tiers[0].prices.a4.mono['one-sided'], 25, 'the saved price in cents');
    const form = new FormData();
    form.set('queue', 'office');
    form.set('job-name', 'Priced.pdf');
    form.set('print-color-mode', 'monochrome');
    form.set('sides', 'one-sided');
    form.set('media', 'iso_a4_210x297mm');
    form.set('document', new Blob([fs.readFileSync(path.join(env('NIMBUS_TEST_DATA'), 'threepage.pdf'))],
      { type: 'application/pdf' }), 'threepage.pdf');
    const r = await fetch(`${NIMBUS}/api/v1/jobs`, {
      method: 'POST', body: form, headers: { Authorization: `Basic ${Buffer.from(ALICE).toString('base64')}` },
    });
    const job = await r.json();
    assertEqual(r.status, 201, `upload: ${JSON.stringify(job)}`);
    assertEqual(job.pages, 3, 'pages');
    const full = await restOk('GET', `/jobs/${job.id}`, { auth: ADMIN });
    assertEqual(full.charge && full.charge.total, previewCents, 'the job\'s charge');
    // released, it prints on lobby (ippeveprinter) at the same fee
    await restOk('POST', `/jobs/${job.id}/release`, { auth: ALICE });
    await until(`job ${job.id} printed`, async () =>
      (await restOk('GET', `/jobs/${job.id}`, { auth: ADMIN })).state === 'completed', 60000);
    assertEqual((await restOk('GET', `/jobs/${job.id}`, { auth: ADMIN })).charge.total, previewCents,
      'the printed job\'s charge');
  });

  // ---- users ----
  let password = '';
  await check('the Users page lists acme\'s users only, 20 a page', async () => {
    await open(page, '/admin/users', 'users-list');
    const names = await page.locator('tr[data-user]').evaluateAll((t) => t.map((x) => x.dataset.user));
    assertEqual(names.sort(), ['alice', 'boss'], 'users listed');
    const text = await page.locator('#main').innerText();
    assert(!text.includes('gboss') && !text.includes('gina'), 'globex\'s users shown');
    await screenshot(page, '30-admin-users');
  });
  await check('invite carol: the initial password is shown once, with Copy, and never logged', async () => {
    const form = page.locator('#invite-form');
    await form.getByLabel('Name', { exact: true }).fill('carol');
    await form.getByLabel('Role', { exact: true }).selectOption('user');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/users') && r.request().method() === 'POST'),
      form.getByRole('button', { name: 'Invite' }).click(),
    ]);
    assertEqual(resp.status(), 201, 'POST /users');
    password = (await page.locator('#initial-password').innerText()).trim();
    assert(/^[A-Za-z2-9]{16}$/.test(password), `password: ${password.length} characters`);
    await page.locator('#invite button.copy').waitFor();
    assert(logged.every((m) => !m.includes(password)), 'the password was logged to the console');
    await page.locator('tr[data-user="carol"]').waitFor();
    await screenshot(page, '31-admin-users-invited');
    await page.locator('#invite').getByRole('button', { name: 'Done, invite another' }).click();
    assertEqual(await page.locator('#initial-password').count(), 0, 'the password is gone from the page');
  });
  await check('carol signs in with the password the page showed', async () => {
    const other = await newPage(browser);
    await signIn(other.page, 'carol@acme', password);
    assertEqual(await other.page.locator('#who').innerText(), 'carol@acme', 'who');
    await other.context.close();
    watch(page);
  });
  await check('set carol\'s panel PIN, then remove it (PATCH /users/carol {panel_pin})', async () => {
    const row = page.locator('tr[data-user="carol"]');
    await row.locator('button.pin').click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByLabel('New panel PIN').fill('4321');
    await dialog.getByRole('button', { name: 'Set PIN' }).click();
    await page.locator('#notice', { hasText: 'carol\'s panel PIN was set.' }).waitFor();
    assertEqual((await restOk('GET', '/users/carol', { auth: ADMIN })).has_panel_pin, true, 'has_panel_pin');
    assertEqual(await row.locator('td[data-label="Panel PIN"]').innerText(), 'Set', 'the row');
    // a PIN nimbusd refuses: its words in the row
    await row.locator('button.pin').click();
    await page.locator('dialog[open]').getByLabel('New panel PIN').fill('12');
    await page.locator('dialog[open]').getByRole('button', { name: 'Set PIN' }).click();
    await row.locator('.row-error').waitFor();
    assert(/panel_pin/.test(await row.locator('.row-error').innerText()), 'the refusal in words');
    await row.locator('button.pin-remove').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Remove PIN' }).click();
    await page.locator('#notice', { hasText: 'carol\'s panel PIN was removed.' }).waitFor();
    assertEqual((await restOk('GET', '/users/carol', { auth: ADMIN })).has_panel_pin, false, 'has_panel_pin');
  });
  await check('change carol\'s role, then delete her after the confirm dialog', async () => {
    const row = page.locator('tr[data-user="carol"]');
    await row.locator('button.role').click();
    await page.locator('dialog[open]').getByLabel('Role').selectOption('tenant-admin');
    await page.locator('dialog[open]').getByRole('button', { name: 'Change role' }).click();
    await page.locator('#notice', { hasText: 'carol is now Tenant admin' }).waitFor();
    assertEqual((await restOk('GET', '/users/carol', { auth: ADMIN })).role, 'tenant-admin', 'role');
    await page.locator('tr[data-user="carol"] button.delete').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Keep' }).click();
    assertEqual((await rest('GET', '/users/carol', { auth: ADMIN })).status, 200, 'kept');
    await page.locator('tr[data-user="carol"] button.delete').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete user' }).click();
    await page.locator('#notice', { hasText: 'carol was deleted.' }).waitFor();
    assertEqual((await rest('GET', '/users/carol', { auth: ADMIN })).status, 404, 'deleted');
  });
  const J = +env('JOB_LOCKED');
  await check('alice\'s held jobs: the locked job shows until when; Unlock ends the lock (audited)', async () => {
    await page.locator('tr[data-user="alice"] button.held').click();
    const row = page.locator(`#held-jobs tr[data-job="${J}"]`);
    await row.waitFor();
    const locked = await row.locator('td[data-label="Locked"]').innerText();
    assert(/^Locked until \d{4}-\d\d-\d\d \d\d:\d\d [A-Za-z0-9:+-]+ \(wrong PINs\)$/.test(locked), `locked: ${locked}`);
    assert((await page.locator('#held-jobs').innerText()).includes('recorded in the audit log'),
      'the page says the release is audited');
    await screenshot(page, '32-admin-users-held');
    await row.locator('button.unlock').click();
    await page.locator('#notice', { hasText: `Job ${J} was unlocked.` }).waitFor();
    assertEqual((await restOk('GET', `/jobs/${J}`, { auth: ADMIN })).locked_until, null, 'locked_until');
    const audit = await restOk('GET', '/audit?action=job.pin-unlock', { auth: ADMIN });
    assert(audit.entries.length === 1 && /boss/.test(audit.entries[0].actor), `audit: ${JSON.stringify(audit)}`);
    await page.locator(`#held-jobs tr[data-job="${J}"] td[data-label="Locked"]`, { hasText: 'No' }).waitFor();
  });
  await check('"Release for this user" releases it without its PIN; GET /audit shows the override', async () => {
    const row = page.locator(`#held-jobs tr[data-job="${J}"]`);
    await row.locator('button.release-for').click();
    const dialog = page.locator('dialog[open]');
    assert((await dialog.innerText()).includes('recorded in the audit log'), 'the dialog says it is audited');
    await dialog.getByRole('button', { name: 'Release for this user' }).click();
    await page.locator('#notice', { hasText: `Job ${J} was released for alice.` }).waitFor();
    await row.waitFor({ state: 'detached' });
    assert((await restOk('GET', `/jobs/${J}`, { auth: ADMIN })).state !== 'held', 'out of held');
    const audit = await restOk('GET', '/audit?action=job.pin-override', { auth: ADMIN });
    assertEqual(audit.entries.length, 1, 'override entries');
    assert(/^boss/.test(audit.entries[0].actor), `actor: ${audit.entries[0].actor}`);
    await until(`job ${J} printed`, async () =>
      (await restOk('GET', `/jobs/${J}`, { auth: ADMIN })).state === 'completed', 60000);
  });

  // ---- queues ----
  await check('queues: create annex (follow-me, office-eur, payment none), edit, delete', async () => {
    await open(page, '/admin/queues', 'queues-list');
    const form = page.locator('#queue-form');
    await form.getByLabel('Name', { exact: true }).fill('annex');
    await form.getByLabel('Description', { exact: true }).fill('Annex, 1st floor');
    await form.getByLabel('Release scope').selectOption('follow-me');
    await form.getByLabel('Price table').selectOption('office-eur');
    await form.getByLabel('Payment').selectOption('none');
    await form.getByRole('button', { name: 'Create queue' }).click();
    await page.locator('#notice', { hasText: 'Queue annex was created.' }).waitFor();
    let q = await restOk('GET', '/queues/annex', { auth: ADMIN });
    assertEqual([q.description, q.release_scope, q.pricing.price_table, q.pricing.payment],
      ['Annex, 1st floor', 'follow-me', 'office-eur', 'none'], 'annex in nimbusd');
    const row = page.locator('tr[data-queue="annex"]');
    await row.waitFor();
    // the list shows each queue's price table (GET /queues)
    assertEqual(await row.locator('td[data-label="Price table"]').innerText(), 'office-eur', 'annex\'s table');
    assertEqual(await page.locator('tr[data-queue="office"] td[data-label="Price table"]').innerText(),
      'office-eur', 'office\'s table');
    await screenshot(page, '33-admin-queues');
    await row.locator('button.edit').click();
    await page.locator('#queue-form').getByLabel('Description', { exact: true }).fill('Annex, 2nd floor');
    await page.locator('#queue-form').getByLabel('Price table').selectOption('');
    await page.locator('#queue-form').getByRole('button', { name: 'Save queue' }).click();
    await page.locator('#notice', { hasText: 'Queue annex was saved.' }).waitFor();
    q = await restOk('GET', '/queues/annex', { auth: ADMIN });
    assertEqual([q.description, q.pricing.price_table], ['Annex, 2nd floor', null], 'edited');
    await page.locator('tr[data-queue="annex"] button.delete').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete queue' }).click();
    await page.locator('#notice', { hasText: 'Queue annex was deleted.' }).waitFor();
    assertEqual((await rest('GET', '/queues/annex', { auth: ADMIN })).status, 404, 'deleted');
  });
  await check('a queue nimbusd refuses: its words next to the field', async () => {
    const form = page.locator('#queue-form');
    await form.getByLabel('Name', { exact: true }).fill('office');
    await form.getByRole('button', { name: 'Create queue' }).click();
    await form.locator('.form-error, .field-error').first().waitFor();
    assert(/exists|taken|already/i.test(await form.innerText()), 'the 409 in words');
  });

  // ---- billing accounts ----
  await check('accounts: create prepaid PROJ-7, top up 12.50, grant alice and lobby, revoke, close', async () => {
    await open(page, '/admin/accounts', 'accounts-list');
    const form = page.locator('#account-form');
    await form.getByLabel('Code', { exact: true }).fill('PROJ-7');
    await form.getByLabel('Name', { exact: true }).fill('Project 7');
    await form.getByLabel('Mode').selectOption('prepaid');
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#notice', { hasText: 'Account PROJ-7 was created.' }).waitFor();
    const row = page.locator('tr[data-account="PROJ-7"]');
    await row.locator('button.topup').click();
    const topup = page.locator('#topup-form');
    await topup.getByLabel('Amount (EUR)').fill('12.505');
    await topup.getByRole('button', { name: 'Top up' }).click();
    assert(/2 digits after the point/.test(await topup.locator('.field-error').first().innerText()),
      'a third decimal is refused in words');
    await topup.getByLabel('Amount (EUR)').fill('12.50');
    await topup.getByLabel('Memo').fill('receipt 42');
    await topup.getByRole('button', { name: 'Top up' }).click();
    await page.locator('#notice', { hasText: 'PROJ-7 was topped up: balance €12.50.' }).waitFor();
    const a = await restOk('GET', '/billing-accounts/PROJ-7', { auth: ADMIN });
    assertEqual([a.mode, a.balance, a.currency], ['prepaid', 1250, 'EUR'], 'the account in nimbusd');
    await page.locator('tr[data-account="PROJ-7"] .figure', { hasText: 'Balance €12.50' }).waitFor();
    await screenshot(page, '38-admin-accounts');
    await page.locator('tr[data-account="PROJ-7"] button.access').click();
    const users = page.locator('#grants-users');
    await users.getByLabel('Grant a user').selectOption('alice');
    await users.getByRole('button', { name: 'Grant' }).click();
    await page.locator('#grants-users li[data-grant="users:alice"]').waitFor();
    const printers = page.locator('#grants-printers');
    await printers.getByLabel('Grant a printer').selectOption('lobby');
    await printers.getByRole('button', { name: 'Grant' }).click();
    await page.locator('#grants-printers li[data-grant="printers:lobby"]').waitFor();
    let d = await restOk('GET', '/billing-accounts/PROJ-7', { auth: ADMIN });
    assertEqual([d.users, d.printers], [['alice'], ['lobby']], 'grants in nimbusd');
    await screenshot(page, '39-admin-accounts-access');
    await page.locator('#grants-printers li[data-grant="printers:lobby"] button.revoke').click();
    await page.locator('#grants-printers li[data-grant="printers:lobby"]').waitFor({ state: 'detached' });
    d = await restOk('GET', '/billing-accounts/PROJ-7', { auth: ADMIN });
    assertEqual(d.printers, [], 'revoked');
    await page.locator('tr[data-account="PROJ-7"] button.close').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Close account' }).click();
    await page.locator('#notice', { hasText: 'Account PROJ-7 was closed.' }).waitFor();
    assertEqual((await restOk('GET', '/billing-accounts/PROJ-7', { auth: ADMIN })).closed, true, 'closed');
    await page.locator('tr[data-account="PROJ-7"][data-closed="true"]').waitFor();
  });

  // ---- a phone ----
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await check('on a 390x844 phone the Users page has no horizontal scroll', async () => {
    await signIn(phone.page, bossUser, bossPw);
    await open(phone.page, '/admin/users', 'users-list');
    const w = await phone.page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
    }));
    assert(w.scroll <= w.view, `page ${w.scroll} px wide in a ${w.view} px view`);
    await screenshot(phone.page, '41-admin-users-phone');
  });
  await phone.context.close();
  await context.close();

  // ---- who may see what ----
  await check('alice (a plain user) at #/admin/users: "not permitted" in words, and no data asked for', async () => {
    const { context: c, page: p } = await newPage(browser);
    const asked = [];
    p.on('request', (r) => { if (/\/api\/v1\/(users|printers|queues)/.test(r.url())) asked.push(r.url()); });
    const [u, pw] = split(ALICE);
    await signIn(p, u, pw);
    await p.goto(`${NIMBUS}/#/admin/users`);
    const msg = p.locator('#not-permitted');
    await msg.waitFor();
    assert(/not permitted/.test(await msg.innerText()), 'the words');
    const text = await p.locator('#main').innerText();
    assert(!text.includes('boss') && !/tr\[data-user\]/.test(text), 'user data shown');
    assertEqual(await p.locator('tr[data-user]').count(), 0, 'user rows');
    assertEqual(await p.locator('nav.mainnav a[data-path="/admin/users"]').count(), 0, 'the link in her navigation');
    assertEqual(asked, [], 'admin data asked for');
    assertEqual((await rest('GET', '/users', { auth: ALICE })).status, 403, 'the API refuses her too');
    await screenshot(p, '40-admin-not-permitted');
    await c.close();
  });
  await check('globex\'s admin sees globex\'s users and printers, never acme\'s', async () => {
    const { context: c, page: p } = await newPage(browser);
    const [u, pw] = split(GLOBEX);
    await signIn(p, u, pw);
    await open(p, '/admin/users', 'users-list');
    const names = await p.locator('tr[data-user]').evaluateAll((t) => t.map((x) => x.dataset.user));
    assertEqual(names.sort(), ['gboss', 'gina'], 'users');
    await open(p, '/admin/printers', 'printers-list');
    const printers = await p.locator('tr[data-printer]').evaluateAll((t) => t.map((x) => x.dataset.printer));
    assertEqual(printers, ['globex-lobby'], 'printers');
    await open(p, '/admin/prices', 'prices-list');
    assertEqual(await p.locator('tr[data-table]').count(), 0, 'acme\'s price tables');
    await open(p, '/admin/accounts', 'accounts-list');
    assert(!(await p.locator('#main').innerText()).includes('PROJ-7'), 'acme\'s account shown');
    await c.close();
  });
  await check('the operator acts on the tenant of the picker: none picked, asked to pick; globex picked, its users', async () => {
    const { context: c, page: p } = await newPage(browser);
    const [u, pw] = split(OPERATOR);
    await signIn(p, u, pw);
    await p.goto(`${NIMBUS}/#/admin/users`);
    await p.locator('#pick-tenant').waitFor();
    await until('globex in the picker', async () => (await p.locator('#tenant-picker option[value="globex"]').count()) === 1);
    await p.locator('#tenant-picker').selectOption('globex');
    await p.locator('#users-list[aria-busy="false"]').waitFor();
    const names = await p.locator('tr[data-user]').evaluateAll((t) => t.map((x) => x.dataset.user));
    assertEqual(names.sort(), ['gboss', 'gina'], 'globex\'s users');
    await screenshot(p, '42-admin-operator-picker');
    await p.locator('#tenant-picker').selectOption('acme');
    await p.locator('tr[data-user="alice"]').waitFor();
    assertEqual(await p.locator('tr[data-user="gina"]').count(), 0, 'globex\'s user after picking acme');
    await c.close();
  });
}

finish('console-admin.test.js', main);
