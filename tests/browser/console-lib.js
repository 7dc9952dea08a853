// console-lib.js: what the web console's browser tests share (CommonJS,
// required by tests/browser/console*.test.js, which
// tests/integration/test-console-browser.sh runs with NODE_PATH at
// playwright-core from tests/browser/package-lock.json).
//   launch()                       Debian's chromium ($CHROMIUM) headless
//   newPage(browser, opts)         a fresh context (cookies of its own) and
//                                  page; opts: viewport, timezoneId, locale
//   signIn(page, user, password)   the sign-in page at NIMBUS_URL/, then the
//                                  shell (#signout)
//   screenshot(page, name, full)   NAME.png into SCREENSHOTS_DIR when set: the
//                                  viewport, or the whole page when full
//   check(name, fn)                run a check: "ok - name" and a count, or
//                                  the failure with the page's text and a
//                                  screenshot into FAILURE_DIR, then throw
//   until(desc, fn, limitMs)       poll fn until truthy (a limit for broken
//                                  runs, not a timing assertion)
//   rest(method, path, {auth, body, cookie, csrf})  nimbusd's REST API from
//                                  node: {status, json, headers}
//   finish(file)                   run main(): "FILE: N passed, 0 failed"
// Environment: NIMBUS_URL, CHROMIUM, SCREENSHOTS_DIR, FAILURE_DIR.
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}

const NIMBUS = env('NIMBUS_URL');
const SHOTS = process.env.SCREENSHOTS_DIR || '';
const FAILURE_DIR = process.env.FAILURE_DIR || '';
// a time as ui.js time() writes it: "2026-12-05 08:15 CET", "... GMT+9"
const TIME_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d [A-Za-z0-9:+-]+$/;

let passed = 0;
let current = null; // the page to photograph when a check fails

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function assertEqual(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

async function launch() {
  return chromium.launch({
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
}

async function newPage(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || { width: 1280, height: 800 },
    locale: opts.locale || 'en-US',
    timezoneId: opts.timezoneId || 'America/New_York',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  current = page;
  return { context, page };
}

// the page whose state a failing check shows
function watch(page) {
  current = page;
}

async function signIn(page, user, password) {
  await page.goto(`${NIMBUS}/`);
  await page.locator('#signin-form').waitFor();
  await page.getByLabel('User', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.locator('#signin-submit').click();
  await page.locator('#signout').waitFor();
}

async function screenshot(page, name, full = false) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: full });
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
        const file = path.join(FAILURE_DIR, 'console-browser-failure.png');
        await current.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.error(`screenshot: ${file}`);
      }
    }
    throw e;
  }
  passed++;
  console.log(`ok - ${name}`);
}

async function until(desc, fn, limitMs = 30000) {
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

// rest(method, path, {auth: 'user@tenant:password', body, cookie, csrf}):
// path is relative to /api/v1
async function rest(method, p, { auth, body, cookie, csrf } = {}) {
  const headers = {};
  if (auth) headers.Authorization = 'Basic ' + Buffer.from(auth).toString('base64');
  if (cookie) headers.Cookie = cookie;
  if (csrf) headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${NIMBUS}/api/v1${p}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  return { status: r.status, json, headers: r.headers };
}

function finish(file, main) {
  main().then(
    () => console.log(`${file}: ${passed} passed, 0 failed`),
    (e) => {
      if (!e.reported) console.error(e.stack || e);
      process.exitCode = 1;
    },
  );
}

module.exports = {
  NIMBUS, TIME_RE, env, sleep, assert, assertEqual, launch, newPage, watch, signIn, screenshot,
  check, until, rest, finish,
};
