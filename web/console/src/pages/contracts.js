// pages/contracts.js: "Contracts" (#/admin/contracts), the service
// contracts that provision a customer's printers and cloud services
// (docs/PROVISIONING.md, docs/CONSOLE.md §2 "Contracts"):
//  - the list: GET /contracts?canceled=true (the operator's picked
//    tenant; an admin's list holds its own tenant's contracts and its
//    customers', narrowed here to the customer typed in "Customer
//    tenant"), each with its customer, term, printers, revision and
//    status in words;
//  - one contract (#/admin/contracts?id=N): its term, printers, items,
//    service settings, then every run (GET /contracts/{id}/runs, GET
//    /runs/{id}) with each printer's steps: the step, its state in words,
//    attempts, reason, sent and finished times; refreshed every 10 s
//    while a run is running (or an active contract has none yet);
//  - create: a structured form for the name, term and printers, and a
//    JSON textarea for the items and service settings (the fields win
//    over the same members of the JSON); renew (POST /contracts/{id}/renew
//    with a new end and, optionally, new items); cancel (DELETE, asked
//    first).
// Who writes: the operator and a dealer's admins (docs/PROVISIONING.md
// §2). A tenant admin looking at their own tenant's contracts is the
// customer: the page is read-only for them (the server refuses writes
// anyway; the page does not offer them).
import { el, clear, append, field, table, notice, time, confirmAction, errorText } from '../ui.js';
import { currentTenant } from '../api.js';
import { loadFailed } from './admin-lib.js';

const REFRESH_MS = 10000;

// a contract's status in words
export const STATUS_WORDS = {
  scheduled: 'Scheduled (not started yet)',
  active: 'Active',
  ended: 'Ended',
  canceled: 'Canceled',
};
// a run's state in words
export const RUN_WORDS = {
  running: 'Running',
  done: 'Done',
  partial: 'Partly done: a printer failed',
  'nothing-to-do': 'Nothing to do',
};
// a step's state in words
export const STEP_WORDS = {
  planned: 'Waiting',
  blocked: 'Blocked by an earlier failed step',
  sent: 'Sent to the printer',
  confirmed: 'Done',
  failed: 'Failed',
  skipped: 'Skipped',
};
// a step's kind in words
const KIND_WORDS = {
  settings: 'Settings',
  firmware: 'Firmware',
  application: 'Application',
  backup: 'Data backup',
  consumables: 'Consumables auto-delivery',
  parts_life: 'Parts-life alerts',
};

const words = (map, key) => map[key] || (key ? String(key) : '—');

// the printers a contract covers, in words
function printersText(p) {
  if (p === 'all' || p === undefined || p === null) return 'All printers of the tenant';
  return Array.isArray(p) && p.length ? p.join(', ') : '—';
}

// the customer tenant the page acts on: the operator's picked tenant, else
// the one typed in the customer field (a dealer), else '' (one's own)
function customerOf(ctx) {
  if (ctx.session.role === 'operator') return currentTenant();
  return ctx.params.customer || '';
}

// whether the signed-in person may write contracts of that customer
function mayWrite(ctx, customer) {
  if (ctx.session.role === 'operator') return !!customer;
  return !!customer && customer !== ctx.session.tenant;
}

// the hash of the page with the customer kept
function link(ctx, extra) {
  const q = new URLSearchParams();
  if (ctx.params.customer) q.set('customer', ctx.params.customer);
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
  const s = q.toString();
  return `#/admin/contracts${s ? `?${s}` : ''}`;
}

// a step as it is shown: a planned step behind a failed one is "blocked"
function stepState(s) {
  return s.blocked || s.state === 'blocked' ? 'blocked' : s.state;
}

