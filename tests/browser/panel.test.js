// The connector's release panel (src/connector/panel-release.c) driven in
// headless Chromium with playwright-core, as a person at the printer would.
// Run by tests/integration/test-panel-browser.sh, which starts nimbusd,
// nimbus-connector and ippeveprinter, has the PCs print, and passes:
//   PANEL_PART: main (the flows), idle (the connector runs with
//   --panel-session-idle PANEL_IDLE: the warning and the sign-out), down
//   (nimbusd is stopped: the 5xx page), payments (pay at the printer,
//   run only with NIMBUS_TEST_PAYMENTS=1: see runPayments()) or purpose
//   (billing purposes, test-panel-purpose-browser.sh: see runPurpose()) or
//   settings (settings at the printer, test-panel-settings-browser.sh: see
//   runSettings()) or federation (jobs of another print service,
//   test-panel-federation-browser.sh: see runFederation());
//   PANEL_URL, NIMBUS_URL, NIMBUS_AUTH (a tenant admin, user:password),
//   JOB_REPORT, JOB_LOCKOUT, JOB_DRAFT (alice's, PIN 1234), JOB_BOB (bob's),
//   JOB_MINUTES_PIN (alice's "Minutes.pdf", PIN 1234, 1 page, 1 copy),
//   JOB_MINUTES_COPIES (alice's "Minutes.pdf", no PIN, 3 pages, 2 copies),
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
const PART = process.env.PANEL_PART || 'main';
const PANEL = env('PANEL_URL');
const NIMBUS = env('NIMBUS_URL');
const AUTH = 'Basic ' + Buffer.from(env('NIMBUS_AUTH')).toString('base64');
const PAYMENTS = PART === 'payments';
if (PAYMENTS && process.env.NIMBUS_TEST_PAYMENTS !== '1') {
  console.log('skip - panel.test.js payments: set NIMBUS_TEST_PAYMENTS=1 (nimbus-paysim)');
  process.exit(0);
}
const PURPOSE = PART === 'purpose';
const SETTINGS = PART === 'settings';
const FEDERATION = PART === 'federation';
const JOB = PAYMENTS || PURPOSE || SETTINGS || FEDERATION ? {} : {
  report: +env('JOB_REPORT'),
  lockout: +env('JOB_LOCKOUT'),
  draft: +env('JOB_DRAFT'),
  bob: +env('JOB_BOB'),
  minutesPin: +env('JOB_MINUTES_PIN'),
  minutesCopies: +env('JOB_MINUTES_COPIES'),
};
const PIN_LOCKOUT_S = PART === 'main' ? +env('PIN_LOCKOUT') : 0;
const PANEL_IDLE_S = PART === 'idle' ? +env('PANEL_IDLE') : 0;
const PRINTED = env('IPPEVE_PRINTED');
const DATA = env('NIMBUS_TEST_DATA');
const SHOTS = process.env.SCREENSHOTS_DIR || '';
const FAILURE_DIR = process.env.FAILURE_DIR || '';
// the printer's local time with its zone ("2026-05-01 12:20 CEST", "... UTC")
const TIME_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d [A-Za-z0-9+-]+$/;

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
const stateIs = async (id, want) => {
  const j = await restJob(id);
  if (j.state !== want) throw new Error(`job ${id} is ${j.state} (${j.state_reasons || ''})`);
  return true;
};
const printedFiles = () => fs.readdirSync(PRINTED);

// ---- the panel ----
// A screen is there when its body is and its document has loaded: a click or
// a form post resolves before the page's stylesheet (no-store) has arrived,
// and layout or computed-style checks made before then see an unstyled page.
async function onScreen(page, name) {
  await page.locator(`body[data-screen="${name}"]`).waitFor();
  await page.waitForLoadState('load');
}
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

// the right PIN, typed on the keyboard: the details
async function enterPin(page, pin) {
  await page.locator('#pin').fill(pin);
  await page.locator('#next').click();
  await onScreen(page, 'details');
}

// a PIN typed and OK pressed: nimbusd's answer (the PIN screen stays on a wrong one)
async function tryPin(page, pin) {
  await page.locator('#pin').fill(pin);
  return submit(page, '#next');
}

// keys pressed on the on-screen keypad, one page load each
async function keypad(page, keys) {
  for (const k of keys) {
    const before = +(await page.locator('#pin-keyed').getAttribute('data-count'));
    await page.locator(`#key-${k}`).click();
    await onScreen(page, 'pin');
    const want = k === 'del' ? Math.max(before - 1, 0) : k === 'clear' ? 0 : before + 1;
    await page.locator(`#pin-keyed[data-count="${want}"]`).waitFor();
  }
}

// the stylesheet applies (the page is in the panel's style, not bare HTML)
async function styled(page) {
  await page.waitForLoadState('load');
  const bg = await page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
  assertEqual(bg, 'rgb(244, 246, 248)', 'body background (panel.css)');
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
    if (PART === 'idle') await runIdle(newPanel);
    else if (PART === 'down') await runDown(newPanel);
    else if (PAYMENTS) await runPayments(browser, newPanel);
    else if (PURPOSE) await runPurpose(newPanel);
    else if (SETTINGS) await runSettings(newPanel);
    else if (FEDERATION) await runFederation(newPanel);
    else await run(newPanel);
  } finally {
    await browser.close();
  }
}

