// The connector's release panel (src/connector/panel-release.c) driven in
// headless Chromium with playwright-core, as a person at the printer would.
// Run by tests/integration/test-panel-browser.sh, which starts nimbusd,
// nimbus-connector and ippeveprinter, has the PCs print, and passes:
//   PANEL_URL, NIMBUS_URL, NIMBUS_AUTH (a tenant admin, user:password),
//   JOB_REPORT, JOB_LOCKOUT, JOB_DRAFT (alice's, PIN 1234), JOB_BOB (bob's),
//   PIN_LOCKOUT (nimbusd's --pin-lockout), IPPEVE_PRINTED, NIMBUS_TEST_DATA,
//   CHROMIUM, SCREENSHOTS_DIR (optional: the screens as PNG), FAILURE_DIR.
// Waits are Playwright's (locators, waitFor, waitForResponse) or polls of
// nimbusd's REST API for a state; the only plain wait is for the PIN lockout
// to run out.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}
const PANEL = env('PANEL_URL');
const NIMBUS = env('NIMBUS_URL');
const AUTH = 'Basic ' + Buffer.from(env('NIMBUS_AUTH')).toString('base64');
const JOB = {
  report: +env('JOB_REPORT'),
  lockout: +env('JOB_LOCKOUT'),
  draft: +env('JOB_DRAFT'),
  bob: +env('JOB_BOB'),
};
const PIN_LOCKOUT_S = +env('PIN_LOCKOUT');
const PRINTED = env('IPPEVE_PRINTED');
const DATA = env('NIMBUS_TEST_DATA');
const SHOTS = process.env.SCREENSHOTS_DIR || '';
const FAILURE_DIR = process.env.FAILURE_DIR || '';
const TIME_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d$/;

// ---- small helpers ----
let passed = 0;
let current = null; // the page to photograph when a check fails
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function assertEqual(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAILED - ${name}\n${e.stack || e}`);
    e.reported = true;
    if (current) {
      console.error(`page ${current.url()}:\n${await current.locator('body').innerText().catch(() => '?')}`);
      if (FAILURE_DIR) {
        const file = path.join(FAILURE_DIR, 'panel-browser-failure.png');
        await current.screenshot({ path: file }).catch(() => {});
        console.error(`screenshot: ${file}`);
      }
    }
    throw e;
  }
  passed++;
  console.log(`ok - ${name}`);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

// nimbusd's REST view of a job (as the tenant admin)
async function restJob(id) {
  const r = await fetch(`${NIMBUS}/api/v1/jobs/${id}`, { headers: { Authorization: AUTH } });
  if (r.status !== 200) throw new Error(`GET /api/v1/jobs/${id}: ${r.status}`);
  return r.json();
}
// poll until fn() is truthy (a limit for broken runs, not a timing assertion)
async function until(desc, fn, limitMs = 60000) {
  const end = Date.now() + limitMs;
  let last;
  for (;;) {
    try {
      if (await fn()) return;
      last = 'false';
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > end) throw new Error(`gave up waiting for ${desc} (last: ${last})`);
    await sleep(100);
  }
}
const stateIs = async (id, want) => (await restJob(id)).state === want;
const printedFiles = () => fs.readdirSync(PRINTED);

// ---- the panel ----
const onScreen = (page, name) => page.locator(`body[data-screen="${name}"]`).waitFor();
const message = (page, re) => page.locator('#message', { hasText: re }).waitFor();

// click a button and return the answer of the POST it sends
async function submit(page, selector) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().startsWith(`${PANEL}/release/`)),
    page.locator(selector).click(),
  ]);
  return resp;
}

async function login(page, user, secret, screenshot) {
  await page.goto(`${PANEL}/release`);
  await onScreen(page, 'login');
  await page.locator('#user').fill(user);
  await page.locator('#secret').fill(secret);
  if (screenshot) await shot(page, screenshot);
  await page.locator('#login').click();
  await onScreen(page, 'jobs');
}

async function listedIds(page) {
  const ids = await page.locator('li.job').evaluateAll((lis) => lis.map((li) => +li.dataset.id));
  return ids.sort((a, b) => a - b);
}

async function selectJob(page, id) {
  await page.locator(`#job-${id}`).check();
  await page.locator('#next').click();
  await onScreen(page, 'pin');
}

async function enterPin(page, pin) {
  await page.locator('#pin').fill(pin);
  await page.locator('#next').click();
  await onScreen(page, 'details');
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', // CI runs as root
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking', // the machine has no network but loopback
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const newPanel = async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 480 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    current = page;
    return { context, page };
  };
  try {
    await run(newPanel);
  } finally {
    await browser.close();
  }
}

