// pages/accounts.js: "Billing accounts" (#/admin/accounts), the tenant's
// billing accounts and their balances (docs/CONSOLE.md §2 "Billing accounts",
// docs/BILLING.md).  GET /billing-accounts?closed=1 (20 a page, paged
// here), GET /billing (the currency) and GET /ledger/balances (whether the
// books balance).  Create (POST /billing-accounts), edit (PATCH: name,
// who may charge it, printers restriction, credit limit), close (PATCH
// {closed: true}, final, after a confirm dialog), top up a prepaid one
// (POST .../topup {amount, memo}), and grant or revoke users and printers
// (PUT / DELETE .../users/{user} and .../printers/{printer}).  Amounts are
// typed in major units and sent as integer minor units (parseMoney);
// shown through money().
import { el, clear, append, table, notice, time, money, confirmAction, errorText, field } from '../ui.js';
import { needTenant, loadFailed, form, act, actionsCell, paged, minorToText } from './admin-lib.js';

const MODES = [
  { value: 'prepaid', label: 'Prepaid: a balance you top up' },
  { value: 'invoiced', label: 'Invoiced: charges accrue, to invoice' },
];

export default {
  path: '/admin/accounts',
  title: 'Billing accounts',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (needTenant(root, ctx, 'Billing accounts')) return;
    const { api } = ctx;
    let accounts = [];
    let currency = '';
    let offset = 0;
    const listBox = el('div', { id: 'accounts-list', 'aria-busy': 'true' });
    const booksLine = el('p', { class: 'hint', id: 'books' });
    const panel = el('section', { id: 'account-panel', 'aria-label': 'Billing account' });
    const cur = () => currency || 'EUR';

    // the money figures of an account, in words
    const figures = (a) => {
      if (a.mode === 'prepaid') return `Balance ${money(a.balance, a.currency)}`;
      return `Charged ${money(a.charged, a.currency)}`;
    };
    const available = (a) => (a.available === null || a.available === undefined ? 'No limit'
      : money(a.available, a.currency));

    // the create / edit form: a null creates an account
    function showEditor(a) {
      const f = form({
        id: 'account-form',
        title: a ? `Edit account ${a.code}` : 'Create a billing account',
        fields: [
          a ? null : { label: 'Code', name: 'code', required: true, autocomplete: 'off',
            hint: '1 to 32 of A-Z a-z 0-9 . _ -, what people and PCs name it (job-account-id).' },
          { label: 'Name', name: 'name', required: true, value: a ? a.name : '' },
          a ? null : { label: 'Mode', name: 'mode', type: 'select', options: MODES, value: 'prepaid' },
          { label: 'Everyone in the tenant may charge it', name: 'everyone', checkbox: true,
            value: a ? a.everyone : false, hint: 'Unticked: only the users granted below.' },
          { label: 'Only on the printers granted', name: 'restrict_printers', checkbox: true,
            value: a ? a.restrict_printers : false },
          !a || a.mode === 'invoiced' ? { label: `Credit limit (${cur()})`, name: 'credit_limit', money: true,
            currency: cur, value: a && a.credit_limit ? minorToText(a.credit_limit, a.currency) : '',
            hint: 'Invoiced accounts only; empty or 0: no limit.' } : null,
        ].filter(Boolean),
        submit: a ? 'Save account' : 'Create account',
        onCancel: a ? () => showEditor(null) : null,
        onSubmit: async (v) => {
          const body = { name: v.name, everyone: v.everyone, restrict_printers: v.restrict_printers };
          const mode = a ? a.mode : v.mode;
          if (mode === 'invoiced' && v.credit_limit !== undefined) body.credit_limit = v.credit_limit || 0;
          if (a) {
            await api.patch(`/billing-accounts/${encodeURIComponent(a.code)}`, body);
            notice(`Account ${a.code} was saved.`, 'ok');
          } else {
            body.code = v.code;
            body.mode = v.mode;
            await api.post('/billing-accounts', body);
            notice(`Account ${v.code} was created.`, 'ok');
          }
          showEditor(null);
          await load();
        },
      });
      clear(panel).append(f.node);
      if (a) f.node.querySelector('input, select').focus();
    }
    // top up (or take back, negative) a prepaid account
    function showTopup(a) {
      const f = form({
        id: 'topup-form',
        title: `Top up ${a.code} (${a.name})`,
        intro: `Balance now ${money(a.balance, a.currency)}. A negative amount takes money back.`,
        fields: [
          { label: `Amount (${a.currency})`, name: 'amount', required: true, money: true, negative: true,
            currency: () => a.currency, inputmode: 'decimal' },
          { label: 'Memo', name: 'memo', hint: 'Optional: what the top-up is (a receipt number).' },
        ],
        submit: 'Top up',
        onCancel: () => showEditor(null),
        onSubmit: async (v) => {
          if (!v.amount) throw new Error('The amount must not be zero.');
          const body = { amount: v.amount };
          if (v.memo) body.memo = v.memo;
          const r = await api.post(`/billing-accounts/${encodeURIComponent(a.code)}/topup`, body);
          notice(`${a.code} was topped up: balance ${money(r.balance, r.currency)}.`, 'ok');
          showEditor(null);
          await load();
        },
      });
      clear(panel).append(f.node);
      f.inputs.amount.focus();
    }

    // who may charge the account, and on which printers
    async function showAccess(a) {
      const box = el('div', { class: 'access' }, el('h2', { tabindex: '-1' }, `Access to ${a.code} (${a.name})`),
        el('p', { 'aria-busy': 'true' }, 'Loading…'));
      clear(panel).append(box);
      let detail;
      let users;
      let printers;
      try {
        [detail, users, printers] = await Promise.all([
          api.get(`/billing-accounts/${encodeURIComponent(a.code)}`), api.get('/users'), api.get('/printers')]);
      } catch (e) {
        box.lastChild.replaceWith(el('p', { class: 'form-error', role: 'alert' },
          `The account's access could not be loaded: ${errorText(e)}`));
        return;
      }
      const reload = () => showAccess(a);
      // one list (users or printers) with Revoke, and a Grant form
      const grantList = (kind, label, granted, all, note) => {
        const rows = granted.map((n) => {
          const tr = el('li', { 'data-grant': `${kind}:${n}` }, el('span', null, n), ' ',
            el('button', { type: 'button', class: 'secondary revoke', 'aria-label': `Revoke ${n}` }, 'Revoke'),
            el('p', { class: 'row-error', role: 'alert', hidden: true }));
          tr.querySelector('button').addEventListener('click', () => act(tr,
            () => api.del(`/billing-accounts/${encodeURIComponent(a.code)}/${kind}/${encodeURIComponent(n)}`),
            () => `${n} was revoked from ${a.code}.`, reload));
          return tr;
        });
        const left = all.filter((n) => !granted.includes(n));
        const pick = field({ label: `Grant a ${label}`, name: `grant-${kind}`, type: 'select',
          options: left.length ? left : [{ value: '', label: `(every ${label} is granted)` }] });
        const grant = el('form', { class: 'grant', 'data-kind': kind },
          pick.row, el('button', { type: 'submit', disabled: !left.length }, 'Grant'));
        grant.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          pick.setError('');
          try {
            await api.put(`/billing-accounts/${encodeURIComponent(a.code)}/${kind}/${encodeURIComponent(pick.input.value)}`);
            notice(`${pick.input.value} was granted ${a.code}.`, 'ok');
            await reload();
          } catch (e) {
            pick.setError(errorText(e));
          }
        });
        return el('div', { class: 'grants', id: `grants-${kind}` }, el('h3', null, `${label[0].toUpperCase()}${label.slice(1)}s`),
          note ? el('p', { class: 'hint' }, note) : null,
          rows.length ? el('ul', null, rows) : el('p', null, `No ${label}s are granted.`), grant);
      };
      box.lastChild.replaceWith(el('div', null,
        grantList('users', 'user', detail.users || [], (users.users || []).map((u) => u.name),
          a.everyone ? 'Everyone in the tenant may charge this account; grants matter once that is unticked.' : null),
        grantList('printers', 'printer', detail.printers || [], (printers.printers || []).map((p) => p.name),
          a.restrict_printers ? null : 'Its jobs may print anywhere; grants matter once "Only on the printers ' +
            'granted" is ticked.'),
        el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', onclick: () => showEditor(null) },
          'Done'))));
      panel.querySelector('h2').focus();
    }

    function draw() {
      const { rows, pagerNode } = paged(accounts, offset, (o) => { offset = o; draw(); });
      const t = table({
        caption: 'Billing accounts of the tenant',
        columns: [
          { label: 'Code', value: (a) => el('span', { class: 'account-code' }, a.code) },
          { label: 'Name', value: (a) => a.name },
          { label: 'Mode', value: (a) => (a.mode === 'prepaid' ? 'Prepaid' : 'Invoiced') },
          { label: 'Who', value: (a) => (a.everyone ? 'Everyone' : 'Users granted') +
            (a.restrict_printers ? '; granted printers only' : '') },
          { label: 'Balance / charged', class: 'num', value: (a) => el('span', { class: 'figure' }, figures(a)) },
          { label: 'Held', class: 'num', value: (a) => money(a.held, a.currency) },
          { label: 'Available', class: 'num', value: (a) => el('span', { class: 'available' }, available(a)) },
          { label: 'State', value: (a) => (a.closed ? `Closed ${time(a.closed_at)}` : 'Open') },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'The tenant has no billing accounts yet: create one below.',
        rowAttrs: (a) => ({ 'data-account': a.code, 'data-closed': String(!!a.closed) }),
      });
      const trs = t.querySelectorAll('tbody tr[data-account]');
      rows.forEach((a, i) => {
        const tr = trs[i];
        if (a.closed) { clear(tr.querySelector('td.row-actions')).append('Closed: history only.'); return; }
        clear(tr.querySelector('td.row-actions')).append(...actionsCell([
          el('button', { type: 'button', class: 'secondary edit', onclick: () => showEditor(a) }, 'Edit'),
          a.mode === 'prepaid' ? el('button', { type: 'button', class: 'topup', onclick: () => showTopup(a) }, 'Top up') : null,
          el('button', { type: 'button', class: 'secondary access', onclick: () => showAccess(a) }, 'Users and printers'),
          el('button', { type: 'button', class: 'danger close', onclick: () => act(tr, async () => {
            if (!(await confirmAction(`Close account ${a.code}? This is final: new jobs and releases are ` +
              'refused; jobs already released finish and are charged.', { confirm: 'Close account', cancel: 'Keep open' }))) {
              return false;
            }
            return api.patch(`/billing-accounts/${encodeURIComponent(a.code)}`, { closed: true });
          }, () => `Account ${a.code} was closed.`, load) }, 'Close'),
        ]));
      });
      append(clear(listBox), [t, pagerNode]);
      listBox.setAttribute('aria-busy', 'false');
    }

    async function load() {
      listBox.setAttribute('aria-busy', 'true');
      try {
        const [as, billing] = await Promise.all([api.get('/billing-accounts', { closed: 1 }), api.get('/billing')]);
        accounts = as.accounts || [];
        currency = (billing && billing.currency) || '';
      } catch (e) {
        loadFailed(listBox, 'the billing accounts of this tenant', e);
        panel.hidden = true;
        return false;
      }
      draw();
      api.get('/ledger/balances').then((b) => {
        const totals = Object.entries((b && b.totals) || {});
        booksLine.textContent = !totals.length ? 'The ledger has no entries yet.'
          : totals.every(([, v]) => v === 0) ? 'The ledger balances (every posting sums to zero).'
            : `The ledger does not balance: ${totals.map(([c, v]) => money(v, c)).join(', ')}.`;
      }, () => { booksLine.textContent = ''; });
      return true;
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Billing accounts'),
      el('p', { class: 'lead' }, 'Cost centres, clients and projects that jobs are billed to: prepaid ' +
        'balances and invoiced charges.'),
      el('p', { class: 'hint', id: 'currency-line' }),
      listBox, booksLine, panel);
    load().then((ok) => {
      root.querySelector('#currency-line').textContent = currency
        ? `Amounts are in ${currency}, the tenant's currency.`
        : 'The tenant has no currency yet: accounts need one (Billing settings).';
      if (ok) showEditor(null);
    });
  },
};
