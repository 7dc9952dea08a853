// The console's Contracts page (#/admin/contracts, docs/CONSOLE.md §2
// "Contracts") in headless Chromium against a real nimbusd; run by
// tests/integration/test-console-contracts.sh (OPERATOR_AUTH, ADMIN_AUTH:
// boss@acme, GLOBEX_ADMIN: gboss@globex, each user@tenant:password).
//  - the operator picks acme, sees the page in the navigation, a name left
//    out and JSON that is not JSON are said next to their fields, then
//    creates contract console-2027 (term and printers from the form, a
//    settings item and the backup service from the JSON) and lands on its
//    page: the term, the items, the service settings, and, once the sweep
//    made the run, printer lobby's steps in order with their state in
//    words and attempts (the same as GET /runs/{id}); Renew with a new end
//    makes revision 2;
//  - acme's admin (the customer) finds it in the list and on its page,
//    with its steps, but no create form, renew form or cancel button; on a
//    phone the page needs no horizontal scroll;
//  - Services (#/admin/services): no supply orders, no part alerts, and
//    lobby (picked in the printer list) has no backups yet;
//  - globex's admin: not in the list, and #/admin/contracts?id=N says it
//    is not found, with nothing of the contract on the page.
'use strict';
const { NIMBUS, env, assert, assertEqual, launch, newPage, signIn, screenshot, check, until, rest, finish } =
  require('./console-lib.js');

const OPERATOR = env('OPERATOR_AUTH');
const ADMIN = env('ADMIN_AUTH');
const GLOBEX = env('GLOBEX_ADMIN');
const split = (auth) => auth.split(/:(.*)/s);

