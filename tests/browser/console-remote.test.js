// The console's "My jobs" with a job waiting at another print service
// (docs/FEDERATION.md §4, docs/CONSOLE.md), in headless Chromium against
// real processes: run by tests/integration/test-panel-federation-browser.sh
// before the job is taken.  Environment: NIMBUS_URL (home), ALICE
// (user@tenant:password), JOB_OLD and JOB_NEW (alice's local jobs, sent a
// second before and after REMOTE_ID "<link>:<id>"), REMOTE_HOST.
//  - the list has both, newest first: JOB_NEW, the remote job, JOB_OLD;
//  - "Where" says Here for the local ones and "At REMOTE_HOST" for the
//    remote one, whose state is "Waiting there" and which has no action
//    button, only the hint "Print it at a printer".
'use strict';
const { NIMBUS, env, assert, assertEqual, launch, newPage, signIn, check, finish } =
  require('./console-lib.js');

const [USER, PW] = env('ALICE').split(/:(.*)/s);

async function main() {
  const browser = await launch();
  try {
    const { page } = await newPage(browser);
    await signIn(page, USER, PW);
    await page.goto(`${NIMBUS}/#/jobs?state=held`);
    await page.locator('#jobs-list[aria-busy="false"]').waitFor();
    const remote = page.locator(`tr[data-remote="true"][data-job="${env('REMOTE_ID')}"]`);
    await check('My jobs lists the remote job between the local ones, newest first', async () => {
      await remote.waitFor();
      const rows = await page.locator('tr[data-job]').evaluateAll((trs) => trs.map((t) => t.dataset.job));
      const want = [env('JOB_NEW'), env('REMOTE_ID'), env('JOB_OLD')];
      assertEqual(JSON.stringify(rows.filter((r) => want.includes(r))), JSON.stringify(want), 'order');
    });
    await check('Where: Here, and At HOST for the remote job, in words; no actions for it', async () => {
      assertEqual(await remote.locator('td[data-label="Where"]').innerText(), `At ${env('REMOTE_HOST')}`, 'where');
      assertEqual(await remote.locator('td[data-label="State"]').innerText(), 'Waiting there', 'state');
      assertEqual(await remote.locator('td.row-actions button').count(), 0, 'buttons');
      assert(/Print it at a printer/.test(await remote.locator('td.row-actions').innerText()), 'hint');
      const local = page.locator(`tr[data-job="${env('JOB_NEW')}"]`);
      assertEqual(await local.locator('td[data-label="Where"]').innerText(), 'Here', 'local where');
    });
  } finally {
    await browser.close();
  }
}

finish('console-remote.test.js', main);
