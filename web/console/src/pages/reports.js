// pages/reports.js: "Reports" (#/admin/reports), the tenant admin console's
// pages and money by month, billing account, purpose, printer or user
// (docs/CONSOLE.md §2, docs/BILLING.md "Reports").  A form picks the
// grouping and a date range (UTC days, both included), kept in the URL
// (#/admin/reports?by=account&from=2026-12-01&to=2026-12-31).  GET
// /reports/totals?by=&from=&to= gives the rows: a bar chart of the pages
// and one of the money charged (charts.js, each with its text table), and
// the table of the same numbers with the totals (money via money(), from
// integer minor units).  CSV export: GET /reports/totals?...&format=csv and
// /reports/print-log?...&format=csv through api.js (cookie, tenant
// picker), offered as a download.  Below: the print log (GET
// /reports/print-log), 25 jobs a page, paged by next_before.
import { currentTenant } from '../api.js';
import { el, clear, append, field, table, pager, time, money, errorText, formError, saveFile, notice } from '../ui.js';
import { figure } from '../charts.js';
import { JOB_STATE_WORDS } from './settings.js';

const LOG_PAGE = 25;

// the groupings: the API's ?by=, its label, words for the null key
const GROUPS = {
  month: { label: 'Month', none: '(no month)' },
  account: { label: 'Billing account', none: '(no account: private or no purpose)' },
  purpose: { label: 'Purpose', none: '(no purpose)' },
  printer: { label: 'Printer', none: '(no printer)' },
  user: { label: 'User', none: '(no owner)' },
};

const DAY_RE = /^\d{4}-\d\d-\d\d$/;

// a charge's state in words (the print log's Charged column)
const CHARGE_WORDS = {
  held: 'held (not charged yet)',
  charged: 'charged',
  released: 'released (not charged)',
  'charge-failed': 'charge failed',
  charging: 'being charged',
};

// an amount for the charts' axes and tooltips: money() of whole minor
// units; Chart.js may ask for ticks between two units, which get no label
const moneyAxis = (currency) => (v) => (Number.isInteger(v) ? money(v, currency) : '');

