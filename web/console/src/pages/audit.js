// pages/audit.js: "Audit log" (#/admin/audit), the tenant admin console's
// record of who did what (docs/CONSOLE.md §1.4, §2): GET /audit with the
// filters action (exact), actor (a part of the name: "alice" finds
// alice@acme), from and to (UTC days, both included), newest first, 50
// entries a page, paged by next_before (the filters are kept in the URL,
// #/admin/audit?action=session-created).  Times in the viewer's zone
// (time()).  CSV export: GET /audit?...&format=csv through api.js, offered
// as a download.
import { currentTenant } from '../api.js';
import { el, clear, field, table, pager, time, errorText, formError, saveFile, notice } from '../ui.js';

const PAGE = 50;
const DAY_RE = /^\d{4}-\d\d-\d\d$/;

// actions nimbusd records, offered as suggestions (any text may be typed)
const KNOWN_ACTIONS = [
  'session-created', 'session-ended', 'panel.login', 'user-created', 'user-updated', 'user-deleted',
  'token-created', 'token-revoked', 'printer.create', 'printer.update', 'printer.claim-code',
  'queue-pricing-set', 'price-table-created', 'price-table-updated', 'price-table-deleted',
  'billing-updated', 'billing-account-created', 'billing-account-updated', 'billing-account-topup',
  'billing-account-closed', 'purpose-created', 'purpose-updated', 'purpose-deleted',
  'job.deleted', 'job.pin-wrong', 'job.pin-locked', 'job.pin-unlock', 'job.pin-override',
];

export default {
  path: '/admin/audit',
  title: 'Audit log',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    const { api, session } = ctx;
    const p = ctx.params;
    const action = field({ label: 'Action', name: 'action', value: p.action || '',
      hint: 'The exact action, for example session-created; empty: every action.' });
    const listId = 'audit-actions';
    action.input.setAttribute('list', listId);
    action.input.setAttribute('autocomplete', 'off');
    const actor = field({ label: 'Actor', name: 'actor', value: p.actor || '',
      hint: 'Who did it, or a part of the name (alice finds alice@acme).' });
    const from = field({ label: 'From', name: 'from', type: 'date', value: DAY_RE.test(p.from || '') ? p.from : '',
      hint: 'First day included (UTC).' });
    const to = field({ label: 'To', name: 'to', type: 'date', value: DAY_RE.test(p.to || '') ? p.to : '',
      hint: 'Last day included (UTC).' });
    const exportButton = el('button', { type: 'button', class: 'secondary', id: 'audit-export' }, 'Export (CSV)');
    const form = el('form', { class: 'audit-form', id: 'audit-form', novalidate: true },
      el('datalist', { id: listId }, KNOWN_ACTIONS.map((a) => el('option', { value: a }))),
      el('div', { class: 'field-row' }, action.row, actor.row, from.row, to.row),
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'audit-show' }, 'Show'),
        el('button', { type: 'button', class: 'secondary', id: 'audit-clear', onclick: () => {
          for (const f of [action, actor, from, to]) f.input.value = '';
          load();
        } }, 'Clear filters'),
        exportButton));
    const listBox = el('section', { id: 'audit-list', 'aria-busy': 'true', 'aria-label': 'Entries' });

    // the form's filters, or null when a date is wrong (said under it)
    const filters = () => {
      formError(form, null);
      const q = { action: action.input.value.trim(), actor: actor.input.value.trim(),
        from: from.input.value, to: to.input.value };
      if (q.from && q.to && q.to < q.from) {
        to.setError('The last day is before the first day.');
        to.input.focus();
        return null;
      }
      return q;
    };
    // an ApiError under the filter it names (?action, ?actor, ?from, ?to)
    const showError = (err) => {
      const d = errorText(err);
      const f = { action, actor, from, to }[(/\?(action|actor|from|to)\b/.exec(d) || [])[1]];
      if (f) f.setError(d);
      else formError(form, err);
    };

    let stack = []; // the `before` of each page after the first
    let loading = 0;
    async function loadPage(q, before) {
      const mine = ++loading;
      listBox.setAttribute('aria-busy', 'true');
      let r;
      try {
        r = await api.get('/audit', Object.assign({}, q, { before, limit: PAGE }));
      } catch (e) {
        if (mine !== loading) return;
        showError(e);
        clear(listBox).append(el('p', { class: 'form-error', role: 'alert' },
          `The audit log could not be loaded: ${errorText(e)}`));
        listBox.setAttribute('aria-busy', 'false');
        return;
      }
      if (mine !== loading) return;
      const entries = r.entries || [];
      const first = stack.length * PAGE + 1;
      clear(listBox).append(table({
        caption: 'Audit entries, newest first',
        columns: [
          { label: 'Time', value: (e) => el('time', { datetime: e.time }, time(e.time)) },
          { label: 'Actor', value: (e) => e.actor || '—' },
          { label: 'Action', value: (e) => el('code', { class: 'audit-action' }, e.action) },
          { label: 'Detail', value: (e) => e.detail || '' },
        ],
        rows: entries,
        empty: 'No entries match these filters.',
        rowAttrs: (e) => ({ 'data-entry': e.id, 'data-action': e.action }),
      }), pager({
        hasPrev: stack.length > 0,
        hasNext: r.next_before !== null && r.next_before !== undefined,
        onPrev: () => { stack.pop(); loadPage(q, stack.length ? stack[stack.length - 1] : null); },
        onNext: () => { stack.push(r.next_before); loadPage(q, r.next_before); },
        label: entries.length ? `Entries ${first}–${first + entries.length - 1}` : '',
      }));
      listBox.setAttribute('aria-busy', 'false');
    }

    // the filters into the URL, then the first page
    function load() {
      const q = filters();
      if (!q) return;
      const u = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v) u.set(k, v);
      history.replaceState(null, '', `#/admin/audit${u.toString() ? `?${u}` : ''}`);
      stack = [];
      loadPage(q, null);
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      load();
    });
    exportButton.addEventListener('click', async () => {
      const q = filters();
      if (!q) return;
      exportButton.disabled = true;
      try {
        saveFile(await api.getText('/audit', Object.assign({}, q, { format: 'csv' })), 'audit.csv');
        notice('audit.csv was downloaded.', 'ok');
      } catch (e) {
        showError(e);
        notice(`The export failed: ${errorText(e)}`, 'error');
      } finally {
        exportButton.disabled = false;
      }
    });

    clear(root).append(el('h1', { tabindex: '-1' }, 'Audit log'),
      el('p', { class: 'lead' }, 'Who did what in this organisation, newest first: sign-ins, changes ' +
        'to users, printers, prices and accounts, jobs released on someone\'s behalf.'));
    if (session.role === 'operator' && !currentTenant()) {
      root.append(el('p', { class: 'form-error', role: 'alert', id: 'pick-tenant' },
        'Pick a tenant with the Tenant picker at the top to see its audit log.'));
      return;
    }
    root.append(form, listBox);
    load();
  },
};