// a run's steps per printer: [{printer, steps}] from either grouping the
// server sends ("printers": [{printer, steps}] or a flat "steps")
export function stepsByPrinter(run) {
  const groups = new Map();
  const add = (name, s) => {
    const key = name || '—';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  };
  for (const g of run.printers || []) {
    const name = typeof g.printer === 'object' && g.printer ? g.printer.name : (g.printer || g.name);
    for (const s of g.steps || []) add(name, s);
  }
  for (const s of run.steps || []) {
    add(typeof s.printer === 'object' && s.printer ? s.printer.name : (s.printer || s.device), s);
  }
  return [...groups.entries()].map(([printer, steps]) => ({
    printer, steps: steps.slice().sort((a, b) => (a.seq || 0) - (b.seq || 0)),
  }));
}

// one run: heading, note, and a table of steps per printer
function runSection(run) {
  const heading = `Run ${run.id}: ${run.kind === 'renewal' ? 'renewal' : run.kind || 'run'}, revision ${run.revision ?? '—'}`;
  const groups = stepsByPrinter(run);
  return el('section', { class: 'run', 'data-run-id': String(run.id), 'data-state': run.state },
    el('h3', null, heading),
    el('p', null, el('span', { class: `status run-state run-${run.state}` }, words(RUN_WORDS, run.state)),
      ` · started ${time(run.created_at) || '—'}`,
      run.finished_at ? ` · finished ${time(run.finished_at)}` : ''),
    run.note ? el('p', { class: 'hint run-note' }, run.note) : null,
    groups.length ? groups.map((g) => table({
      caption: `Steps on printer ${g.printer}`,
      rows: g.steps,
      rowAttrs: (s) => ({ 'data-step-id': String(s.id), 'data-printer': g.printer, 'data-state': stepState(s) }),
      columns: [
        { label: 'Order', value: (s) => String(s.seq ?? '') },
        { label: 'Step', value: (s) => words(KIND_WORDS, s.kind) },
        { label: 'Item', value: (s) => s.item_name || s.name || '—' },
        { label: 'State', value: (s) => el('span', { class: `status step-${stepState(s)}` }, words(STEP_WORDS, stepState(s))) },
        { label: 'Attempts', value: (s) => String(s.attempts ?? 0) },
        { label: 'Reason', value: (s) => s.reason || '' },
        { label: 'Sent', value: (s) => (s.sent_at ? time(s.sent_at) : '—') },
        { label: 'Finished', value: (s) => (s.finished_at ? time(s.finished_at) : '—') },
      ],
    })) : el('p', null, 'No steps: nothing had to be applied.'));
}

// the service settings as a list: one line per service and setting
function settingsList(settings) {
  const names = Object.keys(settings || {});
  if (!names.length) return el('p', null, 'No service settings.');
  return el('dl', { class: 'facts', id: 'contract-settings' }, names.map((svc) => [
    el('dt', null, words(KIND_WORDS, svc)),
    el('dd', null, Object.entries(settings[svc] || {}).map(([k, v]) =>
      el('div', null, `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`))),
  ]));
}

