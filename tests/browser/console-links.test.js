// The console's "Linked accounts" page (#/linked-accounts, docs/FEDERATION.md
// §2.2) in headless Chromium, against a real nimbusd that is both sides at
// once: alice links her account on this same service (its OAuth
// authorization server, §2.1), as she would one on another service; run by
// tests/integration/test-console-browser.sh (ALICE and BOB: user@tenant:password).
//  - Link with an address that is not one: said next to the field;
//  - Link with the service's address: the user code as text, the
//    verification address as a link, the QR code, status "Waiting for you
//    to approve";
//  - bob approves the code (REST, as on the other service): without a
//    reload, the page shows "Linked" and the account there, bob;
//  - Remove (asked first): the list is empty, and so is GET /me/account-links.
'use strict';
const { NIMBUS, env, assert, assertEqual, launch, newPage, signIn, check, until, rest, finish } =
  require('./console-lib.js');

const [ALICE_USER, ALICE_PW] = env('ALICE').split(/:(.*)/s);
const BOB = env('BOB');

async function main() {
  const browser = await launch();
  try {
    const { page } = await newPage(browser);
    await signIn(page, ALICE_USER, ALICE_PW);
    await page.goto(`${NIMBUS}/#/linked-accounts`);
    const url = page.getByLabel('Address of the other print service');
    await check('the page, in the navigation, with an empty list', async () => {
      await page.locator('#link-form').waitFor();
      assert(await page.locator('nav a[href="#/linked-accounts"]').count() > 0, 'in the navigation');
      await until('the list', async () => /No linked accounts yet/.test(
        (await page.locator('#links-list').textContent()) || ''));
    });
    await check('an address that is not one: said next to the field', async () => {
      await url.fill('print.example');
      await page.locator('#link-create').click();
      await until('the error', async () => /starting with https:\/\//.test(
        (await page.locator('.field[data-name="service_url"] .field-error').textContent()) || ''));
    });
    let code;
    await check('Link: the user code as text, the verification address, the QR code', async () => {
      await url.fill(NIMBUS);
      await page.locator('#link-create').click();
      const codeNode = page.locator('#links-pending .claim-code');
      await codeNode.waitFor();
      code = (await codeNode.textContent()).trim();
      assert(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-?[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(code), `a user code: ${code}`);
      const a = page.locator('#links-pending a');
      assertEqual(await a.textContent(), `${NIMBUS}/device`, 'the verification address');
      assert((await a.getAttribute('href')).startsWith(`${NIMBUS}/device?user_code=`), 'the complete one');
      const img = page.locator('#links-pending img.qr');
      assert(/^QR code of /.test(await img.getAttribute('alt')), 'the QR code');
      await until('the QR image loaded', async () => img.evaluate((i) => i.complete && i.naturalWidth > 0));
      const row = page.locator('#links-list tr[data-status="pending"]');
      assert(/Waiting for you to approve/.test(await row.textContent()), 'the status in words');
    });
    await check('approved at the service: Linked, the account there, without a reload', async () => {
      const r = await rest('POST', '/oauth/device/approve', { auth: BOB, body: { user_code: code } });
      assertEqual(r.status, 200, 'approve');
      const row = page.locator('#links-list tr[data-status="linked"]');
      await row.waitFor({ timeout: 30000 });
      const text = await row.textContent();
      assert(/Linked/.test(text) && /bob/.test(text), `the row: ${text}`);
      assertEqual(await page.locator('#links-pending .claim-code').count(), 0, 'the code is gone');
    });
    await check('Remove, asked first: the list is empty', async () => {
      await page.locator('#links-list button', { hasText: 'Remove' }).click();
      await page.locator('dialog.confirm button.danger').click();
      await until('the empty list', async () => /No linked accounts yet/.test(
        (await page.locator('#links-list').textContent()) || ''));
      const r = await rest('GET', '/me/account-links', { auth: env('ALICE') });
      assertEqual(r.json.account_links, [], 'none left');
    });
  } finally {
    await browser.close();
  }
}

finish('console-links.test.js', main);