async function main() {
  const browser = await launch();
  let contractId;
  try {
    // ---- the operator creates the contract ----
    const { page } = await newPage(browser);
    await signIn(page, ...split(OPERATOR));
    await check('the operator: Contracts in the navigation; pick a tenant first', async () => {
      assert(await page.locator('nav a[href="#/admin/contracts"]').count() > 0, 'in the navigation');
      await page.goto(`${NIMBUS}/#/admin/contracts`);
      await page.locator('#pick-tenant').waitFor();
      await page.locator('#tenant-picker').selectOption('acme');
      await page.locator('#contract-form').waitFor();
      await until('the empty list', async () => /No contracts yet/.test(
        (await page.locator('#contracts-list').textContent()) || ''));
    });
    const form = page.locator('#contract-form');
    await check('a missing name and JSON that is not JSON: said next to their fields', async () => {
      await form.getByLabel('Name', { exact: true }).fill('');
      await page.locator('#contract-create').click();
      await until('the name error', async () => /name/.test(
        (await form.locator('.field[data-name="name"] .field-error').textContent()) || ''));
      await form.getByLabel('Name', { exact: true }).fill('console-2027');
      await form.getByLabel('Items and service settings (JSON)').fill('{"items": [}');
      await page.locator('#contract-create').click();
      await until('the JSON error', async () => /not valid JSON/.test(
        (await form.locator('.field[data-name="json"] .field-error').textContent()) || ''));
    });
    await check('create: the contract page with its term, items and service settings', async () => {
      await form.getByLabel('Items and service settings (JSON)').fill(JSON.stringify({
        service_settings: { backup: { period: 'daily', time: '02:30', mode: 'full', retention: 5 } },
        items: [{ kind: 'settings', name: 'office', values: { 'sides-default': 'two-sided-long-edge' } },
          { kind: 'backup' }],
      }));
      await form.getByLabel('Printers', { exact: true }).fill('lobby');
      await page.locator('#contract-create').click();
      await until('the contract page', async () => /Contract console-2027/.test(
        (await page.locator('#contract-title').textContent()) || ''));
      contractId = new URL(page.url().replace('#/', '')).searchParams.get('id');
      assert(/^\d+$/.test(contractId || ''), `the id in the address: ${page.url()}`);
      const facts = await page.locator('#contract-facts').innerText();
      assert(/acme/.test(facts) && /lobby/.test(facts), `the facts: ${facts}`);
      const settings = await page.locator('#contract-settings').innerText();
      assert(/Data backup/.test(settings) && /retention: 5/.test(settings), `the settings: ${settings}`);
    });
    await check('the run: lobby\'s steps in order, state in words, attempts (as GET /runs/{id})', async () => {
      const rows = page.locator('#contract-runs tr[data-printer="lobby"]');
      await until('the run\'s steps (the sweep; the page refreshes itself)',
        async () => await rows.count() > 0, 60000);
      const first = await rows.first().innerText();
      assert(/Settings/.test(first) && /office/.test(first), `the first step: ${first}`);
      assert(/Waiting|Sent to the printer/.test(first), `its state in words: ${first}`);
      const runs = await rest('GET', `/contracts/${contractId}/runs?tenant=acme`, { auth: OPERATOR });
      assertEqual(runs.status, 200, 'GET runs');
      const run = await rest('GET', `/runs/${runs.json.runs[0].id}?tenant=acme`, { auth: OPERATOR });
      const text = JSON.stringify(run.json);
      assert(/lobby/.test(text) && /"attempts"/.test(text), `the run document: ${text}`);
      await screenshot(page, '60-contract', true);
    });
    await check('renew on the page: a new end makes revision 2', async () => {
      const renew = page.locator('#renew-form');
      const end = new Date(Date.now() + 2 * 365 * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
      await renew.getByLabel('New end of the term').fill(end);
      await page.locator('#contract-renew').click();
      await until('revision 2', async () => /Revision\s*2\b/.test(
        (await page.locator('#contract-facts').innerText()) || ''));
      assert(await page.locator('#contract-cancel').isVisible(), 'the cancel button');
      const text = await page.locator('main').innerText();
      assert(!/\[object |\bnull\b|undefined/.test(text), `no stray text: ${text}`);
    });

    await check('Services: no supply orders or part alerts yet; lobby has no backups yet', async () => {
      await page.goto(`${NIMBUS}/#/admin/services`);
      await until('the orders', async () => /No supply orders yet/.test(
        (await page.locator('#supply-orders').textContent()) || ''));
      await until('the alerts', async () => /No part alerts/.test(
        (await page.locator('#part-alerts').textContent()) || ''));
      await until('lobby in the picker', async () =>
        await page.locator('select[name="printer"] option[value="lobby"]').count() === 1);
      await page.locator('select[name="printer"]').selectOption('lobby');
      await until('the backups', async () => /No backups of this printer yet/.test(
        (await page.locator('#backups').textContent()) || ''));
    });

    // ---- the customer's admin reads it ----
    const { page: boss } = await newPage(browser);
    await signIn(boss, ...split(ADMIN));
    await check('acme\'s admin: the contract listed, read-only, no create form', async () => {
      await boss.goto(`${NIMBUS}/#/admin/contracts`);
      await boss.locator('#contracts-read-only').waitFor();
      await until('the row', async () => await boss.locator('tr[data-name="console-2027"]').count() === 1);
      assertEqual(await boss.locator('#contract-form').count(), 0, 'a create form');
    });
    await check('acme\'s admin: the contract page with its steps, no renew or cancel', async () => {
      await boss.locator('tr[data-name="console-2027"] a').click();
      await until('the steps', async () => await boss.locator('#contract-runs tr[data-printer="lobby"]').count() > 0);
      assertEqual(await boss.locator('#contract-cancel').count(), 0, 'a cancel button');
      assertEqual(await boss.locator('#renew-form').count(), 0, 'a renew form');
      const text = await boss.locator('main').innerText();
      assert(!/\[object |\bnull\b|undefined/.test(text), `no stray text: ${text}`);
    });
    await check('on a phone: no horizontal scroll', async () => {
      await boss.setViewportSize({ width: 390, height: 844 });
      await until('the layout', async () => boss.evaluate(() =>
        document.documentElement.scrollWidth <= document.documentElement.clientWidth));
      await screenshot(boss, '61-contract-phone', true);
    });

    // ---- another tenant's admin sees nothing ----
    const { page: other } = await newPage(browser);
    await signIn(other, ...split(GLOBEX));
    await check('globex\'s admin: not listed, and its page says not found', async () => {
      await other.goto(`${NIMBUS}/#/admin/contracts`);
      await until('the empty list', async () => /No contracts yet/.test(
        (await other.locator('#contracts-list').textContent()) || ''));
      await other.goto(`${NIMBUS}/#/admin/contracts?id=${contractId}`);
      await until('the error', async () => /not found|not permitted|could not be loaded/i.test(
        (await other.locator('#contract').textContent()) || ''));
      const body = await other.locator('main').innerText();
      assert(!/console-2027|lobby|office/.test(body), `nothing of the contract: ${body}`);
      assertEqual((await rest('GET', `/contracts/${contractId}`, { auth: GLOBEX })).status, 404, 'GET as gboss');
    });
  } finally {
    await browser.close();
  }
}

finish('console-contracts.test.js', main);
