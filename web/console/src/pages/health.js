// pages/health.js: "System health" (#/operator/health), the operator
// console's view of what nimbusd says about itself (docs/CONSOLE.md §2,
// OPERATIONS.md "Monitoring").  GET /healthz (status, schema version,
// version; a 503 is a problem said in words: the store does not answer, or
// the disk is short of space) and GET /metrics (Prometheus text, parsed
// here; the series are those of src/server/metrics/metrics.c): requests
// served, server and client errors, average answer time, jobs by state,
// jobs waiting (held, ready to print), printers' parked long-polls,
// document bytes spooled, payments.  Both are read again every 5 seconds
// while the page is open; two small line charts show the rates between
// samples (requests and errors per second, KiB spooled per second) over the
// last two minutes.  Polling stops when another page is drawn.
import { el, clear, table, time, errorText } from '../ui.js';
import { figure } from '../charts.js';

const EVERY_MS = 5000;
const KEEP = 24; // samples in the charts: two minutes

// parseMetrics(text) → [{name, labels: {k: v}, value}] of Prometheus text
// exposition (comments and blank lines skipped)
export function parseMetrics(text) {
  const out = [];
  for (const line of String(text).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// the sum of the series named name whose labels pass keep(labels)
const sum = (series, name, keep = () => true) => series
  .filter((s) => s.name === name && keep(s.labels)).reduce((a, s) => a + s.value, 0);

// the figures the page shows, from parsed metrics
export function keyFigures(series) {
  const jobs = {};
  for (const s of series) if (s.name === 'nimbus_jobs') jobs[s.labels.state] = s.value;
  const count = sum(series, 'nimbus_request_duration_seconds_count');
  return {
    requests: sum(series, 'nimbus_requests_total') + sum(series, 'nimbus_requests_untracked_total'),
    serverErrors: sum(series, 'nimbus_requests_total', (l) => +l.http_status >= 500),
    clientErrors: sum(series, 'nimbus_requests_total', (l) => +l.http_status >= 400 && +l.http_status < 500),
    avgMs: count ? (sum(series, 'nimbus_request_duration_seconds_sum') / count) * 1000 : 0,
    jobs,
    longPolls: sum(series, 'nimbus_device_long_polls'),
    spooled: sum(series, 'nimbus_spooled_bytes_total'),
    deletedDevice: sum(series, 'nimbus_deleted_device_requests_total'),
    paid: sum(series, 'nimbus_payments_total', (l) => l.state === 'paid'),
    paymentsFailed: sum(series, 'nimbus_payments_total', (l) => l.state === 'failed'),
    callbacksRefused: sum(series, 'nimbus_payment_callbacks_refused_total'),
  };
}

// a job state's name in words
const STATE_WORDS = {
  received: 'being received',
  held: 'held',
  'awaiting-payment': 'awaiting payment',
  fetchable: 'ready to print',
  processing: 'printing',
  completed: 'printed',
  canceled: 'canceled',
  aborted: 'failed',
  expired: 'expired',
};

const n = (v) => Math.round(v).toLocaleString('en-US');
const plural = (v, one, many) => `${n(v)} ${Math.round(v) === 1 ? one : many}`;
// bytes in words (not money: a float is fine here)
function bytesWords(b) {
  if (b >= 1073741824) return `${(b / 1073741824).toFixed(1)} GiB`;
  if (b >= 1048576) return `${(b / 1048576).toFixed(1)} MiB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${n(b)} bytes`;
}
const clock = (d) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:` +
  `${String(d.getSeconds()).padStart(2, '0')}`;

export default {
  path: '/operator/health',
  title: 'System health',
  section: 'operator',
  roles: ['operator'],
  render(root, ctx) {
    const { api } = ctx;
    const healthBox = el('section', { id: 'health-status', 'aria-labelledby': 'health-title', 'aria-busy': 'true' });
    const figuresBox = el('section', { id: 'health-figures', 'aria-labelledby': 'figures-title', 'aria-busy': 'true' });
    const chartsBox = el('section', { id: 'health-charts', 'aria-labelledby': 'charts-title' },
      el('h2', { id: 'charts-title' }, 'The last two minutes'),
      el('p', { class: 'hint' }, 'Rates between samples taken every 5 seconds while this page is open.'),
      el('div', { class: 'report-charts', id: 'health-chart-boxes' }));
    const samples = []; // {at: Date, ms, fig}
    let charts = [];

    async function health() {
      const head = el('h2', { id: 'health-title' }, 'Status');
      try {
        const h = JSON.parse(await api.getRoot('/healthz'));
        const ok = h.status === 'ok';
        clear(healthBox).append(head,
          el('p', { class: `health-words ${ok ? 'ok' : 'problem'}`, id: 'health-words', role: ok ? null : 'alert' },
            ok ? 'nimbusd is healthy: the database answers and the spool and database disks have enough free space.'
              : `nimbusd says its status is "${h.status}".`),
          el('dl', { class: 'facts' },
            el('dt', null, 'Status'), el('dd', { id: 'health-state' }, String(h.status)),
            el('dt', null, 'Database schema version'), el('dd', { id: 'health-schema' }, String(h.schema_version)),
            el('dt', null, 'nimbusd version'), el('dd', { id: 'health-version' }, String(h.version)),
            el('dt', null, 'Checked'), el('dd', null, time(new Date().toISOString()))));
      } catch (e) {
        clear(healthBox).append(head,
          el('p', { class: 'health-words problem form-error', id: 'health-words', role: 'alert' },
            e.status === 503
              ? `nimbusd is not healthy: ${errorText(e)}. New jobs and uploads may fail until this is fixed.`
              : `The health check could not be read: ${errorText(e)}.`),
          el('dl', { class: 'facts' },
            el('dt', null, 'Status'), el('dd', { id: 'health-state' }, e.status ? `problem (HTTP ${e.status})` : 'unreachable'),
            el('dt', null, 'Checked'), el('dd', null, time(new Date().toISOString()))));
      }
      healthBox.setAttribute('aria-busy', 'false');
    }

    // the figures of the latest sample, in words
    function showFigures(f, prev) {
      const waiting = (f.jobs.held || 0) + (f.jobs.fetchable || 0) + (f.jobs['awaiting-payment'] || 0);
      const rate = prev ? (f.requests - prev.fig.requests) / ((Date.now() - prev.ms) / 1000) : null;
      const items = [
        ['Requests', `${plural(f.requests, 'request', 'requests')} answered since nimbusd started` +
          (rate !== null ? `; ${rate.toFixed(1)} a second lately.` : '.')],
        ['Errors', `${plural(f.serverErrors, 'server error', 'server errors')} (HTTP 5xx) and ` +
          `${plural(f.clientErrors, 'refused request', 'refused requests')} (HTTP 4xx: wrong input, ` +
          'no permission, not found).'],
        ['Answer time', `${f.avgMs.toFixed(1)} ms on average.`],
        ['Jobs waiting', `${plural(waiting, 'job', 'jobs')} waiting: ${n(f.jobs.held || 0)} held for release, ` +
          `${n(f.jobs.fetchable || 0)} ready to print, ${n(f.jobs['awaiting-payment'] || 0)} awaiting payment; ` +
          `${n(f.jobs.processing || 0)} printing now.`],
        ['Printers listening', `${plural(f.longPolls, 'printer connection', 'printer connections')} parked ` +
          'waiting for work (long-polls).'],
        ['Documents spooled', `${bytesWords(f.spooled)} written to the spool since nimbusd started.`],
        ['Disk space', 'Checked by /healthz: a shortage shows as a problem under Status.'],
        ['Payments', `${plural(f.paid, 'payment', 'payments')} paid, ${n(f.paymentsFailed)} failed; ` +
          `${plural(f.callbacksRefused, 'forged or replayed callback', 'forged or replayed callbacks')} refused.`],
        ['Deleted printers', `${plural(f.deletedDevice, 'request', 'requests')} from printers whose ` +
          'registration was deleted.'],
      ];
      const states = Object.keys(STATE_WORDS).filter((s) => s in f.jobs);
      clear(figuresBox).append(el('h2', { id: 'figures-title' }, 'Key figures'),
        el('dl', { class: 'facts', id: 'health-facts' }, items.map(([k, v]) => [
          el('dt', null, k), el('dd', { 'data-figure': k }, v)])),
        table({
          caption: 'Jobs by state (all tenants)',
          columns: [{ label: 'State', value: (s) => STATE_WORDS[s] },
            { label: 'Jobs', class: 'num', value: (s) => n(f.jobs[s]) }],
          rows: states,
          empty: 'The store did not say how many jobs it holds.',
          rowAttrs: (s) => ({ 'data-state': s }),
        }));
      figuresBox.setAttribute('aria-busy', 'false');
    }

    // the two charts of the rates between consecutive samples
    function showCharts() {
      const box = chartsBox.querySelector('#health-chart-boxes');
      for (const c of charts) c.destroy();
      charts = [];
      clear(box);
      if (samples.length < 2) {
        box.append(el('p', { class: 'hint', id: 'charts-wait' }, 'The charts start after the second sample (5 seconds).'));
        return;
      }
      const labels = [];
      const req = [];
      const err = [];
      const kib = [];
      for (let i = 1; i < samples.length; i++) {
        const a = samples[i - 1];
        const b = samples[i];
        const secs = Math.max(0.001, (b.ms - a.ms) / 1000);
        labels.push(clock(b.at));
        req.push(+((b.fig.requests - a.fig.requests) / secs).toFixed(2));
        err.push(+(((b.fig.serverErrors + b.fig.clientErrors) - (a.fig.serverErrors + a.fig.clientErrors)) / secs)
          .toFixed(2));
        kib.push(+((b.fig.spooled - a.fig.spooled) / 1024 / secs).toFixed(1));
      }
      const f1 = figure({ kind: 'line', caption: 'Requests and errors per second', labels,
        series: [{ label: 'Requests per second', data: req }, { label: 'Errors (4xx and 5xx) per second', data: err }] });
      const f2 = figure({ kind: 'line', caption: 'Documents spooled (KiB per second)', labels,
        series: [{ label: 'KiB per second', data: kib }] });
      box.append(f1.node, f2.node);
      charts = [f1.draw(), f2.draw()];
    }

    async function metrics() {
      let text;
      try {
        text = await api.getRoot('/metrics');
      } catch (e) {
        clear(figuresBox).append(el('h2', { id: 'figures-title' }, 'Key figures'),
          el('p', { class: 'form-error', role: 'alert' }, `The metrics could not be read: ${errorText(e)}.`));
        figuresBox.setAttribute('aria-busy', 'false');
        return;
      }
      const fig = keyFigures(parseMetrics(text));
      const prev = samples[samples.length - 1];
      samples.push({ at: new Date(), ms: Date.now(), fig });
      while (samples.length > KEEP + 1) samples.shift();
      showFigures(fig, prev);
      showCharts();
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'System health'),
      el('p', { class: 'lead' }, 'What nimbusd says about itself (/healthz and /metrics), read again every ' +
        '5 seconds while this page is open.'),
      healthBox, figuresBox, chartsBox);
    const tick = () => {
      if (!healthBox.isConnected) { // another page was drawn: stop
        clearInterval(timer);
        for (const c of charts) c.destroy();
        return;
      }
      health();
      metrics();
    };
    const timer = setInterval(tick, EVERY_MS);
    health();
    metrics();
  },
};