// the renew form of a contract: a new end, new items (JSON, optional)
function renewForm(ctx, c, reload) {
  const end = field({ label: 'New end of the term', name: 'end_at', required: true,
    value: c.end_at, hint: 'RFC 3339 in UTC, for example 2028-12-31T23:59:59Z' });
  const items = field({ label: 'New items (JSON array; empty: keep the items)', name: 'items',
    type: 'textarea', hint: 'Only what is missing on the printers is applied.' });
  const button = el('button', { type: 'submit', id: 'contract-renew' }, 'Renew');
  const form = el('form', { id: 'renew-form', class: 'admin-form', novalidate: true },
    el('h2', null, 'Renew'), el('p', { class: 'form-error', role: 'alert', hidden: true }),
    end.row, items.row, el('div', { class: 'actions' }, button));
  const top = form.querySelector('.form-error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    end.setError(''); items.setError(''); top.hidden = true;
    const body = { end_at: end.input.value.trim() };
    if (!body.end_at) { end.setError('Type the new end of the term.'); end.input.focus(); return; }
    if (items.input.value.trim()) {
      try {
        body.items = JSON.parse(items.input.value);
        if (!Array.isArray(body.items)) throw new Error('the items are a JSON array: [ … ]');
      } catch (e) {
        items.setError(`The items are not valid: ${e.message}.`);
        items.input.focus();
        return;
      }
    }
    button.disabled = true;
    try {
      await ctx.api.post(`/contracts/${c.id}/renew`, body);
      notice(`Contract ${c.name} renewed.`, 'ok');
      await reload();
    } catch (e) {
      const target = e.member === 'end_at' ? end : (e.member && e.member.startsWith('items') ? items : null);
      if (target) { target.setError(errorText(e)); target.input.focus(); }
      else { top.textContent = errorText(e); top.hidden = false; }
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// one contract: facts, items, settings, runs; writers get renew and cancel
function renderContract(root, ctx, id) {
  const customer = customerOf(ctx);
  const box = el('div', { id: 'contract', 'aria-busy': 'true' });
  let timer = null;
  clear(root).append(el('h1', { tabindex: '-1', id: 'contract-title' }, `Contract ${id}`),
    el('p', null, el('a', { href: link(ctx) }, 'All contracts')), box);

  const load = async () => {
    clearTimeout(timer);
    let c;
    let runs;
    try {
      c = await ctx.api.get(`/contracts/${encodeURIComponent(id)}`);
      const list = await ctx.api.get(`/contracts/${encodeURIComponent(id)}/runs`);
      runs = await Promise.all(((list && list.runs) || []).map((r) =>
        ctx.api.get(`/runs/${r.id}`).catch(() => r)));
    } catch (e) {
      loadFailed(box, 'contract', e);
      return;
    }
    if (!box.isConnected) return;
    document.getElementById('contract-title').textContent = `Contract ${c.name}`;
    const writable = mayWrite(ctx, customer || c.tenant) && c.status !== 'canceled' &&
      (ctx.session.role === 'operator' || c.tenant !== ctx.session.tenant);
    const cancel = el('button', { type: 'button', class: 'danger', id: 'contract-cancel' }, 'Cancel the contract');
    cancel.addEventListener('click', async () => {
      if (!(await confirmAction(`Cancel contract ${c.name}? It starts no new runs and its cloud services stop; ` +
        'what it applied stays on the printers.', { confirm: 'Cancel the contract', cancel: 'Keep it' }))) return;
      cancel.disabled = true;
      try {
        await ctx.api.del(`/contracts/${c.id}`);
        notice(`Contract ${c.name} canceled.`, 'ok');
        await load();
      } catch (e) {
        notice(errorText(e), 'error');
        cancel.disabled = false;
      }
    });
    box.setAttribute('aria-busy', 'false');
    append(clear(box), [
      el('dl', { class: 'facts', id: 'contract-facts' },
        el('dt', null, 'Customer'), el('dd', null, c.tenant || customer || '—'),
        el('dt', null, 'Status'), el('dd', { id: 'contract-status', 'data-status': c.status }, words(STATUS_WORDS, c.status)),
        el('dt', null, 'Term'), el('dd', null, `${time(c.start_at) || '—'} to ${time(c.end_at) || '—'}`),
        el('dt', null, 'Printers'), el('dd', null, printersText(c.printers)),
        el('dt', null, 'Revision'), el('dd', null, String(c.revision ?? '—')),
        c.external_id ? [el('dt', null, 'External id'), el('dd', null, c.external_id)] : null),
      el('h2', null, 'Items'),
      table({
        caption: 'What the contract applies',
        rows: c.items || [],
        empty: 'No items.',
        columns: [
          { label: 'Kind', value: (i) => words(KIND_WORDS, i.kind) },
          { label: 'Name', value: (i) => i.name || '—' },
          { label: 'Version', value: (i) => i.version || '—' },
          { label: 'Settings', value: (i) => (i.values ? Object.entries(i.values).map(([k, v]) => `${k} = ${v}`).join('; ') : '—') },
        ],
      }),
      el('h2', null, 'Service settings'), settingsList(c.service_settings),
      el('h2', null, 'Runs'),
      el('div', { id: 'contract-runs' }, runs.length
        ? runs.slice().sort((a, b) => b.id - a.id).map(runSection)
        : el('p', null, c.status === 'scheduled' ? 'No runs yet: the contract starts at the start of its term.' : 'No runs yet.')),
      writable ? [renewForm(ctx, c, load), el('div', { class: 'actions' }, cancel)] : null]);
    // while a run runs, or an active contract waits for the sweep's run
    if (runs.some((r) => r.state === 'running') || (!runs.length && c.status === 'active')) {
      timer = setTimeout(() => { if (box.isConnected) load(); }, REFRESH_MS);
    }
  };
  load();
}

// a contract body from the structured fields and the JSON textarea; throws
// {field, message} for the field that is wrong
function contractBody(f, customer) {
  let doc = {};
  const text = f.json.input.value.trim();
  if (text) {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw { field: f.json, message: `This is not valid JSON: ${e.message}.` };
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      throw { field: f.json, message: 'The contract is a JSON object: { … }.' };
    }
  }
  const name = f.name.input.value.trim();
  if (name) doc.name = name;
  if (!doc.name) throw { field: f.name, message: 'Type the contract\'s name.' };
  for (const k of ['start_at', 'end_at']) {
    const v = f[k].input.value.trim();
    if (v) doc[k] = v;
    if (!doc[k]) throw { field: f[k], message: 'Type a time such as 2027-01-01T00:00:00Z.' };
  }
  const printers = f.printers.input.value.trim();
  if (printers) {
    doc.printers = printers === 'all' ? 'all' : printers.split(',').map((p) => p.trim()).filter(Boolean);
  }
  if (!doc.printers) doc.printers = 'all';
  if (customer) doc.tenant = customer;
  if (!doc.items) doc.items = [];
  return doc;
}

const SAMPLE = JSON.stringify({
  service_settings: {
    backup: { period: 'daily', time: '02:30', mode: 'full', retention: 7 },
  },
  items: [
    { kind: 'settings', name: 'office-defaults', values: { 'sides-default': 'two-sided-long-edge' } },
    { kind: 'backup' },
  ],
}, null, 2);

// the create form: structured name, term, printers; JSON for the rest
function createForm(ctx, customer, reload) {
  const f = {
    name: field({ label: 'Name', name: 'name', required: true, hint: 'Lower case letters, digits, . _ -' }),
    start_at: field({ label: 'Start of the term', name: 'start_at', required: true,
      value: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), hint: 'RFC 3339 in UTC, for example 2027-01-01T00:00:00Z' }),
    end_at: field({ label: 'End of the term', name: 'end_at', required: true,
      value: new Date(Date.now() + 365 * 86400000).toISOString().replace(/\.\d+Z$/, 'Z'), hint: 'RFC 3339 in UTC' }),
    printers: field({ label: 'Printers', name: 'printers', value: 'all',
      hint: '"all" (also printers registered later), or printer names separated by commas' }),
    json: field({ label: 'Items and service settings (JSON)', name: 'json', type: 'textarea', value: SAMPLE,
      hint: 'The contract\'s JSON (docs/PROVISIONING.md §1); the fields above replace its name, term and printers.' }),
  };
  f.json.input.rows = 14;
  f.json.input.classList.add('code');
  const button = el('button', { type: 'submit', id: 'contract-create' }, 'Create the contract');
  const top = el('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = el('form', { id: 'contract-form', class: 'admin-form', novalidate: true },
    el('h2', null, `New contract for ${customer}`), top,
    Object.values(f).map((x) => x.row), el('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const x of Object.values(f)) x.setError('');
    top.hidden = true;
    let body;
    try {
      body = contractBody(f, customer);
    } catch (e) {
      e.field.setError(e.message);
      e.field.input.focus();
      return;
    }
    button.disabled = true;
    try {
      const c = await ctx.api.post('/contracts', body);
      notice(`Contract ${c.name} created.`, 'ok');
      window.location.hash = link(ctx, { id: c.id });
    } catch (e) {
      const m = (e.member || '').split(/[.[]/)[0];
      const target = { name: f.name, start_at: f.start_at, end_at: f.end_at, printers: f.printers }[m] ||
        (m ? f.json : null);
      if (target) { target.setError(errorText(e)); target.input.focus(); }
      else { top.textContent = errorText(e); top.hidden = false; }
      await reload();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// the list of contracts, and the create form for writers
function renderList(root, ctx) {
  const customer = customerOf(ctx);
  const box = el('div', { id: 'contracts-list', 'aria-busy': 'true' });
  const parts = [el('h1', { tabindex: '-1' }, 'Contracts'),
    el('p', { class: 'lead' }, 'Service contracts set up printers (settings, firmware, applications) and cloud ' +
      'services (backup, consumables, parts-life alerts) when they start or are renewed.')];
  if (ctx.session.role === 'operator' && !customer) {
    clear(root).append(...parts, el('p', { class: 'lead', id: 'pick-tenant' },
      'Pick a tenant in the Tenant list at the top of the page: this page shows that tenant\'s contracts.'));
    return;
  }
  if (ctx.session.role !== 'operator') {
    // a dealer's admin types the customer; empty: one's own tenant (read)
    const c = field({ label: 'Customer tenant', name: 'customer', value: ctx.params.customer || '',
      hint: 'Dealers: the customer whose contracts you manage. Empty: every contract you may see.' });
    const f = el('form', { id: 'customer-form', class: 'filters', novalidate: true }, c.row,
      el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Show')));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = c.input.value.trim();
      window.location.hash = `#/admin/contracts${v ? `?customer=${encodeURIComponent(v)}` : ''}`;
    });
    parts.push(f);
  }
  parts.push(box);
  const load = () => ctx.api.get('/contracts', { canceled: 'true' }).then((d) => {
    box.setAttribute('aria-busy', 'false');
    const rows = ((d && d.contracts) || []).filter((c) => !customer || c.tenant === customer);
    clear(box).append(table({
      caption: customer ? `Contracts of ${customer}` : 'Contracts you may see',
      empty: 'No contracts yet.',
      rows,
      rowAttrs: (c) => ({ 'data-contract-id': String(c.id), 'data-name': c.name, 'data-status': c.status }),
      columns: [
        { label: 'Name', value: (c) => el('a', { href: link(ctx, { id: c.id }) }, c.name) },
        { label: 'Customer', value: (c) => c.tenant || '—' },
        { label: 'Status', value: (c) => el('span', { class: `status status-${c.status}` }, words(STATUS_WORDS, c.status)) },
        { label: 'Start', value: (c) => time(c.start_at) },
        { label: 'End', value: (c) => time(c.end_at) },
        { label: 'Printers', value: (c) => printersText(c.printers) },
        { label: 'Revision', value: (c) => String(c.revision ?? '—') },
      ],
    }));
  }, (e) => loadFailed(box, 'contracts', e));
  if (mayWrite(ctx, customer)) parts.push(createForm(ctx, customer, load));
  else parts.push(el('p', { class: 'hint', id: 'contracts-read-only' },
    'You can read these contracts; the operator or your dealer changes them. ' +
    'A dealer types the customer above to add one.'));
  clear(root).append(...parts);
  load();
}

export default {
  path: '/admin/contracts',
  title: 'Contracts',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (ctx.params.id) renderContract(root, ctx, ctx.params.id);
    else renderList(root, ctx);
  },
};
