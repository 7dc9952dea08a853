// pages/printers.js: "Printers" (#/admin/printers), the tenant's printer
// registrations (docs/CONSOLE.md §2 "Printers").  GET /printers (20 a page, paged
// here; refreshed every 15 s while the page is open, and by Refresh):
// online or offline, last contact (time()), registered / unclaimed /
// deregistered (deleted here), the printer's state and its state reasons
// in words (supplies such as toner-low), make and model, location, queues,
// pricing.  Create (POST /printers): its claim code as text and as the QR
// code of the answer's qr_svg, drawn as an <img> from a blob: URL; a new
// claim code (POST /printers/{name}/claim-code); edit location, price
// table and payment (PATCH); delete (DELETE, after a confirm dialog).
import { el, clear, append, table, notice, time, confirmAction, errorText } from '../ui.js';
import { needTenant, loadFailed, form, act, actionsCell, paged, copyButton } from './admin-lib.js';

const REFRESH_MS = 15000;
const STATE_WORDS = { idle: 'Idle', processing: 'Printing', stopped: 'Stopped' };
// printer-state-reasons in words (RFC 8011, PWG 5100.9); the severity
// suffix (-report, -warning, -error) is said after it
const REASON_WORDS = {
  'toner-low': 'Toner is low',
  'toner-empty': 'Toner is empty',
  'marker-supply-low': 'Ink or toner is low',
  'marker-supply-empty': 'Ink or toner is empty',
  'marker-waste-almost-full': 'Waste toner box is almost full',
  'marker-waste-full': 'Waste toner box is full',
  'media-low': 'Paper is low',
  'media-empty': 'Out of paper',
  'media-needed': 'Paper is needed',
  'media-jam': 'Paper jam',
  'door-open': 'A door is open',
  'cover-open': 'A cover is open',
  'input-tray-missing': 'A paper tray is missing',
  'output-area-full': 'The output tray is full',
  'output-area-almost-full': 'The output tray is almost full',
  'offline': 'Offline',
  'paused': 'Paused',
  'shutdown': 'Shut down',
  'connecting-to-device': 'Connecting to the printer',
  'spool-area-full': 'Its spool is full',
  'other': 'Another problem',
  'moving-to-paused': 'Pausing',
  'timed-out': 'Not answering',
};
const SEVERITY = { report: '', warning: ' (warning)', error: ' (error)' };

// one state reason in words: "toner-low-warning" → "Toner is low (warning)"
export function reasonWords(reason) {
  const m = /^(.*?)-(report|warning|error)$/.exec(reason);
  const base = m ? m[1] : reason;
  const words = REASON_WORDS[base] || (base.charAt(0).toUpperCase() + base.slice(1).replace(/-/g, ' '));
  return words + (m ? SEVERITY[m[2]] : '');
}

// the state column: state and reasons ("Idle; Toner is low (warning)")
function stateText(p) {
  if (!p.printer_state) return p.status === 'registered' ? 'Not reported yet' : '—';
  const reasons = (p.printer_state_reasons || []).filter((r) => r !== 'none').map(reasonWords);
  return [STATE_WORDS[p.printer_state] || p.printer_state, ...reasons].join('; ');
}

// the status column: registered / unclaimed / deregistered and online
function statusNode(p) {
  if (p.status === 'unclaimed') {
    return el('span', { class: 'status status-unclaimed' }, 'Unclaimed', el('br'),
      el('small', null, p.claim_expires_at ? `claim code until ${time(p.claim_expires_at)}` : 'no claim code'));
  }
  if (p.status === 'deregistered') return el('span', { class: 'status status-deregistered' }, 'Deregistered');
  return el('span', { class: `status ${p.online ? 'status-online' : 'status-offline'}`, 'data-online': String(!!p.online) },
    p.online ? 'Online' : 'Offline', el('br'), el('small', null, 'registered'));
}

// the QR code of an SVG text as an <img> (blob: URL; the CSP allows it)
function qrImage(svg, alt) {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  const img = el('img', { src: url, alt, class: 'qr', id: 'claim-qr', width: 200, height: 200 });
  img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  return img;
}

// deleted here since the page was loaded: shown as deregistered
const deregistered = [];

