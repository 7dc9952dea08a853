// The web console (docs/CONSOLE.md) in headless Chromium, driven by
// playwright-core against a real nimbusd serving the built console; run by
// tests/integration/test-console-browser.sh, which sets up the tenant and
// the jobs and passes:
//   CONSOLE_PART: session-jobs (sign-in, cookie, CSRF, CSP, My jobs,
//   sign-out);
//   NIMBUS_URL, ADMIN_AUTH (the tenant admin, user@tenant:password),
//   ALICE (alice@acme:password), BOB (bob@acme:password), CAROL
//   (carol@acme, whose sign-ins fail: LOGIN_FAILURES, nimbusd's
//   --login-failures, then the throttle's 429),
//   JOB_PIN (alice's held job, PIN 1234, "Boarding-pass.pdf"),
//   JOB_CANCEL, JOB_DELETE (alice's held jobs without a PIN),
//   JOB_FEE (alice's 3-page held job "Quarterly-report.pdf"),
//   JOB_BOB (bob's held job "Bobs-secret.pdf"),
//   CHROMIUM, SCREENSHOTS_DIR (optional), FAILURE_DIR.
// Waits are Playwright's (locators, waitFor, waitForResponse) or polls of
// nimbusd's REST API.
'use strict';
const {
  NIMBUS, TIME_RE, env, assert, assertEqual, launch, newPage, watch, signIn, screenshot, check,
  until, rest, finish,
} = require('./console-lib.js');

const PART = process.env.CONSOLE_PART || 'session-jobs';
const ADMIN = env('ADMIN_AUTH');
const ALICE = env('ALICE');
const BOB = env('BOB');
const CAROL = env('CAROL');
const LOGIN_FAILURES = +env('LOGIN_FAILURES');
const [ALICE_USER, ALICE_PW] = ALICE.split(/:(.*)/s);

async function main() {
  const browser = await launch();
  try {
    if (PART === 'session-jobs') await sessionJobs(browser);
    else throw new Error(`unknown CONSOLE_PART ${PART}`);
  } finally {
    await browser.close();
  }
}

// ---- helpers of the jobs page ----
const row = (page, id) => page.locator(`tr[data-job="${id}"]`);

// every job id the list shows under the filter, through all its pages
async function listedIds(page) {
  const ids = [];
  for (;;) {
    await page.locator('#jobs-list[aria-busy="false"]').waitFor();
    ids.push(...(await page.locator('tr[data-job]').evaluateAll((trs) => trs.map((t) => +t.dataset.job))));
    const next = page.locator('.pager button', { hasText: 'Next' });
    if (await next.isDisabled()) break;
    await next.click();
  }
  return ids.sort((a, b) => a - b);
}

async function showFilter(page, name) {
  await page.locator(`button.filter[data-filter="${name}"]`).click();
  await page.locator(`button.filter[data-filter="${name}"][aria-pressed="true"]`).waitFor();
  await page.locator('#jobs-list[aria-busy="false"]').waitFor();
}

const restJob = async (id) => {
  const r = await rest('GET', `/jobs/${id}`, { auth: ADMIN });
  if (r.status !== 200) throw new Error(`GET /jobs/${id}: ${r.status}`);
  return r.json;
};

// the cookie header of a context's session
async function sessionCookie(context) {
  const c = (await context.cookies(NIMBUS)).find((x) => x.name === 'nimbus_session');
  assert(c, 'no nimbus_session cookie');
  return c;
}