async function run(newPanel) {
  const alicePanel = await newPanel();
  let page = alicePanel.page;
  const aliceAll = [JOB.report, JOB.lockout, JOB.draft, JOB.minutesPin, JOB.minutesCopies];
  const sorted = (ids) => JSON.stringify([...ids].sort((a, b) => a - b));

  // ---- the status page: in words, with a way to the release screens ----
  await check('the status page says in words that the printer is ready', async () => {
    const r = await page.goto(`${PANEL}/`);
    assertEqual(r.status(), 200, 'status');
    await onScreen(page, 'status');
    await styled(page);
    assertEqual(await page.locator('#status-summary').getAttribute('data-kind'), 'ok', 'kind');
    assert(/^Ready\. This printer is connected/.test(await page.locator('#status-summary').innerText()),
      'summary');
    assert(/^\d+$/.test(await page.locator('#jobs-printed').innerText()), 'jobs printed');
    assert(TIME_RE.test(await page.locator('#last-contact').innerText()), 'last contact with its zone');
    assert(!(await page.locator('#technical table').isVisible()), 'technical details folded away');
    await shot(page, '0-status');
  });
  await check('the status page links to the release screens', async () => {
    await page.locator('#release-link').click();
    await onScreen(page, 'login');
  });

  // ---- error pages in the panel's style ----
  await check('404: an error page in the panel\'s style, with a way back', async () => {
    const r = await page.goto(`${PANEL}/no-such-page`);
    assertEqual(r.status(), 404, 'status');
    await onScreen(page, 'error');
    await styled(page);
    await message(page, /no such page/);
    await shot(page, '11-error-404');
    await page.locator('#start').click();
    await onScreen(page, 'login');
  });

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
    assert(!/Quarterly|Boarding|Draft|Minutes/.test(text), `alice's job names on bob's screen: ${text}`);
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
  await check('403 (a stale CSRF token): an error page in the panel\'s style', async () => {
    // the form's token is changed behind the page's back (DevTools, not a script of the page)
    await bp.locator('#jobs-form input[name=csrf]').evaluate((e) => { e.value = '0'.repeat(32); });
    const r = await submit(bp, '#logout');
    assertEqual(r.status(), 403, 'status');
    await onScreen(bp, 'error');
    await styled(bp);
    await message(bp, /CSRF/);
    await shot(bp, '12-error-403');
  });
  await check('bob logs out', async () => {
    await bp.goto(`${PANEL}/release/jobs`);
    await onScreen(bp, 'jobs');
    await bp.locator('#logout').click();
    await onScreen(bp, 'login');
    await bobPanel.context.close();
    current = page;
  });

  // ---- alice's list ----
  await check('alice logs in: her five jobs, not bob\'s', async () => {
    await login(page, 'alice', 'alice-pw-1', '2-login');
    assertEqual(JSON.stringify(await listedIds(page)), sorted(aliceAll), 'alice\'s list');
    assertEqual(await page.locator(`li.job[data-id="${JOB.bob}"]`).count(), 0, 'bob\'s job listed');
  });
  await check('each job shows its name, number, pages, copies and time with its zone', async () => {
    const li = page.locator(`li.job[data-id="${JOB.report}"]`);
    assertEqual(await li.locator('.job-name').innerText(), 'Quarterly-report.pdf', 'name');
    assertEqual(await li.locator('.job-number').innerText(), `No. ${JOB.report}`, 'number');
    assertEqual(await li.locator('.job-pages').innerText(), '3 pages', 'pages');
    assertEqual(await li.locator('.job-copies').innerText(), '1 copy', 'copies');
    assert(TIME_RE.test(await li.locator('.job-time').innerText()), 'time');
    assertEqual(await li.locator('.job-pin').count(), 1, 'PIN marker');
    const one = page.locator(`li.job[data-id="${JOB.draft}"]`);
    assertEqual(await one.locator('.job-pages').innerText(), '1 page', 'pages of a one-page job');
    // no job here was sent with a purpose (issue 13): no purpose line at all
    assertEqual(await page.locator('li.job .job-purpose').count(), 0, 'purpose lines');
  });
  await check('two jobs with the same name can be told apart', async () => {
    const a = page.locator(`li.job[data-id="${JOB.minutesPin}"]`);
    const b = page.locator(`li.job[data-id="${JOB.minutesCopies}"]`);
    assertEqual(await a.locator('.job-name').innerText(), 'Minutes.pdf', 'name a');
    assertEqual(await b.locator('.job-name').innerText(), 'Minutes.pdf', 'name b');
    assertEqual(await a.locator('.job-pin').count(), 1, 'PIN marker of the one with a PIN');
    assertEqual(await b.locator('.job-pin').count(), 0, 'PIN marker of the one without');
    assertEqual(await b.locator('.job-copies').innerText(), '2 copies', 'copies');
    assertEqual(await b.locator('.job-pages').innerText(), '3 pages', 'pages');
    const ta = await a.innerText();
    const tb = await b.innerText();
    assert(ta !== tb, `the two rows read the same: ${ta}`);
  });
  await check('the long list shows that it scrolls', async () => {
    const list = page.locator('#jobs');
    const [sh, ch] = await list.evaluate((e) => [e.scrollHeight, e.clientHeight]);
    assert(sh > ch, `the list does not overflow (${sh} <= ${ch}): the test needs more jobs`);
    assertEqual(await list.evaluate((e) => getComputedStyle(e).overflowY), 'auto', 'overflow-y');
    const hint = page.locator('#scroll-hint');
    assert(await hint.isVisible(), 'no scroll hint');
    assert(/5 jobs: scroll/.test(await hint.innerText()), 'hint text');
    // every control stays on the 800x480 screen
    for (const sel of ['#next', '#logout', '#scroll-hint']) {
      const box = await page.locator(sel).boundingBox();
      assert(box && box.y + box.height <= 480 && box.x + box.width <= 800, `${sel} off screen`);
    }
    await shot(page, '3-jobs');
    // the last row is reached by scrolling
    const last = page.locator('li.job').last();
    await last.scrollIntoViewIfNeeded();
    assert((await list.evaluate((e) => e.scrollTop)) > 0, 'the list did not scroll');
  });

  // ---- alice prints her report: the PIN on the on-screen keypad ----
  await check('she selects the report: the PIN screen with a keypad', async () => {
    await selectJob(page, JOB.report);
    assertEqual(await page.locator('#job-name').innerText(), 'Quarterly-report.pdf', 'name');
    assertEqual(await page.locator('#keypad button').count(), 12, 'keypad keys');
    await keypad(page, ['1', '2', '9', 'del', '3']);
    assertEqual(await page.locator('#pin-keyed').innerText(), 'Keyed: \u25cf\u25cf\u25cf', 'dots');
    await keypad(page, ['4']);
    await shot(page, '4-pin');
  });
  await check('OK: nimbusd accepts the keyed PIN: details with number, pages, copies, "Free"', async () => {
    const r = await submit(page, '#next');
    assertEqual(r.status(), 303, 'status');
    await onScreen(page, 'details');
    assertEqual(await page.locator('#job-name').innerText(), 'Quarterly-report.pdf', 'name');
    assertEqual(await page.locator('#job-number').innerText(), `No. ${JOB.report}`, 'number');
    assertEqual(await page.locator('#job-pages').innerText(), '3', 'pages');
    assertEqual(await page.locator('#job-copies').innerText(), '1', 'copies');
    assertEqual(await page.locator('#job-fee').innerText(), 'Free', 'fee (no price table)');
    assertEqual(await page.locator('#fee-print').count(), 0, 'a fee breakdown for a free job');
    assertEqual(await page.locator('#pay').count(), 0, 'a "Pay and print" button for a free job');
    assertEqual(await page.locator('#print').innerText(), 'Print', 'the Print button');
    // a job without a purpose, a user without purposes: no purpose row, no
    // purpose control, no refusal (the release sends no purpose)
    assertEqual(await page.locator('#job-purpose').count(), 0, 'a purpose row');
    assertEqual(await page.locator('#purpose').count(), 0, 'a purpose control');
    assertEqual(await page.locator('#release-refusal').count(), 0, 'a refusal');
    assert(TIME_RE.test(await page.locator('#job-time').innerText()), 'time');
    assertEqual((await restJob(JOB.report)).state, 'held', 'state in nimbusd');
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

  // ---- wrong PINs are refused on the PIN screen and lock the job ----
  let fifth = 0;
  await check('alice logs in again: the report is no longer listed', async () => {
    await login(page, 'alice', 'alice-pw-1');
    assertEqual(JSON.stringify(await listedIds(page)), sorted(aliceAll.filter((j) => j !== JOB.report)),
      'alice\'s list');
    await selectJob(page, JOB.lockout);
  });
  for (let i = 1; i <= 4; i++) {
    await check(`wrong PIN ${i}: refused on the PIN screen, ${5 - i} left`, async () => {
      const r = await tryPin(page, '0000');
      assertEqual(r.status(), 403, 'status');
      await onScreen(page, 'pin');
      await message(page, new RegExp(`Wrong PIN\\. ${5 - i} attempts? left`));
      assertEqual(await page.locator('#print').count(), 0, 'a Print button');
    });
  }
  await check('wrong PIN 5 (Enter on the keyboard): the job is locked', async () => {
    await page.locator('#pin').fill('0000');
    fifth = Date.now();
    const [r] = await Promise.all([
      page.waitForResponse((x) => x.request().method() === 'POST' && x.url().endsWith('/release/pin')),
      page.locator('#pin').press('Enter'),
    ]);
    assertEqual(r.status(), 423, 'status');
    await onScreen(page, 'pin');
    await message(page, /locked until \d{4}-\d\d-\d\d \d\d:\d\d [A-Za-z0-9+-]+\./);
    await shot(page, '7-locked');
  });
  await check('the right PIN is refused while locked', async () => {
    const r = await tryPin(page, '1234');
    assertEqual(r.status(), 423, 'status');
    await message(page, /locked until/);
    assertEqual((await restJob(JOB.lockout)).state, 'held', 'state in nimbusd');
    assertEqual(printedFiles().length, 1, 'documents printed');
  });
  await check('after the lockout the right PIN prints it', async () => {
    const wait = fifth + PIN_LOCKOUT_S * 1000 + 3000 - Date.now();
    if (wait > 0) await sleep(wait); // let the lockout run out (not an assertion)
    await page.goto(`${PANEL}/release/job`); // the screen went to the idle warning meanwhile
    await onScreen(page, 'pin');
    await enterPin(page, '1234');
    const r = await submit(page, '#print');
    assertEqual(r.status(), 200, 'status');
    await onScreen(page, 'done');
    await until(`job ${JOB.lockout} completed`, () => stateIs(JOB.lockout, 'completed'));
    await until('the printer printed two documents', () => printedFiles().length === 2);
  });

  // ---- Back, and cancel at the panel (with a confirmation) ----
  const rest = [JOB.draft, JOB.minutesPin, JOB.minutesCopies];
  await check('Back on the PIN screen returns to the list', async () => {
    await login(page, 'alice', 'alice-pw-1');
    assertEqual(JSON.stringify(await listedIds(page)), sorted(rest), 'alice\'s list');
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
  await check('Cancel job asks for confirmation; "No, keep it" keeps it', async () => {
    await selectJob(page, JOB.draft);
    await enterPin(page, '1234');
    await page.locator('#cancel').click();
    await onScreen(page, 'confirm-cancel');
    assertEqual(await page.locator('#job-name').innerText(), 'Draft-letter.pdf', 'name');
    await message(page, /cannot be undone/);
    assertEqual((await restJob(JOB.draft)).state, 'held', 'state in nimbusd before confirming');
    await shot(page, '8-confirm-cancel');
    await page.locator('#keep').click();
    await onScreen(page, 'details');
    assertEqual((await restJob(JOB.draft)).state, 'held', 'state in nimbusd after keeping it');
  });
  await check('Cancel job, Yes: canceled in nimbusd, purged, not printed', async () => {
    await page.locator('#cancel').click();
    await onScreen(page, 'confirm-cancel');
    await page.locator('#confirm-cancel').click();
    await onScreen(page, 'jobs');
    await message(page, /Job canceled/);
    assertEqual(JSON.stringify(await listedIds(page)), sorted([JOB.minutesPin, JOB.minutesCopies]),
      'alice\'s list');
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

// The connector runs with --panel-session-idle PANEL_IDLE: every screen
// turns into the warning by itself, "I am still here" goes on, and
// without a touch the start says "you were signed out".
async function runIdle(newPanel) {
  const { context, page } = await newPanel();
  const limit = { timeout: (PANEL_IDLE_S + 10) * 1000 };
  await check('the job list turns into the idle warning by itself', async () => {
    await login(page, 'alice', 'alice-pw-1');
    await page.locator('body[data-screen="idle"]').waitFor(limit);
    await message(page, /signed out in about \d+ seconds?/);
    await styled(page);
    await shot(page, '9-idle-warning');
  });
  await check('"I am still here" goes back to the list, still signed in', async () => {
    await page.locator('#stay').click();
    await onScreen(page, 'jobs');
    assertEqual(JSON.stringify(await listedIds(page)),
      JSON.stringify([JOB.minutesPin, JOB.minutesCopies].sort((a, b) => a - b)), 'alice\'s list');
  });
  await check('without a touch: signed out, and the start says so', async () => {
    await page.locator('body[data-screen="idle"]').waitFor(limit);
    await page.locator('body[data-screen="login"]').waitFor(limit);
    await message(page, new RegExp(`You were signed out after ${PANEL_IDLE_S} seconds without activity`));
    await shot(page, '10-signed-out');
  });
  await check('the session is gone; the message is said once', async () => {
    await page.goto(`${PANEL}/release/jobs`);
    await onScreen(page, 'login');
    assertEqual(await page.locator('#message').count(), 0, 'a message');
  });
  await context.close();
}

// nimbusd is stopped: the panel answers 503 with a page in its style.
async function runDown(newPanel) {
  const { context, page } = await newPanel();
  await check('5xx: the print service is unreachable, said on a page in the panel\'s style', async () => {
    await page.goto(`${PANEL}/release`);
    await page.locator('#user').fill('alice');
    await page.locator('#secret').fill('alice-pw-1');
    const r = await submit(page, '#login');
    assertEqual(r.status(), 503, 'status');
    await onScreen(page, 'error');
    await styled(page);
    await message(page, /print service cannot be reached/);
    await shot(page, '13-error-503');
  });
  await context.close();
}

// ---- pay at the printer (issue 12 item 4), PANEL_PART=payments ----
// Run with NIMBUS_TEST_PAYMENTS=1 against nimbusd with a payment provider
// (nimbus-paysim) and the queue's payment "at-printer".  Environment:
//   JOB_PAY, JOB_PAY_CANCEL: alice's held jobs (no PIN) on that queue:
//   paid and printed, canceled on the panel;
//   JOB_PAY_DECLINE (optional): one declined on the phone, with a provider
//   that ends the payment on a decline (paysim's LINE Pay: the browser
//   goes to the cancel URL; Stripe keeps its session open instead);
//   JOB_PAY_TIMEOUT (optional): left unpaid until nimbusd's
//   --payment-timeout (PAY_TIMEOUT_S seconds) runs out;
//   PAY_TOTAL_TEXT, PAY_PRINT_TEXT, PAY_SERVICE_TEXT: the fee of each of
//   those jobs as nimbusd writes it ("EUR 1.47", "EUR 1.30", "EUR 0.17");
//   PAYSIM_URL: the simulator (the payment URL must point there);
//   PAYSIM_PAY, PAYSIM_DECLINE: its page's buttons (default button.pay,
//   button.decline).
// The QR code is read as a person's phone would: the panel's
// /release/qr.svg rasterised by Chromium to a PNG and decoded with zbarimg
// (zbar-tools); the URL it holds must be the one written under it
// (#payment-url), and is opened in a second browser context sized as a
// phone (390x844).
const { execFileSync } = require('child_process');
const os = require('os');

// The panel's QR code as a PNG file (Chromium draws the SVG on a blank
// page, 4 px per module, and photographs it); zbarimg's reading of it.
async function readQr(browser, panelContext) {
  const r = await panelContext.request.get(`${PANEL}/release/qr.svg`);
  assertEqual(r.status(), 200, 'GET /release/qr.svg');
  assert(/^image\/svg\+xml/.test(r.headers()['content-type'] || ''), 'QR content type');
  const svg = await r.text();
  assert(!/<script|style=/.test(svg), 'the QR image carries a script or a style');
  const side = +(/viewBox="0 0 (\d+) \d+"/.exec(svg) || [])[1];
  assert(side > 21 + 8, `QR viewBox ${side}`);
  const ctx = await browser.newContext({ viewport: { width: side * 4 + 40, height: side * 4 + 40 } });
  try {
    const p = await ctx.newPage();
    const src = 'data:image/svg+xml;base64,' + Buffer.from(svg).toString('base64');
    await p.setContent(`<body style="margin:20px;background:#fff"><img id="q" src="${src}" ` +
      `width="${side * 4}" height="${side * 4}"></body>`);
    await p.locator('#q').evaluate((img) => img.decode());
    const file = path.join(os.tmpdir(), `panel-qr-${process.pid}.png`);
    await p.locator('#q').screenshot({ path: file });
    const out = execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    fs.unlinkSync(file);
    return out.replace(/\n$/, '');
  } finally {
    await ctx.close();
  }
}

async function runPayments(browser, newPanel) {
  const J = {
    pay: +env('JOB_PAY'),
    cancel: +env('JOB_PAY_CANCEL'),
    decline: +(process.env.JOB_PAY_DECLINE || 0),
    timeout: +(process.env.JOB_PAY_TIMEOUT || 0),
  };
  const TIMEOUT_S = +(process.env.PAY_TIMEOUT_S || 0);
  const PAYSIM = env('PAYSIM_URL');
  const PAY_BTN = process.env.PAYSIM_PAY || 'button.pay';
  const DECLINE_BTN = process.env.PAYSIM_DECLINE || 'button.decline';
  const fee = { total: env('PAY_TOTAL_TEXT'), print: env('PAY_PRINT_TEXT'), service: env('PAY_SERVICE_TEXT') };
  const { context, page } = await newPanel();
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phonePage = await phone.newPage();
  phonePage.setDefaultTimeout(20000);

  const choose = async (id) => {
    await page.locator(`#job-${id}`).check();
    await page.locator('#next').click();
    await onScreen(page, 'details'); // no PIN: straight to the details
  };
  // "Pay and print": the payment screen with a pending payment
  const startPaying = async () => {
    const r = await submit(page, '#pay');
    assertEqual(r.status(), 303, 'the release answered');
    await onScreen(page, 'payment');
    await page.locator('#payment[data-state="pending"]').waitFor();
  };

  await check('payments: a job to be paid shows its fee and "Pay and print"', async () => {
    await login(page, 'alice', 'alice-pw-1');
    await choose(J.pay);
    assertEqual(await page.locator('#fee-print').innerText(), fee.print, 'print fee');
    assertEqual(await page.locator('#fee-service').innerText(), fee.service, 'service fee');
    assertEqual(await page.locator('#job-fee').innerText(), fee.total, 'total');
    assertEqual(await page.locator('#pay').innerText(), 'Pay and print', 'the button');
    assertEqual(await page.locator('#print').count(), 0, 'a plain Print button');
    assertEqual((await restJob(J.pay)).state, 'held', 'state in nimbusd');
    await shot(page, '14-pay-details');
  });
  let url = '';
  await check('payments: "Pay and print": the amount, a QR code, the link and a countdown', async () => {
    await startPaying();
    assertEqual(await page.locator('#pay-amount').innerText(), fee.total, 'amount');
    assert(/^Pay within [0-9]+:[0-5][0-9]$/.test(await page.locator('#countdown').innerText()), 'countdown');
    url = (await page.locator('#payment-url').innerText()).trim();
    assert(url.startsWith(PAYSIM), `payment URL ${url} is not the simulator's`);
    const qr = page.locator('#qr');
    await qr.waitFor();
    assert(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR image did not load');
    const box = await qr.boundingBox();
    assert(box && box.y + box.height <= 480 && box.x + box.width <= 800, 'QR code off screen');
    for (const sel of ['#pay-cancel', '#countdown', '#pay-amount']) {
      const b = await page.locator(sel).boundingBox();
      assert(b && b.y + b.height <= 480 && b.x + b.width <= 800, `${sel} off screen`);
    }
    assertEqual((await restJob(J.pay)).state, 'awaiting-payment', 'state in nimbusd');
    await shot(page, '15-payment');
  });
  await check('payments: the screen counts down by itself (meta refresh, no script)', async () => {
    const first = +(await page.locator('#countdown').getAttribute('data-seconds'));
    await until('the countdown moved', async () =>
      +(await page.locator('#countdown').getAttribute('data-seconds')) < first, 15000);
    await onScreen(page, 'payment');
  });
  await check('payments: the QR code holds the payment URL (zbarimg)', async () => {
    assertEqual(await readQr(browser, context), url, 'decoded QR code');
  });
  await check('payments: on a phone, the user opens the URL and pays', async () => {
    await phonePage.goto(url);
    await phonePage.locator(PAY_BTN).waitFor();
    if (SHOTS) await phonePage.screenshot({ path: path.join(SHOTS, '16-phone-pay.png') });
    await phonePage.locator(PAY_BTN).click();
  });
  await check('payments: the panel moves on by itself to "Paid - printing"', async () => {
    await page.locator('body[data-screen="paid"]').waitFor({ timeout: 60000 });
    await message(page, /Paid\. Your job is being printed/);
    await shot(page, '17-paid');
    await until(`job ${J.pay} completed`, () => stateIs(J.pay, 'completed'));
    await page.locator('#done').click();
    await onScreen(page, 'login');
  });
  await check('payments: the QR code is gone with the session', async () => {
    const r = await context.request.get(`${PANEL}/release/qr.svg`, { maxRedirects: 0 });
    assert(r.status() !== 200, `qr.svg after sign-out: ${r.status()}`);
  });

  await check('payments: Cancel on the payment screen: the job is held again', async () => {
    await login(page, 'alice', 'alice-pw-1');
    await choose(J.cancel);
    await startPaying();
    assertEqual((await restJob(J.cancel)).state, 'awaiting-payment', 'state while paying');
    // the session remembers the payment: the job's screen is its payment screen
    await page.goto(`${PANEL}/release/job`);
    await onScreen(page, 'payment');
    await page.locator('#payment[data-state="pending"]').waitFor();
    const r = await submit(page, '#pay-cancel');
    assertEqual(r.status(), 303, 'cancel answered');
    await onScreen(page, 'details');
    await message(page, /Payment canceled/);
    await page.locator('#pay').waitFor();
    await until(`job ${J.cancel} held again`, () => stateIs(J.cancel, 'held'));
    const pay = (await restJob(J.cancel)).payment;
    assert(!pay || pay.state === 'canceled', `payment ${pay && pay.state}`);
    await page.locator('#back').click();
    await onScreen(page, 'jobs');
  });

  if (J.decline) await check('payments: declined on the phone: the panel says so, Back to the list', async () => {
    await choose(J.decline);
    await startPaying();
    const u = (await page.locator('#payment-url').innerText()).trim();
    await phonePage.goto(u);
    await phonePage.locator(DECLINE_BTN).click();
    await page.locator('body[data-screen="payment-failed"]').waitFor({ timeout: 60000 });
    await page.locator('h1', { hasText: /declined|failed|canceled/i }).waitFor();
    await shot(page, '18-declined');
    await until(`job ${J.decline} held again`, () => stateIs(J.decline, 'held'));
    await page.locator('#back').click();
    await onScreen(page, 'jobs');
  });

  if (J.timeout && TIMEOUT_S) {
    await check('payments: not paid in time: the unpaid screen, Back to the list', async () => {
      await choose(J.timeout);
      await startPaying();
      await page.locator('body[data-screen="unpaid"]').waitFor({ timeout: (TIMEOUT_S + 60) * 1000 });
      await page.locator('h1', { hasText: 'Not paid in time' }).waitFor();
      await shot(page, '19-unpaid');
      await until(`job ${J.timeout} held again`, () => stateIs(J.timeout, 'held'));
      await page.locator('#back').click();
      await onScreen(page, 'jobs');
      await page.locator(`li.job[data-id="${J.timeout}"]`).waitFor();
    });
  }
  await check('payments: log out', async () => {
    await page.locator('#logout').click();
    await onScreen(page, 'login');
  });
  await phone.close();
  await context.close();
}

// ---- billing by purpose (issue 13), PANEL_PART=purpose ----
// Run by test-panel-purpose-browser.sh against a nimbusd with the device
// API's purposes (GET /device/purposes, "purpose" on panel-jobs and on the
// release).  Alice's purposes: "Client A" (account CLIENT-A, her default),
// "Personal" (private), "Tiny" (prepaid account TINY, empty), "Old"
// (account OLD, closed since), "Proj" (account PROJ, which she may no
// longer charge); the tenant requires a purpose.  Environment:
//   JOB_PURPOSE_CLIENT: alice's held job sent with purpose "Client A" (REST);
//   JOB_PURPOSE_PC: one sent to the connector's listener with
//   job-account-id "Client A" (ipptool);
//   JOB_PURPOSE_NONE: one sent before purposes were required, without one.
// None has a PIN.
async function runPurpose(newPanel) {
  const J = {
    client: +env('JOB_PURPOSE_CLIENT'),
    pc: +env('JOB_PURPOSE_PC'),
    none: +env('JOB_PURPOSE_NONE'),
  };
  const CLIENT_A = 'Client A (account CLIENT-A)';
  const { context, page } = await newPanel();
  const choose = async (id) => {
    await page.locator(`#job-${id}`).check();
    await page.locator('#next').click();
    await onScreen(page, 'details'); // no PIN: straight to the details
  };
  const optionTexts = () => page.locator('#purpose option').allInnerTexts();
  const selectedText = () => page.locator('#purpose option:checked').innerText();
  // Print with the purpose control at `label`: the POST's answer
  const printUnder = async (label) => {
    await page.locator('#purpose').selectOption({ label });
    return submit(page, '#print');
  };
  // a refusal in words next to Print, the job still held and on screen
  const refused = async (r, status, id) => {
    assertEqual(r.status(), status, 'status of the refused release');
    await onScreen(page, 'details');
    const text = (await page.locator('#release-refusal').innerText()).trim();
    assert(text.length > 0, 'the refusal says nothing');
    assertEqual(await page.locator('#release-refusal').getAttribute('role'), 'alert', 'role');
    const why = await page.locator('#release-refusal').boundingBox();
    const btn = await page.locator('#print').boundingBox();
    assert(why && btn && btn.y - (why.y + why.height) >= 0 && btn.y - (why.y + why.height) < 40,
      `the refusal is not next to Print (${JSON.stringify(why)} / ${JSON.stringify(btn)})`);
    assert(btn.y + btn.height <= 480, 'Print off screen');
    assertEqual(await page.locator('#job-number').innerText(), `No. ${id}`, 'the job on screen');
    assertEqual((await restJob(id)).state, 'held', 'state in nimbusd');
    return text;
  };

  await check('purpose: the list shows each job\'s purpose, nothing when none', async () => {
    await login(page, 'alice', 'alice-pw-1');
    const line = (id) => page.locator(`li.job[data-id="${id}"] .job-purpose`);
    assertEqual(await line(J.client).innerText(), `Purpose: ${CLIENT_A}`, 'REST job');
    // job-account-id given to the connector's printer reached nimbusd unchanged
    assertEqual(await line(J.pc).innerText(), `Purpose: ${CLIENT_A}`, 'job through the listener');
    assertEqual(await line(J.none).count(), 0, 'a purpose line for a job without one');
    for (const sel of ['#next', '#logout']) {
      const box = await page.locator(sel).boundingBox();
      assert(box && box.y + box.height <= 480, `${sel} off screen`);
    }
    await shot(page, '20-jobs-purpose');
  });
  await check('purpose: the job screen shows it and offers her own purposes, hers selected', async () => {
    await choose(J.client);
    assertEqual(await page.locator('#job-purpose').innerText(), CLIENT_A, 'purpose row');
    // labelled: found by its label as a screen reader would
    const control = page.getByLabel('Print for');
    assertEqual(await control.getAttribute('id'), 'purpose', 'the control of "Print for"');
    const options = await optionTexts();
    for (const want of [CLIENT_A, 'Personal (private, paid by you)', 'Tiny (account TINY)'])
      assert(options.includes(want), `option ${want} missing: ${options}`);
    assert(!options.some((o) => /^Keep:|^No purpose$/.test(o)), `a keep option: ${options}`);
    assertEqual(await selectedText(), CLIENT_A, 'selected');
    await shot(page, '21-details-purpose');
    await page.locator('#back').click();
    await onScreen(page, 'jobs');
  });
  await check('purpose: keyboard only: Tab to the control, arrows change it', async () => {
    await choose(J.none);
    assertEqual(await page.locator('#job-purpose').count(), 0, 'a purpose row for a job without one');
    assertEqual(await selectedText(), 'No purpose', 'selected at first');
    await page.locator('#purpose').focus();
    assertEqual(await page.evaluate(() => document.activeElement.id), 'purpose', 'focus');
    await page.keyboard.press('ArrowDown');
    assert((await selectedText()) !== 'No purpose', 'ArrowDown did not change the purpose');
    await page.keyboard.press('Tab'); // on to Print
    assertEqual(await page.evaluate(() => document.activeElement.id), 'print', 'Tab after the control');
  });
  await check('purpose: a purpose is required: "No purpose" is refused (422) next to Print', async () => {
    const r = await printUnder('No purpose');
    await refused(r, 422, J.none);
    assertEqual(await selectedText(), 'No purpose', 'the choice stays');
  });
  await check('purpose: a closed account is refused (409), in words', async () => {
    const r = await printUnder('Old (account OLD)');
    await refused(r, 409, J.none);
    assertEqual(await selectedText(), 'Old (account OLD)', 'the choice stays');
    await shot(page, '22-purpose-refused');
  });
  await check('purpose: an empty prepaid account is refused (402)', async () => {
    await refused(await printUnder('Tiny (account TINY)'), 402, J.none);
  });
  await check('purpose: an account she may no longer charge is refused (403), not a PIN screen', async () => {
    await refused(await printUnder('Proj (account PROJ)'), 403, J.none);
    assertEqual(await page.locator('#pin').count(), 0, 'a PIN field');
  });
  await check('purpose: released under "Client A" (Enter on Print): printed under it', async () => {
    await page.locator('#purpose').selectOption({ label: CLIENT_A });
    await page.locator('#print').focus();
    const [r] = await Promise.all([
      page.waitForResponse((x) => x.request().method() === 'POST' && x.url().endsWith('/release/print')),
      page.keyboard.press('Enter'),
    ]);
    assert(r.status() === 200 || r.status() === 303, `status ${r.status()}`);
    // the form's navigation ends on the done screen before anything else
    // navigates (a goto racing it fails as "interrupted by another navigation")
    await onScreen(page, 'done');
    await until(`job ${J.none} released`, async () => (await restJob(J.none)).state !== 'held');
    const p = (await restJob(J.none)).purpose;
    assert(p && p.name === 'Client A' && p.account === 'CLIENT-A', `purpose in nimbusd: ${JSON.stringify(p)}`);
  });
  await check('purpose: the done screen leads back to the sign-in', async () => {
    await page.locator('#done').click();
    await onScreen(page, 'login');
  });
  await context.close();
}

// ---- settings at the printer (issue 15, FEDERATION.md §5), PANEL_PART=settings ----
// Run by test-panel-settings-browser.sh: ippeveprinter with two-sided
// printing (-2), a price table on the queue, alice's purpose "Work"
// (account CORP) her default.  Environment: JOB_SETTINGS, alice's held
// job (1 page, 1 copy, one-sided, no PIN).  Changes copies to 2 and sides
// to two-sided-long-edge on the settings screen, the fee shown changes,
// Print sends them; the shell checks what the printer and the ledger got.
// Writes SETTINGS_FEE_FILE: the fee text shown after the change.
async function runSettings(newPanel) {
  const id = +env('JOB_SETTINGS');
  const { context, page } = await newPanel();
  const fits = async () => {
    const [sh, ch, sw, cw] = await page.evaluate(() => [
      document.documentElement.scrollHeight, document.documentElement.clientHeight,
      document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert(sh <= ch && sw <= cw, `the screen scrolls (${sw}x${sh} in ${cw}x${ch})`);
  };
  const onScreenBox = async (sel) => {
    const box = await page.locator(sel).boundingBox();
    assert(box && box.y >= 0 && box.y + box.height <= 480 && box.x + box.width <= 800,
      `${sel} off screen: ${JSON.stringify(box)}`);
  };
  let feeBefore = '';
  await check('settings: the details show the job\'s settings and a Settings button', async () => {
    await login(page, 'alice', 'alice-pw-1');
    await page.locator(`#job-${id}`).check();
    await page.locator('#next').click();
    await onScreen(page, 'details');
    assertEqual(await page.locator('#job-copies').innerText(), '1', 'copies');
    assert(/One-sided/.test(await page.locator('#job-settings').innerText()), 'sides row');
    feeBefore = (await page.locator('#job-fee').innerText()).trim();
    assert(/EUR/.test(feeBefore), `fee before: ${feeBefore}`);
    await onScreenBox('#settings');
    await shot(page, '30-details-settings');
  });
  await check('settings: the settings screen fits 800x480, labelled, from the printer\'s choices', async () => {
    await page.locator('#settings').click();
    await onScreen(page, 'settings');
    await styled(page);
    await fits();
    for (const sel of ['#copies-down', '#copies-up', '#apply', '#settings-back', '#set-media'])
      await onScreenBox(sel);
    assertEqual(await page.locator('#copies-value').innerText(), '1', 'copies');
    assert(await page.locator('#copies-down').isDisabled(), 'fewer than 1 copy offered');
    // labelled: each choice found by its label, as a screen reader would
    assert(await page.getByLabel('Two-sided (long edge)').isVisible(), 'two-sided (long edge) offered');
    assert(await page.getByLabel('One-sided').isChecked(), 'one-sided checked');
    assertEqual(await page.getByLabel('Paper size').getAttribute('id'), 'set-media', 'paper size');
    assertEqual(await page.locator('#set-sides legend').innerText(), 'Sides', 'legend');
    assertEqual(await page.locator('#set-print-color-mode legend').innerText(), 'Colour', 'legend');
  });
  await check('settings: + makes 2 copies (a form button, no script)', async () => {
    const r = await submit(page, '#copies-up');
    assertEqual(r.status(), 200, 'status');
    await onScreen(page, 'settings');
    assertEqual(await page.locator('#copies-value').innerText(), '2', 'copies');
    assert(!(await page.locator('#copies-down').isDisabled()), '- disabled at 2');
  });
  await check('settings: keyboard only: two-sided (long edge) chosen with the arrows and Space', async () => {
    await page.getByLabel('One-sided').focus();
    await page.keyboard.press('ArrowRight');
    assert(await page.getByLabel('Two-sided (long edge)').isChecked(), 'ArrowRight did not move to long edge');
    assertEqual(await page.evaluate(() => document.activeElement.value), 'two-sided-long-edge', 'focus');
    await shot(page, '31-settings');
    await fits();
  });
  await check('settings: Apply: the details show 2 copies, two-sided and the new fee', async () => {
    const r = await submit(page, '#apply');
    assert(r.status() === 303 || r.status() === 200, `status ${r.status()}`);
    await onScreen(page, 'details');
    assertEqual(await page.locator('#settings-changed').innerText(), '(changed)', 'marked changed');
    assertEqual(await page.locator('#job-copies').innerText(), '2', 'copies');
    assert(/Two-sided \(long edge\)/.test(await page.locator('#job-settings').innerText()), 'sides row');
    const after = (await page.locator('#job-fee').innerText()).trim();
    assert(/EUR/.test(after) && after !== feeBefore, `fee did not change: ${feeBefore} -> ${after}`);
    if (process.env.SETTINGS_FEE_FILE) fs.writeFileSync(process.env.SETTINGS_FEE_FILE, after);
    // nothing is stored before Print
    const j = await restJob(id);
    assertEqual(j.copies, 1, 'copies at nimbusd before Print');
    assertEqual(j.state, 'held', 'state');
    await onScreenBox('#print');
    await shot(page, '32-details-changed');
  });
  await check('settings: the settings screen again starts from the applied ones; Back keeps them', async () => {
    await page.locator('#settings').click();
    await onScreen(page, 'settings');
    assertEqual(await page.locator('#copies-value').innerText(), '2', 'copies');
    assert(await page.getByLabel('Two-sided (long edge)').isChecked(), 'long edge');
    await page.locator('#settings-back').click();
    await onScreen(page, 'details');
    assertEqual(await page.locator('#job-copies').innerText(), '2', 'copies');
  });
  await check('settings: Print sends them with the release', async () => {
    const r = await submit(page, '#print');
    assert(r.status() === 200 || r.status() === 303, `status ${r.status()}`);
    await onScreen(page, 'done');
    await until(`job ${id} released`, async () => (await restJob(id)).state !== 'held');
    const j = await restJob(id);
    assertEqual(j.copies, 2, 'copies at nimbusd');
  });
  await context.close();
}

// ---- one job list across print services (issue 15, FEDERATION.md §4), PANEL_PART=federation ----
// Run by test-panel-federation-browser.sh: home nimbusd with a remote
// printer link to another nimbusd (REMOTE_URL) where alice's account is
// linked.  Environment: FED_PHASE take or relink; JOB_OLD, JOB_NEW
// (alice's local jobs, a second before and after REMOTE_ID, her job at
// the remote, "<link>:<id>"); REMOTE_HOST (how the panel names the
// remote); REMOTE_AUTH (alice at the remote, user:password).
//   take:   the merged list in submission order, newest first, the remote
//           row marked; the remote job's details and settings (copies 2,
//           two-sided long edge); Print: done; the job gone from the list.
//   relink: (the token revoked at the remote) the notice above the list,
//           Relink: the code, its QR code and URL; the code approved at
//           the remote: the screen says linked by itself (meta refresh).
async function runFederation(newPanel) {
  const phase = env('FED_PHASE');
  const remoteId = env('REMOTE_ID');
  const host = env('REMOTE_HOST');
  const { context, page } = await newPanel();
  const fits = async () => {
    const [sh, ch, sw, cw] = await page.evaluate(() => [
      document.documentElement.scrollHeight, document.documentElement.clientHeight,
      document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert(sh <= ch && sw <= cw, `the screen scrolls (${sw}x${sh} in ${cw}x${ch})`);
  };
  // the rows of the list as "local:N" / "remote:L:N", top to bottom
  const rows = () => page.locator('li.job').evaluateAll((lis) => lis.map((li) =>
    (li.dataset.remoteId ? `remote:${li.dataset.remoteId}` : `local:${li.dataset.id}`)));
  const remoteRow = `li.job.remote[data-remote-id="${remoteId}"]`;
  if (phase === 'take') {
    await check('federation: the list merges local and remote jobs, newest first', async () => {
      await login(page, 'alice', 'alice-pw-1');
      await styled(page);
      await fits();
      const got = await rows();
      const old = +env('JOB_OLD');
      const nw = +env('JOB_NEW');
      // the submission times: the local ones from REST, the remote between them
      const [tOld, tNew] = [(await restJob(old)).created_at, (await restJob(nw)).created_at];
      assert(tOld < tNew, `local jobs' times ${tOld} ${tNew}`);
      const want = [`local:${nw}`, `remote:${remoteId}`, `local:${old}`];
      assertEqual(JSON.stringify(got.filter((r) => want.includes(r))), JSON.stringify(want), 'order');
      assertEqual(await page.locator(`${remoteRow} .job-where`).innerText(), `at ${host}`, 'origin mark');
      assertEqual(await page.locator(`${remoteRow} .job-name`).innerText(), 'Remote report', 'name');
      assertEqual(await page.locator(`li.job[data-id="${nw}"] .job-where`).count(), 0, 'local row marked');
      const box = await page.locator(`${remoteRow} .job-where`).boundingBox();
      assert(box && box.x + box.width <= 800, `origin mark off screen: ${JSON.stringify(box)}`);
      await shot(page, '40-merged-list');
    });
    await check('federation: the remote job\'s details: name, pages, where it is', async () => {
      await page.locator(`${remoteRow} input.job-select`).check();
      await page.locator('#next').click();
      await onScreen(page, 'remote-details');
      await fits();
      assertEqual(await page.locator('#job-name').innerText(), 'Remote report', 'name');
      assertEqual(await page.locator('#job-pages').innerText(), '1', 'pages');
      assert((await page.locator('#job-where').innerText()).startsWith(`at ${host}`), 'where');
      assert(TIME_RE.test(await page.locator('#job-time').innerText()), 'time');
      await shot(page, '41-remote-details');
    });
    await check('federation: its settings screen: copies 2, two-sided (long edge), Apply', async () => {
      await page.locator('#settings').click();
      await onScreen(page, 'settings');
      await fits();
      await submit(page, '#copies-up');
      await onScreen(page, 'settings');
      assertEqual(await page.locator('#copies-value').innerText(), '2', 'copies');
      await page.getByLabel('Two-sided (long edge)').check();
      await shot(page, '42-remote-settings');
      await submit(page, '#apply');
      await onScreen(page, 'remote-details');
      assertEqual(await page.locator('#job-copies').innerText(), '2', 'copies');
      assert(/Two-sided \(long edge\)/.test(await page.locator('#job-settings').innerText()), 'sides');
      assertEqual(await page.locator('#settings-changed').innerText(), '(changed)', 'changed');
    });
    await check('federation: Print takes it: the done screen', async () => {
      const r = await submit(page, '#print');
      assertEqual(r.status(), 200, 'status');
      await onScreen(page, 'done');
      await shot(page, '43-remote-done');
    });
    await check('federation: signed in again, the remote job is gone from the list', async () => {
      await login(page, 'alice', 'alice-pw-1');
      assertEqual(await page.locator(remoteRow).count(), 0, 'remote row');
      const got = await rows();
      assert(got.includes(`local:${env('JOB_OLD')}`), `local job listed: ${got}`);
    });
  } else {
    let code = '';
    await check('federation: the list says the account needs relinking', async () => {
      await login(page, 'alice', 'alice-pw-1');
      const notice = page.locator('#relink-notice p.relink');
      assertEqual(await notice.count(), 1, 'notices');
      assertEqual(await notice.locator('span').innerText(), `Your account at ${host} needs relinking.`, 'words');
      await fits();
      await shot(page, '44-relink-needed');
    });
    await check('federation: Relink: the code, its QR code and the URL, refreshing itself', async () => {
      await page.locator('#relink-notice .relink-button').click();
      await onScreen(page, 'link');
      code = (await page.locator('#user-code').innerText()).trim();
      assert(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-?[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(code), `code ${code}`);
      assertEqual(await page.locator('#verification-uri').innerText(), `${env('REMOTE_URL')}/device`, 'URL');
      assert((await page.locator('#link-qr').getAttribute('data-url')).includes('user_code='), 'QR text');
      const qr = await page.request.get(`${PANEL}/release/link-qr.svg`);
      assertEqual(qr.status(), 200, 'QR status');
      assert((await qr.text()).includes('<svg'), 'QR is SVG');
      const refresh = await page.locator('meta[http-equiv="refresh"]').getAttribute('content');
      assert(/\/release\/link/.test(refresh), `refresh ${refresh}`);
      assertEqual(await page.locator('#link-status').getAttribute('data-status'), 'pending', 'status');
      await fits();
      await shot(page, '45-link-code');
    });
    await check('federation: approved at the remote, the screen says linked by itself', async () => {
      const auth = 'Basic ' + Buffer.from(env('REMOTE_AUTH')).toString('base64');
      const r = await fetch(`${env('REMOTE_URL')}/api/v1/oauth/device/approve`, {
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_code: code }),
      });
      assertEqual(r.status, 200, 'approve');
      await page.locator('#link-status[data-status="linked"]').waitFor({ state: 'attached', timeout: 60000 });
      await message(page, /is linked/);
      await shot(page, '46-linked');
    });
  }
  await context.close();
}

main().then(
  () => console.log(`panel.test.js: ${passed} passed, 0 failed`),
  (e) => {
    if (!e.reported) console.error(e.stack || e);
    process.exitCode = 1;
  },
);