export default {
  path: '/admin/reports',
  title: 'Reports',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    const { api, session } = ctx;
    const p = ctx.params;
    const by = field({ label: 'Group by', name: 'by', type: 'select', value: GROUPS[p.by] ? p.by : 'month',
      options: Object.entries(GROUPS).map(([value, g]) => ({ value, label: g.label })) });
    const from = field({ label: 'From', name: 'from', type: 'date', value: DAY_RE.test(p.from || '') ? p.from : '',
      hint: 'First day included (UTC); empty: from the beginning.' });
    const to = field({ label: 'To', name: 'to', type: 'date', value: DAY_RE.test(p.to || '') ? p.to : '',
      hint: 'Last day included (UTC); empty: up to today.' });
    const show = el('button', { type: 'submit', id: 'report-show' }, 'Show');
    const exportTotals = el('button', { type: 'button', class: 'secondary', id: 'export-totals' },
      'Export totals (CSV)');
    const exportLog = el('button', { type: 'button', class: 'secondary', id: 'export-log' },
      'Export print log (CSV)');
    const form = el('form', { class: 'report-form', id: 'report-form', novalidate: true },
      el('div', { class: 'field-row' }, by.row, from.row, to.row),
      el('div', { class: 'actions' }, show, exportTotals, exportLog));
    const totalsBox = el('section', { id: 'report-totals', 'aria-busy': 'true', 'aria-label': 'Totals' });
    const logBox = el('section', { id: 'print-log', 'aria-busy': 'true', 'aria-labelledby': 'print-log-title' });

    // the filters of the form, or null (the error shown by its field)
    const query = () => {
      formError(form, null);
      const q = { by: by.input.value, from: from.input.value, to: to.input.value };
      if (q.from && q.to && q.to < q.from) {
        to.setError('The last day is before the first day.');
        to.input.focus();
        return null;
      }
      return q;
    };
    // an ApiError about ?from or ?to under that field, else at the top
    const showError = (err) => {
      const d = errorText(err);
      if (/\?to\b/.test(d)) to.setError(d);
      else if (/\?from\b/.test(d)) from.setError(d);
      else formError(form, err);
    };

    let loading = 0;

    async function loadTotals(q) {
      const mine = ++loading;
      totalsBox.setAttribute('aria-busy', 'true');
      let r;
      try {
        r = await api.get('/reports/totals', q);
      } catch (e) {
        if (mine !== loading) return;
        clear(totalsBox).append(el('p', { class: 'form-error', role: 'alert' },
          `The totals could not be loaded: ${errorText(e)}`));
        showError(e);
        totalsBox.setAttribute('aria-busy', 'false');
        return;
      }
      if (mine !== loading) return;
      const g = GROUPS[r.by] || GROUPS.account;
      const cur = r.currency;
      const keyText = (k) => (k === null || k === undefined ? g.none : k);
      const rows = r.rows || [];
      const labels = rows.map((x) => keyText(x.key));
      const moneyCell = (v) => (cur ? money(v, cur) : String(v));
      const pages = figure({ kind: 'bar', caption: `Pages printed by ${g.label.toLowerCase()}`, labels,
        series: [{ label: 'Pages', data: rows.map((x) => x.pages) }],
        format: (v) => (Number.isInteger(v) ? String(v) : '') }); // no half pages on the axis
      const charged = figure({ kind: 'bar', caption: `Money charged by ${g.label.toLowerCase()}`, labels,
        series: [{ label: 'Total charged', data: rows.map((x) => x.total) }],
        format: cur ? moneyAxis(cur) : undefined });
      const columns = [
        { label: g.label, value: (x) => (x.all ? 'All' : keyText(x.key)) },
        { label: 'Jobs', class: 'num', value: (x) => String(x.jobs) },
        { label: 'Pages', class: 'num', value: (x) => String(x.pages) },
        { label: 'Impressions', class: 'num', value: (x) => String(x.impressions) },
        { label: 'Print fee', class: 'num', value: (x) => moneyCell(x.print_fee) },
        { label: 'Service fee', class: 'num', value: (x) => moneyCell(x.service_fee) },
        { label: 'Total charged', class: 'num', value: (x) => moneyCell(x.total) },
      ];
      const all = Object.assign({ all: true }, r.totals || {});
      const t = table({
        caption: `Totals by ${g.label.toLowerCase()}`,
        columns,
        rows: rows.length ? rows.concat([all]) : [],
        empty: 'No printed or charged jobs in this period.',
        rowAttrs: (x) => (x.all ? { class: 'total-row', 'data-total': 'all' }
          : { 'data-key': x.key === null ? '' : x.key }),
      });
      append(clear(totalsBox), [
        el('p', { class: 'hint', id: 'report-scope' },
          'Jobs and pages count every printed job; money counts the jobs charged',
          cur ? ` in ${cur}` : '', ' (the tenant has ', cur ? `currency ${cur}` : 'no currency yet', ').'),
        rows.length ? el('div', { class: 'report-charts' }, pages.node, charged.node) : null,
        t]);
      if (rows.length) {
        pages.draw();
        charged.draw();
      }
      totalsBox.setAttribute('aria-busy', 'false');
    }

    // the print log, one page: before is the job id the page starts after
    // (null: the newest); stack holds the starts of the pages before it
    let stack = [];
    async function loadLog(q, before) {
      logBox.setAttribute('aria-busy', 'true');
      let r;
      try {
        r = await api.get('/reports/print-log', { from: q.from, to: q.to, before, limit: LOG_PAGE });
      } catch (e) {
        clear(logBox).append(el('h2', { id: 'print-log-title' }, 'Print log'),
          el('p', { class: 'form-error', role: 'alert' }, `The print log could not be loaded: ${errorText(e)}`));
        logBox.setAttribute('aria-busy', 'false');
        return;
      }
      const jobs = r.jobs || [];
      const page = stack.length;
      const feeCell = (j) => (j.currency ? money(j.total, j.currency) : '—');
      const t = table({
        caption: 'Jobs, newest first',
        columns: [
          { label: 'Job', value: (j) => `No. ${j.id} ${j.name || 'untitled'}` },
          { label: 'Time', value: (j) => el('time', { datetime: j.created_at }, time(j.created_at)) },
          { label: 'User', value: (j) => j.user || '—' },
          { label: 'Purpose / account', value: (j) => {
            if (j.private) return j.purpose ? `${j.purpose} (private)` : 'private';
            if (!j.purpose && !j.account) return '—';
            return j.account ? `${j.purpose || '—'} (account ${j.account})` : j.purpose;
          } },
          { label: 'Printer', value: (j) => j.printer || '—' },
          { label: 'Pages', class: 'num', value: (j) => String(j.pages) },
          { label: 'State', value: (j) => JOB_STATE_WORDS[j.state] || j.state },
          { label: 'Fee', class: 'num', value: (j) => feeCell(j) },
          { label: 'Charged', value: (j) => (j.charge_state ? CHARGE_WORDS[j.charge_state] || j.charge_state
            : 'no charge (estimate)') },
        ],
        rows: jobs,
        empty: 'No jobs in this period.',
        rowAttrs: (j) => ({ 'data-job': j.id }),
      });
      const first = page * LOG_PAGE + 1;
      clear(logBox).append(el('h2', { id: 'print-log-title' }, 'Print log'), t, pager({
        hasPrev: page > 0,
        hasNext: r.next_before !== null && r.next_before !== undefined,
        onPrev: () => { stack.pop(); loadLog(q, stack.length ? stack[stack.length - 1] : null); },
        onNext: () => { stack.push(r.next_before); loadLog(q, r.next_before); },
        label: jobs.length ? `Jobs ${first}–${first + jobs.length - 1}` : '',
      }));
      logBox.setAttribute('aria-busy', 'false');
    }

    // the query into the URL, then totals and the log's first page
    function load() {
      const q = query();
      if (!q) return;
      const u = new URLSearchParams({ by: q.by });
      if (q.from) u.set('from', q.from);
      if (q.to) u.set('to', q.to);
      history.replaceState(null, '', `#/admin/reports?${u}`);
      stack = [];
      loadTotals(q);
      loadLog(q, null);
    }

    // a CSV export of what the form says, saved as filename
    const exportCsv = async (button, path, q, filename) => {
      button.disabled = true;
      try {
        const text = await api.getText(path, Object.assign({}, q, { format: 'csv' }));
        saveFile(text, filename);
        notice(`${filename} was downloaded.`, 'ok');
      } catch (e) {
        showError(e);
        notice(`The export failed: ${errorText(e)}`, 'error');
      } finally {
        button.disabled = false;
      }
    };
    exportTotals.addEventListener('click', () => {
      const q = query();
      if (q) exportCsv(exportTotals, '/reports/totals', q, `totals-by-${q.by}.csv`);
    });
    exportLog.addEventListener('click', () => {
      const q = query();
      if (q) exportCsv(exportLog, '/reports/print-log', { from: q.from, to: q.to }, 'print-log.csv');
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      load();
    });

    clear(root).append(
      el('h1', { tabindex: '-1' }, 'Reports'),
      el('p', { class: 'lead' }, 'Pages printed and money charged, grouped by month, billing account, ' +
        'purpose, printer or user, and the print log. Days are UTC days.'));
    if (session.role === 'operator' && !currentTenant()) {
      root.append(el('p', { class: 'form-error', role: 'alert', id: 'pick-tenant' },
        'Pick a tenant with the Tenant picker at the top to see its reports.'));
      return;
    }
    root.append(form, totalsBox, logBox);
    load();
  },
};
