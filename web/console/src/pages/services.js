// pages/services.js: "Services" (#/admin/services), what the smart
// services of a tenant's contracts did (docs/PROVISIONING.md §10,
// docs/CONSOLE.md §2 "Services"):
//  - supply orders: GET /supply-orders, one per supply and episode, with
//    the printer, the supply, its level when ordered and whether the order
//    reached the dealer;
//  - part alerts: GET /part-alerts, a part reaching its alert threshold;
//  - a printer's backups (pick the printer; #/admin/services?printer=NAME):
//    GET /printers/{name}/backups, each with Download (the snapshot
//    resolved to full, saved as a JSON file) and Restore (POST
//    …/backups/{id}/restore, asked first: it starts a provisioning run of
//    kind restore, 202 {run}, whose one settings step puts the snapshot's
//    values back on the printer; the notice names the run).
// Orders and alerts name their printer ("printer"; older servers only
// printer_id).
// A part that failed to load says so in its own section; the others show.
import { el, clear, field, table, time, confirmAction, errorText, saveFile } from '../ui.js';
import { needTenant, loadFailed, act, actionsCell } from './admin-lib.js';

// an order's or alert's delivery state in words
const SENT_WORDS = {
  pending: 'Not sent yet (retrying)',
  sent: 'Sent',
  failed: 'Could not be sent',
};
const words = (v) => SENT_WORDS[v] || (v ? String(v) : '—');

// the printer a row names (a name, an object with one, or only its
// number: printer_id)
const printerName = (r) => (r.printer && typeof r.printer === 'object' ? r.printer.name : r.printer) ||
  (r.printer_id ? `Printer ${r.printer_id}` : '—');

// the first array among a document's members (the server's list key)
function listOf(doc, ...keys) {
  for (const k of keys) if (doc && Array.isArray(doc[k])) return doc[k];
  return [];
}

// the supply orders section
function ordersSection(ctx) {
  const box = el('div', { id: 'supply-orders', 'aria-busy': 'true' });
  ctx.api.get('/supply-orders').then((d) => {
    box.setAttribute('aria-busy', 'false');
    clear(box).append(table({
      caption: 'Consumables ordered automatically',
      empty: 'No supply orders yet.',
      rows: listOf(d, 'supply_orders', 'orders'),
      rowAttrs: (o) => ({ 'data-order-id': String(o.id) }),
      columns: [
        { label: 'Printer', value: printerName },
        { label: 'Supply', value: (o) => o.supply || '—' },
        { label: 'Level when ordered', value: (o) => (o.level === undefined || o.level === null ? '—' : `${o.level} %`) },
        { label: 'Order', value: (o) => words(o.state) },
        { label: 'Created', value: (o) => time(o.created_at) },
        { label: 'Sent', value: (o) => (o.sent_at ? time(o.sent_at) : '—') },
      ],
    }));
  }, (e) => loadFailed(box, 'supply orders', e));
  return [el('h2', null, 'Supply orders'), box];
}

// the part alerts section
function alertsSection(ctx) {
  const box = el('div', { id: 'part-alerts', 'aria-busy': 'true' });
  ctx.api.get('/part-alerts').then((d) => {
    box.setAttribute('aria-busy', 'false');
    clear(box).append(table({
      caption: 'Parts near the end of their life',
      empty: 'No part alerts.',
      rows: listOf(d, 'part_alerts', 'alerts'),
      rowAttrs: (a) => ({ 'data-alert-id': String(a.id) }),
      columns: [
        { label: 'Printer', value: printerName },
        { label: 'Part', value: (a) => a.part || '—' },
        { label: 'Impressions', value: (a) => (a.impressions === undefined ? '—' : String(a.impressions)) },
        { label: 'Alert', value: (a) => words(a.state) },
        { label: 'Created', value: (a) => time(a.created_at) },
      ],
    }));
  }, (e) => loadFailed(box, 'part alerts', e));
  return [el('h2', null, 'Part alerts'), box];
}

// the backups section: a printer picker, then that printer's backups
function backupsSection(ctx) {
  const chosen = ctx.params.printer || '';
  const picker = field({ label: 'Printer', name: 'printer', type: 'select',
    options: [{ value: '', label: 'Choose a printer' }] });
  const box = el('div', { id: 'backups', 'aria-busy': chosen ? 'true' : 'false' });
  picker.input.addEventListener('change', () => {
    const v = picker.input.value;
    window.location.hash = `#/admin/services${v ? `?printer=${encodeURIComponent(v)}` : ''}`;
  });
  ctx.api.get('/printers').then((d) => {
    for (const p of listOf(d, 'printers')) picker.input.append(el('option', { value: p.name }, p.name));
    picker.input.value = chosen;
  }, (e) => picker.setError(`The printers could not be listed: ${errorText(e)}`));

  const base = `/printers/${encodeURIComponent(chosen)}/backups`;
  const load = () => ctx.api.get(base).then((d) => {
    box.setAttribute('aria-busy', 'false');
    clear(box).append(table({
      caption: `Backups of ${chosen}`,
      empty: 'No backups of this printer yet.',
      rows: listOf(d, 'backups'),
      rowAttrs: (b) => ({ 'data-backup-id': String(b.id) }),
      columns: [
        { label: 'Taken', value: (b) => time(b.created_at) },
        { label: 'Kind', value: (b) => (b.mode === 'differential' ? 'Differential' : 'Full') },
        { label: 'Size', value: (b) => (b.size === undefined ? '—' : `${b.size} bytes`) },
        {
          label: 'Actions',
          value: (b) => actionsCell([
            el('button', { type: 'button', class: 'secondary', 'data-action': 'download',
              onclick: (ev) => act(ev.target.closest('tr'), async () => {
                const snap = await ctx.api.get(`${base}/${b.id}`);
                saveFile(JSON.stringify(snap, null, 2), `backup-${chosen}-${b.id}.json`, 'application/json');
              }, () => 'The backup was downloaded.') }, 'Download'),
            el('button', { type: 'button', 'data-action': 'restore',
              onclick: (ev) => act(ev.target.closest('tr'), async () => {
                if (!(await confirmAction(`Put the settings of this backup (${time(b.created_at)}) back on ${chosen}?`,
                  { confirm: 'Restore', cancel: 'Keep the current settings' }))) return false;
                return ctx.api.post(`${base}/${b.id}/restore`);
              }, (r) => `Restore run ${r && r.run ? r.run.id : ''} started: ${chosen} gets the backup's ` +
                'settings when it next asks for its steps (409: a restore of it is still running).', load) }, 'Restore'),
          ]),
        },
      ],
    }));
  }, (e) => loadFailed(box, 'backups', e));
  if (chosen) load();
  else box.append(el('p', null, 'Choose a printer to see its backups.'));
  return [el('h2', null, 'Backups'), el('form', { class: 'filters', onsubmit: (ev) => ev.preventDefault() }, picker.row), box];
}

export default {
  path: '/admin/services',
  title: 'Services',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (needTenant(root, ctx, 'Services')) return;
    clear(root).append(el('h1', { tabindex: '-1' }, 'Services'),
      el('p', { class: 'lead' }, 'What the smart services of your contracts did: consumables ordered, ' +
        'parts near the end of their life, and the printers\' backups.'),
      ...ordersSection(ctx), ...alertsSection(ctx), ...backupsSection(ctx));
  },
};
