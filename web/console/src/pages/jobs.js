// pages/jobs.js: "My jobs" (#/jobs), the user portal's list of the
// signed-in user's own jobs (GET /jobs: nimbusd lists only the caller's
// jobs to a user; an admin sees the tenant's, as the API does).  Filter
// held / active / finished / all (?state=), 20 a page (?offset=), kept in
// the URL (#/jobs?state=held&offset=20).  Each row: number and name, state
// in words, queue (and the printer it came through), pages and copies,
// purpose, fee, submitted time in the viewer's zone; actions Release (asks
// the PIN when the job has one), Cancel, Delete (DELETE /jobs/{id}: its
// document goes now, the record stays), and Pay for a job awaiting payment
// (GET /jobs/{id}/payment: its payment_url).  An action's error shows in
// words in its row.  The fee comes from each job's own document (GET
// /jobs/{id}: "charge", the stored quote, or the purpose's charge), read
// for the jobs of the page.  With ?include=remote the list also has the
// jobs waiting at another print service where the user linked an account
// (docs/FEDERATION.md §4): column "Where" (Here / At HOST), state
// "Waiting there", no actions but the hint "Print it at a printer".
import { el, clear, table, pager, notice, time, money, confirmAction, askText, errorText } from '../ui.js';
import { JOB_STATE_WORDS, FINISHED_STATES } from './settings.js';

const PAGE_SIZE = 20;

// the filters: label, the API's ?state=, words for an empty list
const FILTERS = {
  held: { label: 'Held', state: 'held', empty: 'You have no held jobs.' },
  active: { label: 'Active', state: 'not-completed', empty: 'You have no jobs waiting or printing.' },
  finished: { label: 'Finished', state: 'completed', empty: 'You have no finished jobs.' },
  all: { label: 'All', state: 'all', empty: 'You have no jobs.' },
};


const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// the fee of a job's document as money(), '' when it has none
export function jobFee(job) {
  const c = job.charge || (job.purpose && job.purpose.charge) || null;
  if (c && c.currency) return money(c.total, c.currency);
  if (job.payment && job.payment.currency) return money(job.payment.amount, job.payment.currency);
  return '';
}

// the purpose cell: "Client A (account CLIENT-A)", "Personal (private)"
function purposeText(p) {
  if (!p || !p.name) return '—';
  if (p.private) return `${p.name} (private)`;
  return p.account && p.account !== p.name ? `${p.name} (account ${p.account})` : p.name;
}

// a job waiting at another print service (docs/FEDERATION.md §4): no
// local id, its remote_id "<link>:<id>", origin {kind, link, service}
// (a taken one's local copy, with an id, is a job here)
const isRemote = (job) => Boolean(job.origin && job.origin.kind === 'remote' && !job.id && job.remote_id);
const remoteNumber = (job) => String(job.remote_id || '').split(':').pop();

// "Here", or the remote service's host ("at print.other.example")
export function whereText(job) {
  if (!isRemote(job)) return 'Here';
  const svc = job.origin.service || job.origin.link || '';
  try {
    return `At ${new URL(svc).host}`;
  } catch {
    return `At ${svc}`;
  }
}

// newest submission first, whichever service holds the job
const submitted = (j) => String(j.created_at || j.submitted_at || '');
const bySubmission = (jobs) => jobs.slice().sort((a, b) => submitted(b).localeCompare(submitted(a)));

// the document is gone (deleted, or purged by retention)
const documentsGone = (job) => Array.isArray(job.documents) && job.documents.length > 0 &&
  job.documents.every((d) => d.purged);

