// pages/usage.js: "My usage" (#/usage): what the signed-in user printed
// and spent, by month and by purpose (GET /reports/totals?by=month and
// ?by=purpose with from/to; nimbusd gives a user only their own jobs,
// docs/BILLING.md "Reports").  A month range (from, to: <input
// type=month>, kept in the hash as #/usage?from=YYYY-MM&to=YYYY-MM) is
// sent as from = its first day, to = the last day of the "to" month.  Two
// bar charts (charts.js figure(): each with a table of the same numbers),
// and under each a table of every figure: jobs, pages, impressions, print
// fee, service fee, total (money via ui.js money() from integer minor
// units).  Money counts charged jobs only, pages every completed job.
import { el, clear, field, table, errorText, money } from '../ui.js';
import { figure } from '../charts.js';

const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

// the last day of month "YYYY-MM" as "YYYY-MM-DD" (integer date
// arithmetic in UTC: day 0 of the next month)
function lastDay(month) {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

// a chart axis or cell of minor units: money() takes integers only (an
// axis tick may fall between two)
const moneyFormat = (currency) => (v) => (Number.isInteger(v) ? money(v, currency) : '');

// the detailed table of a report: one row per key, then the totals
function detailTable(id, caption, keyLabel, keyText, report) {
  const cur = report.currency;
  const m = (v) => (cur ? money(v, cur) : String(v));
  const rows = (report.rows || []).map((r) => Object.assign({ label: keyText(r.key) }, r));
  if (rows.length && report.totals) rows.push(Object.assign({ label: 'Total', total_row: true }, report.totals));
  const t = table({
    caption,
    columns: [
      { label: keyLabel, value: (r) => r.label },
      { label: 'Jobs', class: 'num', value: (r) => String(r.jobs) },
      { label: 'Pages', class: 'num', value: (r) => String(r.pages) },
      { label: 'Impressions', class: 'num', value: (r) => String(r.impressions) },
      { label: 'Print fee', class: 'num', value: (r) => m(r.print_fee) },
      { label: 'Service fee', class: 'num', value: (r) => m(r.service_fee) },
      { label: 'Total', class: 'num', value: (r) => m(r.total) },
    ],
    rows,
    empty: 'Nothing printed in these months.',
    rowAttrs: (r) => ({ 'data-key': r.total_row ? '(total)' : (r.key === null ? '(none)' : r.key) }),
  });
  t.id = id;
  return t;
}

export default {
  path: '/usage',
  title: 'My usage',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api } = ctx;
    const from = field({ label: 'From month', name: 'from', type: 'month',
      value: MONTH_RE.test(ctx.params.from || '') ? ctx.params.from : '' });
    const to = field({ label: 'To month', name: 'to', type: 'month',
      value: MONTH_RE.test(ctx.params.to || '') ? ctx.params.to : '' });
    from.input.placeholder = 'YYYY-MM';
    to.input.placeholder = 'YYYY-MM';
    const apply = el('button', { type: 'submit', id: 'usage-apply' }, 'Show');
    const form = el('form', { class: 'usage-filter', id: 'usage-filter', novalidate: true }, from.row, to.row,
      el('div', { class: 'actions' }, apply));
    const out = el('div', { id: 'usage-report', 'aria-busy': 'true' });

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      from.setError('');
      to.setError('');
      const f = from.input.value;
      const t = to.input.value;
      if (f && !MONTH_RE.test(f)) { from.setError('Write the month as YYYY-MM.'); from.input.focus(); return; }
      if (t && !MONTH_RE.test(t)) { to.setError('Write the month as YYYY-MM.'); to.input.focus(); return; }
      if (f && t && f > t) { to.setError('The last month comes before the first.'); to.input.focus(); return; }
      const q = new URLSearchParams();
      if (f) q.set('from', f);
      if (t) q.set('to', t);
      history.replaceState(null, '', `#/usage${q.toString() ? `?${q}` : ''}`);
      load();
    });

    async function load() {
      out.setAttribute('aria-busy', 'true');
      const f = from.input.value;
      const t = to.input.value;
      const range = { from: MONTH_RE.test(f) ? `${f}-01` : '', to: MONTH_RE.test(t) ? lastDay(t) : '' };
      let byMonth;
      let byPurpose;
      try {
        [byMonth, byPurpose] = await Promise.all([
          api.get('/reports/totals', Object.assign({ by: 'month' }, range)),
          api.get('/reports/totals', Object.assign({ by: 'purpose' }, range)),
        ]);
      } catch (e) {
        clear(out).append(el('p', { class: 'form-error', role: 'alert' }, `Your usage could not be loaded: ${errorText(e)}`));
        out.setAttribute('aria-busy', 'false');
        return;
      }
      const cur = byMonth.currency || byPurpose.currency || '';
      const fmt = cur ? moneyFormat(cur) : undefined;
      const purposeKey = (k) => (k === null || k === undefined ? 'No purpose' : k);
      const chart = (caption, report, keyText) => figure({
        kind: 'bar',
        caption,
        labels: (report.rows || []).map((r) => keyText(r.key)),
        series: cur ? [{ label: `Spent (${cur})`, data: (report.rows || []).map((r) => r.total) }]
          : [{ label: 'Pages', data: (report.rows || []).map((r) => r.pages) }],
        format: fmt,
      });
      const monthText = (k) => (k === null || k === undefined ? 'Unknown' : k);
      const f1 = chart(cur ? 'Spending by month' : 'Pages by month', byMonth, monthText);
      const f2 = chart(cur ? 'Spending by purpose' : 'Pages by purpose', byPurpose, purposeKey);
      clear(out).append(
        el('section', { class: 'usage-section', 'aria-labelledby': 'usage-month-title' },
          el('h2', { id: 'usage-month-title' }, 'By month'), f1.node,
          detailTable('usage-by-month', 'Usage by month', 'Month', monthText, byMonth)),
        el('section', { class: 'usage-section', 'aria-labelledby': 'usage-purpose-title' },
          el('h2', { id: 'usage-purpose-title' }, 'By purpose'), f2.node,
          detailTable('usage-by-purpose', 'Usage by purpose', 'Purpose', purposeKey, byPurpose)),
        el('p', { class: 'hint' }, 'Money counts the jobs that were charged; pages count every printed job. ' +
          'Months are UTC months.'));
      f1.draw();
      f2.draw();
      out.setAttribute('aria-busy', 'false');
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'My usage'),
      el('p', { class: 'lead' }, 'What you printed and spent, by month and by purpose.'), form, out);
    load();
  },
};