async function run(newPanel) {
  const alicePanel = await newPanel();
  let page = alicePanel.page;

  // ---- the start screen: no job is shown to anyone not logged in ----
  await check('the start screen asks for the user ID', async () => {
    await page.goto(`${PANEL}/release`);
    await onScreen(page, 'login');
    await page.locator('#user').waitFor();
    await page.locator('#secret').waitFor();
    assertEqual(await page.locator('li.job').count(), 0, 'jobs listed before login');
    await shot(page, '1-start');
  });
  await check('a wrong password is refused with a message', async () => {
    await page.locator('#user').fill('alice');
    await page.locator('#secret').fill('not-her-password');
    const r = await submit(page, '#login');
    assertEqual(r.status(), 401, 'status');
    await message(page, /Wrong user ID or secret/);
    await onScreen(page, 'login');
  });

  // ---- bob: alice's jobs are not his ----
  const bobPanel = await newPanel();
  const bp = bobPanel.page;
  await check('bob logs in: only his job is listed', async () => {
    await login(bp, 'bob', 'bob-pw-1');
    assertEqual(JSON.stringify(await listedIds(bp)), JSON.stringify([JOB.bob]), 'bob\'s list');
    const text = await bp.locator('#jobs').innerText();
    assert(!/Quarterly|Boarding|Draft/.test(text), `alice's job names on bob's screen: ${text}`);
  });
  await check("bob posts alice's job id with his panel cookie: refused", async () => {
    const csrf = await bp.locator('input[name=csrf]').first().inputValue();
    const req = bobPanel.context.request;
    const sel = await req.post(`${PANEL}/release/select`, { form: { csrf, job: String(JOB.report) } });
    // select redirects to the job only when nimbusd knows it as bob's
    const html = await sel.text();
    assert(!html.includes('Quarterly'), 'alice\'s job name shown to bob');
    assert(!html.includes('data-screen="pin"') && !html.includes('data-screen="details"'),
      `bob got alice's job on screen (${sel.status()})`);
    assertEqual(sel.status(), 404, 'select status');
    const pin = await req.post(`${PANEL}/release/pin`, { form: { csrf, pin: '1234' } });
    assert(!(await pin.text()).includes('Quarterly'), 'alice\'s job after a PIN');
    const print = await req.post(`${PANEL}/release/print`, { form: { csrf, job: String(JOB.report) } });
    assert(!(await print.text()).includes('data-screen="done"'), 'bob\'s print was accepted');
    assertEqual((await restJob(JOB.report)).state, 'held', 'alice\'s job state in nimbusd');
    assertEqual(printedFiles().length, 0, 'documents printed');
  });
  await check('bob logs out', async () => {
    await bp.locator('#logout').click();
    await onScreen(bp, 'login');
    await bobPanel.context.close();
    current = page;
  });

  // ---- alice prints her report ----
  await check('alice logs in: her three jobs, not bob\'s', async () => {
    await login(page, 'alice', 'alice-pw-1', '2-login');
    const want = [JOB.report, JOB.lockout, JOB.draft].sort((a, b) => a - b);
    assertEqual(JSON.stringify(await listedIds(page)), JSON.stringify(want), 'alice\'s list');
    assertEqual(await page.locator(`li.job[data-id="${JOB.bob}"]`).count(), 0, 'bob\'s job listed');
  });
  await check('each job shows its name, pages and time', async () => {
    const li = page.locator(`li.job[data-id="${JOB.report}"]`);
    assertEqual(await li.locator('.job-name').innerText(), 'Quarterly-report.pdf', 'name');
    assertEqual(await li.locator('.job-pages').innerText(), '3 pages', 'pages');
    assert(TIME_RE.test(await li.locator('.job-time').innerText()), 'time');
    const one = page.locator(`li.job[data-id="${JOB.draft}"]`);
    assertEqual(await one.locator('.job-pages').innerText(), '1 page', 'pages of a one-page job');
    await shot(page, '3-jobs');
  });
  await check('she selects the report: the PIN screen', async () => {
    await selectJob(page, JOB.report);
    assertEqual(await page.locator('#job-name').innerText(), 'Quarterly-report.pdf', 'name');
    await page.locator('#pin').fill('1234');
    await shot(page, '4-pin');
  });
  await check('the PIN: details with name, pages and fee 0', async () => {
    await page.locator('#next').click();
    await onScreen(page, 'details');
    assertEqual(await page.locator('#job-name').innerText(), 'Quarterly-report.pdf', 'name');
    assertEqual(await page.locator('#job-pages').innerText(), '3', 'pages');
    assertEqual(await page.locator('#job-fee').innerText(), '0.00 EUR', 'fee');
    assert(TIME_RE.test(await page.locator('#job-time').innerText()), 'time');
    await shot(page, '5-details');
  });
  await check('Print: the done screen, logged out', async () => {
    const r = await submit(page, '#print');
    assertEqual(r.status(), 200, 'status');
    await onScreen(page, 'done');
    await message(page, /Your job is being printed/);
    await shot(page, '6-done');
  });
  await check('the job prints on the printer and completes in nimbusd', async () => {
    await until(`job ${JOB.report} completed`, () => stateIs(JOB.report, 'completed'));
    await until('the printer printed one document', () => printedFiles().length === 1);
    const printed = fs.readFileSync(path.join(PRINTED, printedFiles()[0]));
    assert(printed.equals(fs.readFileSync(path.join(DATA, 'threepage.pdf'))), 'printed document differs');
  });
  await check('its document is purged in nimbusd', async () => {
    await until(`job ${JOB.report} purged`, async () => (await restJob(JOB.report)).documents.every((d) => d.purged));
  });
  await check('Done returns to the start; the session is gone', async () => {
    await page.locator('#done').click();
    await onScreen(page, 'login');
    await page.goto(`${PANEL}/release/jobs`);
    await onScreen(page, 'login');
  });

  // ---- wrong PINs lock the job ----
  let fifth = 0;
  await check('alice logs in again: the report is no longer listed', async () => {
    await login(page, 'alice', 'alice-pw-1');
    const want = [JOB.lockout, JOB.draft].sort((a, b) => a - b);
    assertEqual(JSON.stringify(await listedIds(page)), JSON.stringify(want), 'alice\'s list');
    await selectJob(page, JOB.lockout);
  });
  for (let i = 1; i <= 4; i++) {
    await check(`wrong PIN ${i}: refused, ${5 - i} left`, async () => {
      await enterPin(page, '0000');
      const r = await submit(page, '#print');
      assertEqual(r.status(), 403, 'status');
      await onScreen(page, 'pin');
      await message(page, new RegExp(`Wrong PIN\\. ${5 - i} attempts? left`));
    });
  }
  await check('wrong PIN 5: the job is locked', async () => {
    await enterPin(page, '0000');
    fifth = Date.now();
    const r = await submit(page, '#print');
    assertEqual(r.status(), 423, 'status');
    await onScreen(page, 'pin');
    await message(page, /locked until \d{4}-\d\d-\d\d \d\d:\d\d/);
    await shot(page, '7-locked');
  });
  await check('the right PIN is refused while locked', async () => {
    await enterPin(page, '1234');
    const r = await submit(page, '#print');
    assertEqual(r.status(), 423, 'status');
    await message(page, /locked until/);
    assertEqual((await restJob(JOB.lockout)).state, 'held', 'state in nimbusd');
    assertEqual(printedFiles().length, 1, 'documents printed');
  });
  await check('after the lockout the right PIN prints it', async () => {
    const wait = fifth + PIN_LOCKOUT_S * 1000 + 3000 - Date.now();
    if (wait > 0) await sleep(wait); // let the lockout run out (not an assertion)
    await enterPin(page, '1234');
    const r = await submit(page, '#print');
    assertEqual(r.status(), 200, 'status');
    await onScreen(page, 'done');
    await until(`job ${JOB.lockout} completed`, () => stateIs(JOB.lockout, 'completed'));
    await until('the printer printed two documents', () => printedFiles().length === 2);
  });

  // ---- Back, and cancel at the panel ----
  await check('Back on the PIN screen returns to the list', async () => {
    await login(page, 'alice', 'alice-pw-1');
    assertEqual(JSON.stringify(await listedIds(page)), JSON.stringify([JOB.draft]), 'alice\'s list');
    await selectJob(page, JOB.draft);
    await page.locator('#back').click();
    await onScreen(page, 'jobs');
  });
  await check('Back on the details returns without printing', async () => {
    await selectJob(page, JOB.draft);
    await enterPin(page, '1234');
    await page.locator('#back').click();
    await onScreen(page, 'jobs');
    await page.locator(`li.job[data-id="${JOB.draft}"]`).waitFor();
    assertEqual((await restJob(JOB.draft)).state, 'held', 'state in nimbusd');
    assertEqual(printedFiles().length, 2, 'documents printed');
  });
  await check('Cancel job: canceled in nimbusd, purged, not printed', async () => {
    await selectJob(page, JOB.draft);
    await enterPin(page, '1234');
    await page.locator('#cancel').click();
    await onScreen(page, 'jobs');
    await message(page, /Job canceled/);
    await page.locator('#no-jobs').waitFor();
    const j = await restJob(JOB.draft);
    assertEqual(j.state, 'canceled', 'state in nimbusd');
    await until(`job ${JOB.draft} purged`, async () => (await restJob(JOB.draft)).documents.every((d) => d.purged));
    assertEqual(printedFiles().length, 2, 'documents printed');
  });
  await check('Log out', async () => {
    await page.locator('#logout').click();
    await onScreen(page, 'login');
  });
  await alicePanel.context.close();
}

main().then(
  () => console.log(`panel.test.js: ${passed} passed, 0 failed`),
  (e) => {
    if (!e.reported) console.error(e.stack || e);
    process.exitCode = 1;
  },
);
