// pages/queues.js: "Queues" (#/admin/queues), the tenant's print queues
// (docs/CONSOLE.md §2 "Queues").  GET /queues (20 a page, paged here) and GET
// /price-tables for the pricing choice.  Create (POST /queues) and edit
// (PATCH /queues/{name}) with what api-queues.c takes: description,
// release immediately or hold, anonymous jobs, release scope, price table
// and payment mode (null unsets them); delete (DELETE, after a confirm
// dialog; nimbusd refuses while jobs are pending, said in the row).
import { el, clear, append, table, notice, confirmAction } from '../ui.js';
import { needTenant, loadFailed, form, act, actionsCell, paged, yesNo } from './admin-lib.js';

const SCOPES = [
  { value: 'this-printer', label: 'This printer: jobs sent through a printer show there' },
  { value: 'follow-me', label: 'Follow me: held jobs show at every printer' },
];
const PAYMENTS = [
  { value: '', label: 'Not set (free unless the printer asks)' },
  { value: 'none', label: 'None: the fee is shown, never asked for' },
  { value: 'at-printer', label: 'At the printer: paid before it prints' },
];
const paymentWords = (p) => (p === 'at-printer' ? 'At the printer' : p === 'none' ? 'None' : 'Not set');

export default {
  path: '/admin/queues',
  title: 'Queues',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (needTenant(root, ctx, 'Queues')) return;
    const { api } = ctx;
    let queues = [];
    let tables = [];
    let offset = 0;
    const listBox = el('div', { id: 'queues-list', 'aria-busy': 'true' });
    const formBox = el('section', { id: 'queue-editor', 'aria-label': 'Queue editor' });

    const tableOptions = () => [{ value: '', label: '(no price table)' },
      ...tables.map((t) => ({ value: t.name, label: `${t.name} (${t.table.currency})` }))];

    // the editor: q null creates a queue, else edits q
    function showEditor(q) {
      const f = form({
        id: 'queue-form',
        title: q ? `Edit queue ${q.name}` : 'Create a queue',
        fields: [
          q ? null : { label: 'Name', name: 'name', required: true, autocomplete: 'off',
            hint: 'Letters, digits, . _ -; part of the printer URI, it cannot be changed later.' },
          { label: 'Description', name: 'description', value: q ? q.description : '' },
          { label: 'Print at once (no release needed)', name: 'release_immediately', checkbox: true,
            value: q && q.release_immediately,
            hint: 'Unticked: jobs are held until their owner releases them (pull printing).' },
          { label: 'Accept jobs without sign-in', name: 'allow_anonymous', checkbox: true,
            value: q && q.allow_anonymous },
          { label: 'Release scope', name: 'release_scope', type: 'select', options: SCOPES,
            value: q ? q.release_scope : 'this-printer' },
          { label: 'Price table', name: 'price_table', type: 'select', options: tableOptions(),
            value: q && q.pricing && q.pricing.price_table ? q.pricing.price_table : '' },
          { label: 'Payment', name: 'payment', type: 'select', options: PAYMENTS,
            value: q && q.pricing && q.pricing.payment ? q.pricing.payment : '' },
        ].filter(Boolean),
        submit: q ? 'Save queue' : 'Create queue',
        onCancel: q ? () => showEditor(null) : null,
        onSubmit: async (v) => {
          const body = {
            description: v.description,
            release_immediately: v.release_immediately,
            allow_anonymous: v.allow_anonymous,
            release_scope: v.release_scope,
            price_table: v.price_table || null,
            payment: v.payment || null,
          };
          if (q) {
            await api.patch(`/queues/${encodeURIComponent(q.name)}`, body);
            notice(`Queue ${q.name} was saved.`, 'ok');
          } else {
            body.name = v.name;
            if (!body.price_table) delete body.price_table;
            if (!body.payment) delete body.payment;
            await api.post('/queues', body);
            notice(`Queue ${v.name} was created.`, 'ok');
          }
          showEditor(null);
          await load();
        },
      });
      clear(formBox).append(f.node);
      if (q) f.node.querySelector('input, select').focus();
    }

    function draw() {
      const { rows, pagerNode } = paged(queues, offset, (o) => { offset = o; draw(); });
      const t = table({
        caption: 'Queues of the tenant',
        columns: [
          { label: 'Name', value: (q) => el('span', { class: 'queue-name' }, q.name) },
          { label: 'Description', value: (q) => q.description || '—' },
          { label: 'Jobs', value: (q) => (q.release_immediately ? 'Print at once' : 'Held until released') },
          { label: 'Anonymous', value: (q) => yesNo(q.allow_anonymous) },
          { label: 'Scope', value: (q) => (q.release_scope === 'follow-me' ? 'Follow me' : 'This printer') },
          { label: 'Price table', value: (q) => (q.pricing && q.pricing.price_table) || 'None' },
          { label: 'Payment', value: (q) => paymentWords(q.pricing && q.pricing.payment) },
          { label: 'Printer URI', value: (q) => el('code', { class: 'uri' }, q.printer_uri || '') },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'The tenant has no queues yet: create one below.',
        rowAttrs: (q) => ({ 'data-queue': q.name }),
      });
      const trs = t.querySelectorAll('tbody tr[data-queue]');
      rows.forEach((q, i) => {
        const tr = trs[i];
        clear(tr.querySelector('td.row-actions')).append(...actionsCell([
          el('button', { type: 'button', class: 'secondary edit', onclick: () => showEditor(q) }, 'Edit'),
          el('button', { type: 'button', class: 'danger delete', onclick: () => act(tr, async () => {
            if (!(await confirmAction(`Delete queue ${q.name}? Its finished jobs go with it.`,
              { confirm: 'Delete queue', cancel: 'Keep' }))) return false;
            return api.del(`/queues/${encodeURIComponent(q.name)}`);
          }, () => `Queue ${q.name} was deleted.`, load) }, 'Delete'),
        ]));
      });
      append(clear(listBox), [t, pagerNode]);
      listBox.setAttribute('aria-busy', 'false');
    }

    async function load() {
      listBox.setAttribute('aria-busy', 'true');
      try {
        const [qs, ts] = await Promise.all([api.get('/queues'), api.get('/price-tables')]);
        queues = qs.queues || [];
        tables = ts.price_tables || [];
      } catch (e) {
        loadFailed(listBox, 'the queues of this tenant', e);
        formBox.hidden = true;
        return;
      }
      draw();
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Queues'),
      el('p', { class: 'lead' }, 'Where people send their jobs: whether jobs wait to be released, ' +
        'which printers show them, and what they cost.'),
      listBox, formBox);
    load().then(() => { if (!formBox.hidden) showEditor(null); });
  },
};