export default {
  path: '/jobs',
  title: 'My jobs',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api } = ctx;
    let filter = FILTERS[ctx.params.state] ? ctx.params.state : 'held';
    let offset = Math.max(0, parseInt(ctx.params.offset || '0', 10) || 0);
    let loading = 0; // the latest load; older answers are dropped

    const listBox = el('div', { class: 'jobs-list', id: 'jobs-list', 'aria-busy': 'true' });
    const filterBar = el('div', { class: 'filters', role: 'group', 'aria-label': 'Show jobs' },
      Object.entries(FILTERS).map(([key, f]) => el('button', {
        type: 'button',
        class: 'filter',
        'data-filter': key,
        'aria-pressed': String(key === filter),
        onclick: () => { filter = key; offset = 0; load(); },
      }, f.label)),
      el('button', { type: 'button', class: 'secondary refresh', onclick: () => load() }, 'Refresh'));

    // keep filter and page in the URL without a new history entry
    const remember = () => {
      const q = new URLSearchParams({ state: filter });
      if (offset) q.set('offset', String(offset));
      history.replaceState(null, '', `#/jobs?${q}`);
      for (const b of filterBar.querySelectorAll('.filter')) {
        b.setAttribute('aria-pressed', String(b.dataset.filter === filter));
      }
    };

    // a row's error, in words, in the row that caused it
    const rowError = (tr, err) => {
      const p = tr.querySelector('.row-error');
      p.textContent = err ? errorText(err) : '';
      p.hidden = !err;
    };

    // run an action of a row: busy buttons, its error in the row, reload after
    const act = async (tr, fn, done) => {
      rowError(tr, null);
      const buttons = [...tr.querySelectorAll('button')];
      buttons.forEach((b) => { b.disabled = true; });
      try {
        const r = await fn();
        if (r === false) return; // the person changed their mind
        if (done) notice(done(r), 'ok');
        await load(true);
      } catch (e) {
        rowError(tr, e);
      } finally {
        buttons.forEach((b) => { if (b.isConnected) b.disabled = false; });
      }
    };

    const release = (job, tr) => act(tr, async () => {
      let body;
      if (job.has_pin) {
        const pin = await askText(`Job ${job.id} (${job.name || 'untitled'}) has a PIN. Enter it to release the job.`,
          { label: 'PIN', name: 'pin', type: 'password', required: true, inputmode: 'numeric',
            autocomplete: 'off' }, { confirm: 'Release' });
        if (pin === null) return false;
        body = { pin };
      }
      return api.post(`/jobs/${job.id}/release`, body);
    }, (r) => (r && r.payment && r.payment.payment_url
      ? `Job ${job.id} must be paid first: use Pay in its row.`
      : `Job ${job.id} was released.`));

    const cancel = (job, tr) => act(tr, async () => {
      if (!(await confirmAction(`Cancel job ${job.id} (${job.name || 'untitled'})? It will not print.`,
        { confirm: 'Cancel the job', cancel: 'Keep it' }))) return false;
      return api.post(`/jobs/${job.id}/cancel`);
    }, () => `Job ${job.id} was canceled.`);

    const remove = (job, tr) => act(tr, async () => {
      if (!(await confirmAction(`Delete job ${job.id} (${job.name || 'untitled'})? Its document is ` +
        'deleted now and it will not print; the record stays in your history.',
      { confirm: 'Delete', cancel: 'Keep it' }))) return false;
      return api.del(`/jobs/${job.id}`);
    }, () => `Job ${job.id} was deleted.`);

    // Pay: the payment page of a job awaiting payment
    const payLink = (job, tr) => {
      const a = el('a', { class: 'button pay', href: '#', hidden: true }, 'Pay');
      api.get(`/jobs/${job.id}/payment`).then((p) => {
        if (p && p.payment_url) {
          a.href = p.payment_url;
          a.hidden = false;
        } else {
          rowError(tr, { message: 'The payment has no payment page any more; refresh the list.' });
        }
      }, (e) => rowError(tr, e));
      return a;
    };

    const actions = (job, tr) => {
      const out = [];
      if (isRemote(job)) { // nothing to do here: it is taken at a printer
        return [el('span', { class: 'remote-hint' }, 'Print it at a printer')];
      }
      if (job.state === 'held') {
        out.push(el('button', { type: 'button', class: 'release', onclick: () => release(job, tr) }, 'Release'));
      }
      if (job.state === 'awaiting-payment') out.push(payLink(job, tr));
      if (!FINISHED_STATES.has(job.state)) {
        out.push(el('button', { type: 'button', class: 'secondary cancel', onclick: () => cancel(job, tr) }, 'Cancel'));
      }
      if (!documentsGone(job)) {
        out.push(el('button', { type: 'button', class: 'danger delete', onclick: () => remove(job, tr) }, 'Delete'));
      }
      return out;
    };

    const columns = [
      { label: 'Job', value: (j) => [el('span', { class: 'job-number' },
        isRemote(j) ? `No. ${remoteNumber(j)}` : `No. ${j.id}`), ' ',
      el('span', { class: 'job-name' }, j.name || 'untitled')] },
      { label: 'Where', value: (j) => el('span', {
        class: `job-where ${isRemote(j) ? 'where-remote' : 'where-here'}`,
      }, whereText(j)) },
      { label: 'State', value: (j) => el('span', { class: `state state-${j.state}` },
        isRemote(j) ? 'Waiting there' : JOB_STATE_WORDS[j.state] || j.state,
        documentsGone(j) ? ' (document deleted)' : '') },
      { label: 'Queue / printer', value: (j) => (j.origin_device ? `${j.queue} (via ${j.origin_device})` : j.queue) },
      { label: 'Pages', class: 'num', value: (j) => (j.copies > 1
        ? `${plural(j.pages, 'page', 'pages')} × ${j.copies}` : plural(j.pages, 'page', 'pages')) },
      { label: 'Purpose', value: (j) => purposeText(j.purpose) },
      { label: 'Fee', class: 'num', value: (j) => el('span', { class: 'job-fee' }, jobFee(j) || '—') },
      { label: 'Submitted', value: (j) => el('time', { datetime: submitted(j) }, time(submitted(j))) },
      { label: 'Actions', class: 'row-actions', value: () => null },
    ];

    // the page's jobs, each completed by its own document (fee, payment);
    // a job whose document cannot be read keeps the list's members
    const withDetails = (jobs) => Promise.all(jobs.map((j) => (isRemote(j) ? j : api.get(`/jobs/${j.id}`).then(
      (d) => Object.assign({}, j, { charge: d.charge, payment: d.payment, purpose: d.purpose || j.purpose }),
      () => j))));

    // (re)load the list; keepNotice: leave the status line (after an action)
    async function load(keepNotice) {
      const mine = ++loading;
      remember();
      if (!keepNotice) notice('');
      listBox.setAttribute('aria-busy', 'true');
      let data;
      try {
        data = await api.get('/jobs', { state: FILTERS[filter].state, limit: PAGE_SIZE, offset,
          include: 'remote' });
        data.jobs = bySubmission(await withDetails(data.jobs || []));
      } catch (e) {
        if (mine !== loading) return;
        clear(listBox).append(el('p', { class: 'form-error', role: 'alert' },
          `Your jobs could not be loaded: ${errorText(e)}`));
        listBox.setAttribute('aria-busy', 'false');
        return;
      }
      if (mine !== loading) return;
      if (!data.jobs.length && offset > 0) { // the last page emptied: one back
        offset = Math.max(0, offset - PAGE_SIZE);
        load(keepNotice);
        return;
      }
      const t = table({
        caption: `${FILTERS[filter].label} jobs`,
        columns,
        rows: data.jobs,
        empty: FILTERS[filter].empty,
        rowAttrs: (j) => (isRemote(j)
          ? { 'data-job': j.remote_id, 'data-remote': 'true', 'data-state': j.state }
          : { 'data-job': j.id, 'data-state': j.state }),
      });
      // the actions cell of each row, with its error line
      const trs = t.querySelectorAll('tbody tr[data-job]');
      data.jobs.forEach((j, i) => {
        const cell = trs[i].querySelector('td.row-actions');
        clear(cell).append(el('div', { class: 'actions' }, actions(j, trs[i])),
          el('p', { class: 'row-error', role: 'alert', hidden: true }));
      });
      const n = data.jobs.length;
      const total = data.total || 0;
      clear(listBox).append(t, pager({
        hasPrev: offset > 0,
        hasNext: data.next_offset !== null && data.next_offset !== undefined,
        onPrev: () => { offset = Math.max(0, offset - PAGE_SIZE); load(); },
        onNext: () => { offset = data.next_offset; load(); },
        label: n ? `${offset + 1}–${offset + n} of ${total}` : '',
      }));
      listBox.setAttribute('aria-busy', 'false');
    }

    clear(root).append(
      el('h1', { tabindex: '-1' }, 'My jobs'),
      el('p', { class: 'lead' }, 'Your print jobs. Held jobs wait until you release them here or at a printer.'),
      filterBar, listBox);
    load();
  },
};
