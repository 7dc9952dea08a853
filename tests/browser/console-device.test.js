// The console's #/device page (the OAuth device grant's verification page,
// docs/FEDERATION.md §2.1) in headless Chromium, against a real nimbusd;
// run by tests/integration/test-console-browser.sh (ALICE: user@tenant:password).
// A grant is started from node as another service would
// (POST /oauth/device_authorization), then:
//  - its verification_uri_complete opened signed out: the sign-in page, and
//    after signing in the user is back on #/device with the code filled in;
//    the page names the asking service and the scope in words;
//  - Approve: the outcome in words, and the service's poll of /oauth/token
//    gets the token (scope federation) exactly once;
//  - a second grant denied from the page (code typed by hand, in lower case
//    with spaces): the poll answers access_denied; a wrong code is said so
//    next to the field.
'use strict';
const { NIMBUS, env, assert, assertEqual, launch, newPage, check, until, finish } =
  require('./console-lib.js');

const [ALICE_USER, ALICE_PW] = env('ALICE').split(/:(.*)/s);
const CLIENT = 'home.example';

// form POST to an OAuth endpoint → {status, json}
async function form(p, fields) {
  const r = await fetch(`${NIMBUS}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: r.status, json: await r.json() };
}
const start = () => form('/oauth/device_authorization', { client_id: CLIENT, scope: 'federation' });
const poll = (dc) => form('/oauth/token', {
  grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: dc, client_id: CLIENT,
});

async function main() {
  const browser = await launch();
  try {
    const { page } = await newPage(browser);
    let grant;
    await check('signed out, the verification URI leads through sign-in back to #/device with the code', async () => {
      grant = (await start()).json;
      assert(grant.user_code, 'a grant was started');
      await page.goto(grant.verification_uri_complete);
      await page.locator('#signin-form').waitFor();
      await page.getByLabel('User', { exact: true }).fill(ALICE_USER);
      await page.getByLabel('Password', { exact: true }).fill(ALICE_PW);
      await page.locator('#signin-submit').click();
      await page.locator('#device-client').waitFor();
      assert(page.url().endsWith(`#/device?code=${grant.user_code}`), `back on the page: ${page.url()}`);
      assertEqual(await page.getByLabel('Code shown by the other service').inputValue(), grant.user_code,
        'the code, filled in');
      assertEqual(await page.locator('#device-client').textContent(), CLIENT, 'the asking service');
      assert(/cannot print/.test(await page.locator('#device-scope').textContent()), 'the scope in words');
    });
    await check('Approve: said in words; the service gets its token once', async () => {
      assertEqual((await poll(grant.device_code)).json.error, 'authorization_pending', 'before');
      await page.locator('#device-approve').click();
      await until('the outcome', async () => /^Approved: home\.example/.test(
        (await page.locator('#device-result').textContent()) || ''));
      const t = await poll(grant.device_code);
      assertEqual([t.status, t.json.scope, t.json.token_type], [200, 'federation', 'Bearer'], 'the token');
      assertEqual((await poll(grant.device_code)).json.error, 'invalid_grant', 'a second poll');
    });
    await check('a wrong code is said next to the field; Deny on a typed code: access_denied', async () => {
      const second = (await start()).json;
      const input = page.getByLabel('Code shown by the other service');
      await input.fill('BBBB-BBBB');
      await page.locator('#device-check').click();
      await until('the wrong code', async () => /No waiting request/.test(
        (await page.locator('.field[data-name="user_code"] .field-error').textContent()) || ''));
      const typed = second.user_code.toLowerCase().replace('-', ' ');
      await input.fill(typed);
      await page.locator('#device-check').click();
      await page.locator('#device-deny').waitFor();
      await page.locator('#device-deny').click();
      await until('the outcome', async () => /^Denied/.test(
        (await page.locator('#device-result').textContent()) || ''));
      assertEqual((await poll(second.device_code)).json.error, 'access_denied', 'the poll');
    });
  } finally {
    await browser.close();
  }
}

finish('console-device.test.js', main);