export default {
  path: '/admin/printers',
  title: 'Printers',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (needTenant(root, ctx, 'Printers')) return;
    const { api } = ctx;
    let printers = [];
    let queues = [];
    let tables = [];
    let offset = 0;
    const listBox = el('div', { id: 'printers-list', 'aria-busy': 'true' });
    const claimBox = el('section', { id: 'claim', 'aria-label': 'Claim code', hidden: true });
    const formBox = el('section', { id: 'printer-editor', 'aria-label': 'Printer editor' });

    // the claim code of printer p (an answer with claim_code and qr_svg)
    function showClaim(p) {
      const code = el('code', { id: 'claim-code' }, p.claim_code);
      claimBox.hidden = false;
      clear(claimBox).append(el('div', { class: 'secret-box' },
        el('h2', { tabindex: '-1' }, `Claim code of ${p.name}`),
        el('p', null, 'Register the printer with this code: scan the QR code at the printer, or run ',
          el('code', null, `nimbus-connector register --server ${window.location.origin} --claim ${p.claim_code}`),
          ` on its connector. It works once${p.claim_expires_at ? `, until ${time(p.claim_expires_at)}` : ''}, ` +
          'and is shown only now.'),
        el('div', { class: 'claim' }, p.qr_svg ? qrImage(p.qr_svg, `QR code of the claim code ${p.claim_code}`) : null,
          el('p', { class: 'secret' }, 'Claim code: ', code, ' ', copyButton(p.claim_code, code))),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'secondary', onclick: () => { claimBox.hidden = true; } }, 'Hide'))));
      claimBox.querySelector('h2').focus();
    }

    const tableOptions = () => [{ value: '', label: '(the queue\'s)' },
      ...tables.map((t) => ({ value: t.name, label: `${t.name} (${t.table.currency})` }))];
    const PAYMENTS = [{ value: '', label: '(the queue\'s)' }, { value: 'none', label: 'None' },
      { value: 'at-printer', label: 'At the printer' }];

    // the editor: p null creates a printer, else edits p
    function showEditor(p) {
      const fields = p ? [
        { label: 'Location', name: 'location', value: p.location || '', hint: 'Where it stands, shown to PCs.' },
        { label: 'Price table', name: 'price_table', type: 'select', options: tableOptions(),
          value: (p.pricing && p.pricing.price_table) || '', hint: 'A printer\'s own table wins over its queue\'s.' },
        { label: 'Payment', name: 'payment', type: 'select', options: PAYMENTS,
          value: (p.pricing && p.pricing.payment) || '' },
      ] : [
        { label: 'Name', name: 'name', required: true, autocomplete: 'off', hint: 'Letters, digits, . _ -' },
        { label: 'Location', name: 'location', hint: 'Where it stands (optional).' },
      ];
      const f = form({
        id: 'printer-form',
        title: p ? `Edit printer ${p.name}` : 'Add a printer',
        intro: p ? null : 'Adding a printer gives a claim code; the printer (or its connector) claims ' +
          'its registration with it.',
        fields,
        submit: p ? 'Save printer' : 'Add printer',
        onCancel: p ? () => showEditor(null) : null,
        onSubmit: async (v, node) => {
          if (p) {
            await api.patch(`/printers/${encodeURIComponent(p.name)}`, {
              location: v.location, price_table: v.price_table || null, payment: v.payment || null,
            });
            notice(`Printer ${p.name} was saved.`, 'ok');
          } else {
            const chosen = [...node.querySelectorAll('input[name="queues"]:checked')].map((x) => x.value);
            const body = { name: v.name, queues: chosen };
            if (v.location) body.location = v.location;
            const made = await api.post('/printers', body);
            notice(`Printer ${made.name} was added: claim it with its code.`, 'ok');
            showClaim(made);
          }
          showEditor(null);
          await load();
        },
      });
      if (!p) { // the queues it serves: checkboxes in a fieldset
        const boxes = queues.map((q, i) => el('div', { class: 'field-check' },
          el('input', { type: 'checkbox', name: 'queues', value: q.name, id: `printer-queue-${i}`, checked: i === 0 }),
          el('label', { for: `printer-queue-${i}` }, q.name)));
        const set = el('fieldset', { class: 'field', 'data-name': 'queues' },
          el('legend', null, 'Queues it prints'), boxes.length ? boxes : el('p', { class: 'hint' },
            'The tenant has no queues: create one on the Queues page first.'),
          el('p', { class: 'field-error', hidden: true }));
        f.node.querySelector('.actions').before(set);
      }
      clear(formBox).append(f.node);
      if (p) f.node.querySelector('input, select').focus();
    }

    function draw() {
      const all = printers.concat(deregistered.filter((d) => !printers.some((p) => p.name === d.name)));
      const { rows, pagerNode } = paged(all, offset, (o) => { offset = o; draw(); });
      const t = table({
        caption: 'Printers of the tenant',
        columns: [
          { label: 'Name', value: (p) => el('span', { class: 'printer-name' }, p.name) },
          { label: 'Status', value: statusNode },
          { label: 'Last contact', value: (p) => (p.last_seen_at ? time(p.last_seen_at) : 'Never') },
          { label: 'State', value: (p) => el('span', { class: 'printer-state' }, stateText(p)) },
          { label: 'Make and model', value: (p) => p.make_and_model || '—' },
          { label: 'Location', value: (p) => p.location || '—' },
          { label: 'Queues', value: (p) => (p.queues || []).join(', ') },
          { label: 'Pricing', value: (p) => (p.pricing && (p.pricing.price_table || p.pricing.payment)
            ? [p.pricing.price_table || '(queue\'s table)', p.pricing.payment ? `, payment ${p.pricing.payment}` : ''].join('')
            : 'The queue\'s') },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'The tenant has no printers yet: add one below.',
        rowAttrs: (p) => ({ 'data-printer': p.name, 'data-status': p.status }),
      });
      const trs = t.querySelectorAll('tbody tr[data-printer]');
      rows.forEach((p, i) => {
        const tr = trs[i];
        if (p.status === 'deregistered') {
          clear(tr.querySelector('td.row-actions')).append('Deleted: its connector is told so at its next contact.');
          return;
        }
        clear(tr.querySelector('td.row-actions')).append(...actionsCell([
          el('button', { type: 'button', class: 'secondary edit', onclick: () => showEditor(p) }, 'Edit'),
          el('button', { type: 'button', class: 'secondary claim-code', onclick: () => act(tr, async () => {
            if (p.status === 'registered' && !(await confirmAction(`A new claim code for ${p.name}? The printer ` +
              'keeps working until the new code is claimed, which replaces its registration.',
            { confirm: 'New claim code' }))) return false;
            const r = await api.post(`/printers/${encodeURIComponent(p.name)}/claim-code`);
            showClaim(r);
            return r;
          }, () => `${p.name} has a new claim code.`, load) }, 'New claim code'),
          el('button', { type: 'button', class: 'danger delete', onclick: () => act(tr, async () => {
            if (!(await confirmAction(`Delete printer ${p.name}? It is deregistered and prints nothing more; ` +
              'jobs it was printing are offered again.', { confirm: 'Delete printer', cancel: 'Keep' }))) return false;
            await api.del(`/printers/${encodeURIComponent(p.name)}`);
            deregistered.push(Object.assign({}, p, { status: 'deregistered', online: false }));
            return true;
          }, () => `Printer ${p.name} was deleted (deregistered).`, load) }, 'Delete'),
        ]));
      });
      append(clear(listBox), [t, pagerNode]);
      listBox.setAttribute('aria-busy', 'false');
    }

    let timer = null;
    async function load() {
      clearTimeout(timer);
      listBox.setAttribute('aria-busy', 'true');
      try {
        const [ps, qs, ts] = await Promise.all([api.get('/printers'), api.get('/queues'), api.get('/price-tables')]);
        printers = ps.printers || [];
        queues = qs.queues || [];
        tables = ts.price_tables || [];
      } catch (e) {
        if (!root.isConnected || !listBox.isConnected) return;
        loadFailed(listBox, 'the printers of this tenant', e);
        formBox.hidden = true;
        return;
      }
      if (!listBox.isConnected) return; // another page was opened meanwhile
      draw();
      // keep online / offline current while this page is shown
      timer = setTimeout(() => { if (listBox.isConnected) load().catch((e) => notice(errorText(e), 'error')); },
        REFRESH_MS);
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Printers'),
      el('p', { class: 'lead' }, 'The printers of this tenant, whether nimbusd hears from them, and ' +
        'what they report.'),
      el('div', { class: 'filters' }, el('button', { type: 'button', class: 'secondary refresh', onclick: () => load() },
        'Refresh')),
      listBox, claimBox, formBox);
    load().then(() => { if (!formBox.hidden) showEditor(null); });
  },
};