async function sessionJobs(browser) {
  const J = {
    pin: +env('JOB_PIN'), cancel: +env('JOB_CANCEL'), del: +env('JOB_DELETE'),
    fee: +env('JOB_FEE'), bob: +env('JOB_BOB'),
  };
  const { context, page } = await newPage(browser);

  // ---- sign-in ----
  await check('/ serves the console under the Content-Security-Policy', async () => {
    const r = await page.goto(`${NIMBUS}/`);
    assertEqual(r.status(), 200, 'status of /');
    const csp = r.headers()['content-security-policy'] || '';
    assert(/script-src 'self'/.test(csp) && /default-src 'none'/.test(csp), `CSP: ${csp}`);
    await page.locator('#signin-form').waitFor();
    assertEqual(await page.title(), 'Sign in — Nimbus Print', 'title');
  });
  await check('the skip link comes before User, and shows with a focus outline', async () => {
    const user = page.getByLabel('User', { exact: true });
    await user.focus();
    await page.keyboard.press('Shift+Tab');
    assertEqual(await page.evaluate(() => document.activeElement.className), 'skip-link', 'focused');
    const box = await page.locator('.skip-link').boundingBox();
    assert(box && box.y >= 0, `the focused skip link is off screen: ${JSON.stringify(box)}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assertEqual(outline, 'solid', 'a visible focus outline');
    await page.keyboard.press('Tab');
    assertEqual(await page.evaluate(() => document.activeElement.id), await user.getAttribute('id'),
      'Tab leads back to User');
  });
  await check('a user without @tenant is told so under User', async () => {
    await page.getByLabel('User', { exact: true }).fill('alice');
    await page.getByLabel('Password', { exact: true }).fill('x');
    await page.locator('#signin-submit').click();
    const err = page.locator('.field[data-name="user"] .field-error');
    await err.waitFor();
    assert(/name@organisation/.test(await err.innerText()), 'the error under User');
    assertEqual(await page.getByLabel('User', { exact: true }).getAttribute('aria-invalid'), 'true', 'aria-invalid');
  });
  await check('a wrong password: "Wrong user or password." next to the Password field', async () => {
    await page.getByLabel('User', { exact: true }).fill(ALICE_USER);
    await page.getByLabel('Password', { exact: true }).fill('not-her-password');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST'),
      page.locator('#signin-submit').click(),
    ]);
    assertEqual(resp.status(), 401, 'POST /session');
    assert(!/basic/i.test(resp.headers()['www-authenticate'] || ''), 'a Basic challenge (browser dialog)');
    const err = page.locator('.field[data-name="password"] .field-error');
    await err.waitFor();
    assertEqual(await err.innerText(), 'Wrong user or password.', 'error text');
    const input = page.getByLabel('Password', { exact: true });
    assertEqual(await input.getAttribute('aria-invalid'), 'true', 'aria-invalid');
    const ids = (await input.getAttribute('aria-describedby') || '').split(' ');
    assert(ids.includes(await err.getAttribute('id')), 'aria-describedby names the error');
    const a = await input.boundingBox();
    const b = await err.boundingBox();
    assert(b.y >= a.y + a.height && b.y - (a.y + a.height) < 40, 'the error is right under the field');
    assertEqual(await page.locator('.field[data-name="user"] .field-error').isVisible(), false,
      'the User error is gone');
    await screenshot(page, '02-signin-error');
  });
  await check('the sign-in throttle: the 429 and its wait in words next to Password', async () => {
    await page.getByLabel('User', { exact: true }).fill(CAROL);
    const statuses = [];
    for (let i = 0; i <= LOGIN_FAILURES; i++) {
      await page.getByLabel('Password', { exact: true }).fill(`wrong-${i}`);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST'),
        page.locator('#signin-submit').click(),
      ]);
      statuses.push(resp.status());
      await page.locator('#signin-submit:not([disabled])').waitFor();
    }
    assertEqual(statuses, Array(LOGIN_FAILURES).fill(401).concat([429]), 'answers');
    const text = await page.locator('.field[data-name="password"] .field-error').innerText();
    assert(/^Too many failed sign-ins: wait (\d+ minutes?)?( ?\d+ seconds?)?, then try again\.$/.test(text),
      `the error: ${text}`);
    await screenshot(page, '03-signin-throttled');
  });
  await check('alice signs in: the shell with her name, tenant and role', async () => {
    await page.goto(`${NIMBUS}/`);
    await page.locator('#signin-form').waitFor();
    await screenshot(page, '01-signin');
    await signIn(page, ALICE_USER, ALICE_PW);
    assertEqual(await page.locator('#who').innerText(), 'alice@acme', 'who');
    assertEqual(await page.locator('#role').innerText(), 'user', 'role');
    await page.locator('nav.mainnav a[aria-current="page"]', { hasText: 'My jobs' }).waitFor();
    assert(/^#\/jobs/.test(new URL(page.url()).hash), `the route: ${page.url()}`);
  });
  await check('the session cookie is HttpOnly and SameSite=Strict: script cannot read it', async () => {
    const c = await sessionCookie(context);
    assert(c.httpOnly, 'HttpOnly');
    assertEqual(c.sameSite, 'Strict', 'SameSite');
    assert(c.value.startsWith('nms_'), 'the session secret');
    const seen = await page.evaluate(() => document.cookie);
    assert(!seen.includes('nimbus_session') && !seen.includes(c.value), `document.cookie: ${seen}`);
  });
  await check('a POST from the page without X-CSRF-Token is refused 403; with it, it works', async () => {
    const r = await page.evaluate(async () => {
      const post = (headers) => fetch('/api/v1/tokens', {
        method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, headers),
        body: JSON.stringify({ label: 'csrf-test' }),
      });
      const bare = await post({});
      const bareBody = await bare.json().catch(() => null);
      const s = await (await fetch('/api/v1/session')).json();
      const good = await post({ 'X-CSRF-Token': s.csrf_token });
      const wrong = await post({ 'X-CSRF-Token': 'A'.repeat(s.csrf_token.length) });
      return { bare: bare.status, type: bareBody && bareBody.type, good: good.status, wrong: wrong.status };
    });
    assertEqual(r.bare, 403, 'without the token');
    assertEqual(r.type, 'urn:nimbus:problem:csrf', 'problem type');
    assertEqual(r.wrong, 403, 'with a wrong token');
    assertEqual(r.good, 201, 'with the token');
  });
  await check('the CSP blocks a script injected into the page', async () => {
    const r = await page.evaluate(() => new Promise((resolve) => {
      let violated = '';
      document.addEventListener('securitypolicyviolation', (e) => { violated = e.violatedDirective; });
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true;';
      document.body.append(s);
      setTimeout(() => resolve({ ran: window.__injected === true, violated }), 300);
    }));
    assertEqual(r.ran, false, 'the injected script ran');
    assert(/^script-src/.test(r.violated), `no CSP violation reported (${r.violated})`);
  });

  // ---- My jobs ----
  await check("the list shows all of alice's jobs, page by page, never bob's", async () => {
    const mine = await rest('GET', '/jobs?state=all&limit=1000', { auth: ALICE });
    const want = mine.json.jobs.map((j) => j.id).sort((a, b) => a - b);
    assert(want.length > 20, `alice has ${want.length} jobs: too few to page`);
    assert(!want.includes(J.bob), "bob's job in alice's REST list");
    await showFilter(page, 'all');
    const pagerText = await page.locator('.pager-label').innerText();
    assertEqual(pagerText, `1–20 of ${want.length}`, 'pager');
    await screenshot(page, '04-jobs');
    const got = await listedIds(page);
    assertEqual(got, want, 'listed ids');
    assertEqual(await row(page, J.bob).count(), 0, "bob's job listed");
    assert(!(await page.locator('#main').innerText()).includes('Bobs-secret'), "bob's job name shown");
  });
  await check('a held job shows its state, queue, pages, fee and time in the viewer\'s zone', async () => {
    await showFilter(page, 'held');
    const job = await restJob(J.fee);
    const r = row(page, J.fee);
    await r.waitFor();
    assertEqual(await r.getAttribute('data-state'), 'held', 'data-state');
    assertEqual(await r.locator('td[data-label="State"]').innerText(), 'Held', 'state');
    assertEqual(await r.locator('.job-name').innerText(), 'Quarterly-report.pdf', 'name');
    assertEqual(await r.locator('td[data-label="Queue / printer"]').innerText(), 'office', 'queue');
    assertEqual(await r.locator('td[data-label="Where"]').innerText(), 'Here', 'where (a local job)');
    assertEqual(await r.locator('td[data-label="Pages"]').innerText(), '3 pages', 'pages');
    // the fee: the job's charge, as en-US writes EUR from integer cents
    assert(job.charge && job.charge.currency === 'EUR' && job.charge.total > 0,
      `the job's charge: ${JSON.stringify(job.charge)}`);
    const cents = String(job.charge.total % 100).padStart(2, '0');
    assertEqual(await r.locator('.job-fee').innerText(),
      `€${Math.floor(job.charge.total / 100)}.${cents}`, 'fee');
    const when = await r.locator('td[data-label="Submitted"]').innerText();
    assert(TIME_RE.test(when), `time: ${when}`);
    // America/New_York (the context's zone): EST or EDT, and its hour
    const zone = when.split(' ')[2];
    assert(zone === 'EST' || zone === 'EDT', `zone: ${zone}`);
    const hour = new Date(job.created_at).toLocaleString('en-US',
      { timeZone: 'America/New_York', hour: '2-digit', hourCycle: 'h23' });
    assertEqual(when.split(' ')[1].slice(0, 2), hour.padStart(2, '0'), 'hour in New York');
    assertEqual(await row(page, J.pin).locator('button.release').count(), 1, 'Release offered');
  });
  await check('release with a wrong PIN: the error in words in its row; the job stays held', async () => {
    const r = row(page, J.pin);
    await r.locator('button.release').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await dialog.getByLabel('PIN').fill('9999');
    await screenshot(page, '05-jobs-release-pin');
    const [resp] = await Promise.all([
      page.waitForResponse((x) => x.url().endsWith(`/api/v1/jobs/${J.pin}/release`)),
      dialog.getByRole('button', { name: 'Release' }).click(),
    ]);
    assertEqual(resp.status(), 403, 'release with a wrong PIN');
    const err = r.locator('.row-error');
    await err.waitFor();
    assertEqual(await err.innerText(), 'wrong PIN', 'row error');
    assertEqual((await restJob(J.pin)).state, 'held', 'state in nimbusd');
  });
  await check('release with the right PIN moves the job out of held (nimbusd says so)', async () => {
    const r = row(page, J.pin);
    await r.locator('button.release').click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByLabel('PIN').fill('1234');
    await dialog.getByLabel('PIN').press('Enter'); // the keyboard submits
    await page.locator('#notice', { hasText: `Job ${J.pin} was released.` }).waitFor();
    await until(`job ${J.pin} out of held`, async () => (await restJob(J.pin)).state !== 'held');
    await row(page, J.pin).waitFor({ state: 'detached' }); // the held list no longer has it
  });
  await check('cancel asks first, then cancels the job', async () => {
    await row(page, J.cancel).locator('button.cancel').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'detached' });
    assertEqual((await restJob(J.cancel)).state, 'held', 'kept');
    await row(page, J.cancel).locator('button.cancel').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel the job' }).click();
    await page.locator('#notice', { hasText: `Job ${J.cancel} was canceled.` }).waitFor();
    assertEqual((await restJob(J.cancel)).state, 'canceled', 'state in nimbusd');
  });
  await check('delete: DELETE /jobs/{id} cancels the job and removes its document', async () => {
    await row(page, J.del).locator('button.delete').click();
    const [resp] = await Promise.all([
      page.waitForResponse((x) => x.url().endsWith(`/api/v1/jobs/${J.del}`) && x.request().method() === 'DELETE'),
      page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click(),
    ]);
    if (resp.status() !== 204) {
      // the error is in words next to the row, whatever it is
      const err = await row(page, J.del).locator('.row-error').innerText();
      throw new Error(`DELETE answered ${resp.status()}; the row says "${err}"`);
    }
    await page.locator('#notice', { hasText: `Job ${J.del} was deleted.` }).waitFor();
    const job = await restJob(J.del);
    assertEqual(job.state, 'canceled', 'state in nimbusd');
    assert(job.documents.every((d) => d.purged), 'the document is gone');
    await showFilter(page, 'finished');
    await row(page, J.del).locator('td[data-label="State"]', { hasText: 'document deleted' }).waitFor();
    assertEqual(await row(page, J.del).locator('button.delete').count(), 0, 'Delete still offered');
  });

  // ---- a phone ----
  const phone = await newPage(browser, { viewport: { width: 360, height: 740 } });
  await check('on a 360x740 phone the jobs page has no horizontal scroll', async () => {
    await signIn(phone.page, ALICE_USER, ALICE_PW);
    await phone.page.locator('#jobs-list[aria-busy="false"]').waitFor();
    await row(phone.page, J.fee).waitFor();
    const w = await phone.page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
    }));
    assert(w.scroll <= w.view, `page ${w.scroll} px wide in a ${w.view} px view`);
    const btn = await row(phone.page, J.fee).locator('button.release').boundingBox();
    assert(btn && btn.x >= 0 && btn.x + btn.width <= 360 && btn.height >= 40,
      `Release is off screen or small: ${JSON.stringify(btn)}`);
    await screenshot(phone.page, '06-jobs-phone');
  });

  // ---- the session ends elsewhere: "Your session ended" ----
  await check('a 401 (the session deleted elsewhere) brings "Your session ended; sign in again"', async () => {
    const c = await sessionCookie(phone.context);
    const cookie = `nimbus_session=${c.value}`;
    const s = await rest('GET', '/session', { cookie });
    assertEqual(s.status, 200, 'GET /session with the cookie');
    assertEqual(s.json.user.replace(/@.*/, ''), 'alice', 'the session\'s user');
    assertEqual((await rest('DELETE', '/session', { cookie, csrf: s.json.csrf_token })).status, 204,
      'DELETE /session');
    await phone.page.locator('button.refresh').click();
    const msg = phone.page.locator('#signin-message');
    await msg.waitFor();
    assertEqual(await msg.innerText(), 'Your session ended; sign in again.', 'message');
    await phone.page.locator('#signin-form').waitFor();
    await screenshot(phone.page, '07-session-ended');
  });
  await phone.context.close();
  watch(page);

  // ---- sign-out ----
  await check('sign-out returns to the sign-in page and the old cookie is refused (401)', async () => {
    const c = await sessionCookie(context);
    const cookie = `nimbus_session=${c.value}`;
    assertEqual((await rest('GET', '/jobs', { cookie })).status, 200, 'the cookie before');
    await page.locator('#signout').click();
    await page.locator('#signin-message', { hasText: 'You signed out.' }).waitFor();
    await page.locator('#signin-form').waitFor();
    assertEqual((await rest('GET', '/session', { cookie })).status, 401, 'GET /session after');
    assertEqual((await rest('GET', '/jobs', { cookie })).status, 401, 'GET /jobs after');
    const left = (await context.cookies(NIMBUS)).filter((x) => x.name === 'nimbus_session');
    assertEqual(left.length, 0, 'the cookie is cleared in the browser');
  });
  await check('bob signs in: only his job, none of alice\'s', async () => {
    const [bobUser, bobPw] = BOB.split(/:(.*)/s);
    await signIn(page, bobUser, bobPw);
    await showFilter(page, 'all');
    assertEqual(await listedIds(page), [J.bob], "bob's list");
    await page.locator('#signout').click();
    await page.locator('#signin-form').waitFor();
  });
  await context.close();
}

finish('console.test.js', main);
