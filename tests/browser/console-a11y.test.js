// console-a11y.test.js: every page of the web console checked with
// axe-core (WCAG 2.1 A and AA rules: labels, names, contrast, landmarks,
// ARIA use) as each role sees it, on a desktop and on a phone, and the
// navigation used with the keyboard alone.  Run by
// tests/integration/test-console-browser.sh (part "a11y") after its data
// is in place, with ALICE, ADMIN_AUTH (name@tenant:password) and OPERATOR
// (admin@system:password).
//
// axe-core is loaded with page.evaluate (the DevTools protocol), which the
// console's Content-Security-Policy does not govern: the page itself still
// runs under its CSP, unchanged.
'use strict';
const fs = require('fs');
const { launch, newPage, signIn, check, assert, finish } = require('./console-lib.js');

const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };

function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}
const split = (s) => [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1)];

// the axe violations of the page as it is now, as readable lines
async function violations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3)
      .map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

// the hash paths of the navigation, in order
async function navPaths(page) {
  return page.locator('nav.mainnav a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
}

// open each page of the navigation and check it; the page is drawn when
// <main> is not busy and its heading is there
async function checkAllPages(page, who, viewport) {
  const paths = await navPaths(page);
  assert(paths.length > 0, `${who}: a navigation`);
  const problems = [];
  for (const href of paths) {
    await page.goto(`${process.env.NIMBUS_URL}/${href}`);
    await page.locator('main h1').first().waitFor();
    await page.waitForLoadState('networkidle');
    for (const v of await violations(page)) problems.push(`${href}: ${v}`);
  }
  assert(problems.length === 0, `${who} (${viewport}) has accessibility violations:\n  ${problems.join('\n  ')}`);
  return paths.length;
}

async function main() {
  const browser = await launch();
  const roles = [
    ['a user', split(env('ALICE'))],
    ['a tenant admin', split(env('ADMIN_AUTH'))],
    ['the operator', split(env('OPERATOR'))],
  ];
  try {
    // the sign-in page itself, before anyone signs in
    await check('the sign-in page has no WCAG 2.1 A/AA violations (axe-core)', async () => {
      const { page, context } = await newPage(browser);
      await page.goto(`${process.env.NIMBUS_URL}/`);
      await page.locator('#signin-form').waitFor();
      const v = await violations(page);
      assert(v.length === 0, `violations:\n  ${v.join('\n  ')}`);
      await context.close();
    });
    for (const [who, [user, pw]] of roles) {
      for (const [viewport, size] of [['desktop', undefined], ['phone', PHONE]]) {
        await check(`every page ${who} sees has no WCAG 2.1 A/AA violations on a ${viewport} (axe-core)`, async () => {
          const { page, context } = await newPage(browser, size ? { viewport: size } : {});
          await signIn(page, user, pw);
          const n = await checkAllPages(page, who, viewport);
          console.log(`   (${n} pages)`);
          await context.close();
        });
      }
    }
    // the keyboard alone: from the skip link through the navigation to a
    // page, every stop visible and named
    await check('the keyboard alone reaches the skip link, the navigation and a page\'s controls', async () => {
      const [user, pw] = split(env('ADMIN_AUTH'));
      const { page, context } = await newPage(browser);
      await signIn(page, user, pw);
      await page.goto(`${process.env.NIMBUS_URL}/#/jobs`);
      await page.locator('main h1').first().waitFor();
      // the list arrives after the heading: a Tab pressed while it replaces
      // its placeholder lands on the body (on a slow machine, it did)
      await page.locator('#jobs-list[aria-busy="false"]').waitFor();
      await page.waitForLoadState('networkidle');
      // start from the top of the document, as after loading it (the
      // console moves focus to each page's heading when it opens it)
      await page.evaluate(() => {
        document.body.setAttribute('tabindex', '-1');
        document.body.focus();
        document.body.removeAttribute('tabindex');
      });
      const stops = [];
      for (let i = 0; i < 25; i += 1) {
        await page.keyboard.press('Tab');
        stops.push(await page.evaluate(() => {
          const a = document.activeElement;
          const r = a.getBoundingClientRect();
          const style = getComputedStyle(a);
          return {
            tag: a.tagName,
            name: (a.getAttribute('aria-label') || a.textContent || a.value || '').trim().slice(0, 40),
            visible: r.width > 0 && r.height > 0,
            outline: style.outlineStyle !== 'none' || style.boxShadow !== 'none',
            href: a.getAttribute('href') || '',
          };
        }));
      }
      assert(/skip/i.test(stops[0].name), `the first stop is the skip link: ${JSON.stringify(stops[0])}`);
      assert(stops.some((s) => s.href === '#/admin/users'), 'the navigation is reached by Tab');
      for (const s of stops.slice(1)) {
        assert(s.visible && s.name, `a stop without a visible name: ${JSON.stringify(s)}`);
        assert(s.outline, `a stop without a visible focus: ${JSON.stringify(s)}`);
      }
      // Enter on a navigation link opens its page
      await page.locator('nav.mainnav a[href="#/admin/users"]').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/#\/admin\/users/);
      await page.locator('main h1', { hasText: 'Users' }).waitFor();
      await context.close();
    });
  } finally {
    await browser.close();
  }
}

finish('console-a11y.test.js', main);
