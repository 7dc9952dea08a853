// pages/prices.js: "Price tables" (#/admin/prices), the tenant's price
// tables (docs/CONSOLE.md §2 "Price tables", docs/PAYMENTS.md "Price tables").  GET
// /price-tables (20 a page, paged here).  The editor (create: POST
// /price-tables {name, table}; edit: PATCH /price-tables/{name} {table})
// is a form, not raw JSON: currency, tier mode, the sizes offered, and per
// tier its first impression ("from") and a grid of prices per size, colour
// and sides as money inputs in major units, turned into integer minor
// units by parsing the decimal text (admin-lib.js parseMoney), never
// floating arithmetic; an empty price is "not offered".  A preview of a
// sample job's fee (pages, copies, sides, colour, media) comes from POST
// /price-tables/preview with the unsaved table, again after each edit
// (debounced); nimbusd's words about a bad table show next to the editor.
// Delete: DELETE /price-tables/{name} after a confirm dialog.
import { el, clear, append, table, notice, time, money, confirmAction, errorText, field } from '../ui.js';
import {
  needTenant, loadFailed, act, actionsCell, paged, debounce, parseMoney, minorToText,
} from './admin-lib.js';

const SIZES = [
  { key: 'a4', label: 'A4' }, { key: 'a3', label: 'A3' }, { key: 'letter', label: 'Letter' },
  { key: 'legal', label: 'Legal' }, { key: 'other', label: 'Other sizes' },
];
const COMBOS = [
  { colour: 'mono', sides: 'one-sided', label: 'Mono, one-sided' },
  { colour: 'mono', sides: 'two-sided', label: 'Mono, two-sided' },
  { colour: 'color', sides: 'one-sided', label: 'Colour, one-sided' },
  { colour: 'color', sides: 'two-sided', label: 'Colour, two-sided' },
];
const comboKey = (c) => `${c.colour}-${c.sides}`;
const MEDIA = [
  { value: 'iso_a4_210x297mm', label: 'A4' }, { value: 'iso_a3_297x420mm', label: 'A3' },
  { value: 'na_letter_8.5x11in', label: 'Letter' }, { value: 'na_legal_8.5x14in', label: 'Legal' },
  { value: 'iso_a5_148x210mm', label: 'A5 (other)' },
];
const MAX_TIERS = 8;
const PREVIEW_DELAY_MS = 300;

// the editor's model from a table's JSON: prices as decimal text
function modelOf(t, currency) {
  const src = t || { currency, mode: 'graduated', tiers: [{ from: 1, prices: { a4: { mono: { 'one-sided': 10 } } } }] };
  const first = (src.tiers[0] && src.tiers[0].prices) || {};
  const sizes = SIZES.map((s) => s.key).filter((k) => first[k]);
  return {
    currency: src.currency || currency || '',
    mode: src.mode || 'graduated',
    sizes: sizes.length ? sizes : ['a4'],
    tiers: src.tiers.map((tier) => {
      const prices = {};
      for (const size of Object.keys(tier.prices || {})) {
        prices[size] = {};
        for (const c of COMBOS) {
          const v = tier.prices[size][c.colour] && tier.prices[size][c.colour][c.sides];
          prices[size][comboKey(c)] = v === undefined ? '' : minorToText(v, src.currency);
        }
      }
      return { from: String(tier.from), prices };
    }),
  };
}

// the table's JSON from the model; {table, bad: [{tier, size, combo, message}]}
function tableOf(m) {
  const bad = [];
  const tiers = m.tiers.map((tier, ti) => {
    const prices = {};
    for (const size of m.sizes) {
      const row = (tier.prices[size] = tier.prices[size] || {});
      const out = {};
      for (const c of COMBOS) {
        const text = (row[comboKey(c)] || '').trim();
        if (!text) continue;
        try {
          const v = parseMoney(text, m.currency || 'EUR');
          out[c.colour] = out[c.colour] || {};
          out[c.colour][c.sides] = v;
        } catch (e) {
          bad.push({ tier: ti, size, combo: comboKey(c), message: e.message });
        }
      }
      prices[size] = out;
    }
    return { from: ti === 0 ? 1 : parseInt(tier.from, 10), prices };
  });
  return { table: { currency: m.currency.trim().toUpperCase(), mode: m.mode, tiers }, bad };
}

export default {
  path: '/admin/prices',
  title: 'Price tables',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (needTenant(root, ctx, 'Price tables')) return;
    const { api } = ctx;
    let tables = [];
    let offset = 0;
    let tenantCurrency = '';
    const listBox = el('div', { id: 'prices-list', 'aria-busy': 'true' });
    const editorBox = el('section', { id: 'price-editor', 'aria-label': 'Price table editor' });

    // ---- the editor ----
    function showEditor(saved) {
      const m = modelOf(saved && saved.table, tenantCurrency);
      const errorLine = el('p', { class: 'form-error', id: 'table-error', role: 'alert', hidden: true });
      const gridBox = el('div', { class: 'tiers' });
      const previewBox = el('div', { class: 'preview', id: 'preview', 'aria-live': 'polite' });
      const name = saved ? null : field({ label: 'Name', name: 'name', required: true, autocomplete: 'off',
        hint: 'Letters, digits, . _ -; queues and printers name it.' });
      const currency = field({ label: 'Currency', name: 'currency', value: m.currency,
        hint: 'ISO 4217 code, such as EUR or JPY; prices are in it.' });
      const mode = field({ label: 'Tier mode', name: 'mode', type: 'select', value: m.mode, options: [
        { value: 'graduated', label: 'Graduated: each impression at the tier it falls in' },
        { value: 'volume', label: 'Volume: every impression at the tier of the total' }] });
      const sample = {
        pages: field({ label: 'Pages', name: 'pages', type: 'number', value: '1', min: 1, max: 100000 }),
        copies: field({ label: 'Copies', name: 'copies', type: 'number', value: '1', min: 1, max: 999 }),
        sides: field({ label: 'Sides', name: 'sides', type: 'select', options: [
          { value: 'one-sided', label: 'One-sided' }, { value: 'two-sided-long-edge', label: 'Two-sided' }] }),
        color: field({ label: 'Colour', name: 'color', type: 'select', options: [
          { value: 'mono', label: 'Mono' }, { value: 'color', label: 'Colour' }] }),
        media: field({ label: 'Paper size', name: 'media', type: 'select', options: MEDIA }),
      };
      let seq = 0;

      const showError = (text) => {
        errorLine.textContent = text || '';
        errorLine.hidden = !text;
      };

      // the fee of the sample job under the table as it is now
      async function preview() {
        const mine = ++seq;
        const { table: t, bad } = tableOf(m);
        markBad(bad);
        if (bad.length) {
          showError('Some prices are not amounts: see the marked fields.');
          clear(previewBox).append(el('p', { class: 'hint' }, 'No preview until the table is complete.'));
          return;
        }
        const pages = parseInt(sample.pages.input.value, 10);
        const copies = parseInt(sample.copies.input.value, 10);
        const job = {
          pages: pages > 0 ? pages : 1, copies: copies > 0 ? copies : 1,
          sides: sample.sides.input.value, color: sample.color.input.value === 'color',
          media: sample.media.input.value,
        };
        previewBox.setAttribute('aria-busy', 'true');
        try {
          const q = await api.post('/price-tables/preview', { table: t, job });
          if (mine !== seq) return;
          showError('');
          for (const f of gridBox.querySelectorAll('input.tier-from')) f.removeAttribute('aria-invalid');
          clear(previewBox).append(
            el('p', { class: 'preview-total' }, 'This job costs ',
              el('strong', { id: 'preview-total', 'data-minor': String(q.total), 'data-currency': q.currency },
                money(q.total, q.currency)),
              ` (${q.impressions} impressions: print ${money(q.print_fee, q.currency)} + service ` +
              `${money(q.service_fee, q.currency)}).`),
            el('ul', { class: 'preview-lines' }, (q.lines || []).map((l) => el('li', null,
              `Tier ${l.tier} (from ${l.from}): ${l.count} × ${money(l.unit, q.currency)} = ` +
              `${money(l.subtotal, q.currency)}`))));
        } catch (e) {
          if (mine !== seq) return;
          showError(e.status === 422 ? `The table cannot price this sample job: ${errorText(e)}`
            : `The table is not right yet: ${errorText(e)}`);
          // a tier's "from" that nimbusd names: marked at its input
          const t = /tier (\d+): from /.exec(errorText(e));
          const from = t && gridBox.querySelector(`#tier-${t[1] - 1}-from`);
          if (from) from.setAttribute('aria-invalid', 'true');
          clear(previewBox).append(el('p', { class: 'hint' }, 'No preview: see the error above.'));
        } finally {
          if (mine === seq) previewBox.setAttribute('aria-busy', 'false');
        }
      }
      const later = debounce(preview, PREVIEW_DELAY_MS);

      // mark the price inputs that are not amounts, with the words under each
      function markBad(bad) {
        for (const input of gridBox.querySelectorAll('input.price')) {
          const b = bad.find((x) => x.tier === +input.dataset.tier && x.size === input.dataset.size &&
            x.combo === input.dataset.combo);
          const err = input.nextElementSibling;
          err.textContent = b ? b.message : '';
          err.hidden = !b;
          if (b) {
            input.setAttribute('aria-invalid', 'true');
            input.setAttribute('aria-describedby', err.id);
          } else {
            input.removeAttribute('aria-invalid');
            input.removeAttribute('aria-describedby');
          }
        }
      }

      // the tiers: from, and a grid of prices per size and combination
      function drawGrid() {
        clear(gridBox);
        m.tiers.forEach((tier, ti) => {
          const fromId = `tier-${ti}-from`;
          const from = el('input', { id: fromId, type: 'number', min: 1, class: 'tier-from',
            value: ti === 0 ? '1' : tier.from, disabled: ti === 0, 'data-tier': ti });
          from.addEventListener('input', () => { tier.from = from.value; later(); });
          const head = el('tr', null, el('th', { scope: 'col' }, 'Size'),
            COMBOS.map((c) => el('th', { scope: 'col' }, `${c.label} (${m.currency || '?'})`)),
            el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Remove')));
          const body = m.sizes.map((size) => {
            const sl = SIZES.find((s) => s.key === size).label;
            tier.prices[size] = tier.prices[size] || {};
            return el('tr', { 'data-size': size }, el('th', { scope: 'row' }, sl),
              COMBOS.map((c) => {
                const input = el('input', { type: 'text', inputmode: 'decimal', class: 'price', size: 7,
                  'data-tier': ti, 'data-size': size, 'data-combo': comboKey(c),
                  'aria-label': `Tier ${ti + 1}, ${sl}, ${c.label.toLowerCase()}: price per impression in ${m.currency}`,
                  value: tier.prices[size][comboKey(c)] || '' });
                input.addEventListener('input', () => { tier.prices[size][comboKey(c)] = input.value; later(); });
                return el('td', { 'data-label': c.label }, input, el('span', { class: 'field-error', hidden: true,
                  id: `price-error-${ti}-${size}-${comboKey(c)}` }));
              }),
              el('td', null, ti === 0 && m.sizes.length > 1 ? el('button', { type: 'button', class: 'secondary remove-size',
                'aria-label': `Stop offering ${sl}`, onclick: () => {
                  m.sizes = m.sizes.filter((s) => s !== size); drawGrid(); later();
                } }, 'Remove') : null));
          });
          gridBox.append(el('fieldset', { class: 'tier', 'data-tier': ti },
            el('legend', null, `Tier ${ti + 1}`),
            el('div', { class: 'field' }, el('label', { for: fromId }, 'From impression'), from,
              el('p', { class: 'hint' }, ti === 0 ? 'The first tier starts at 1.'
                : 'Counts from here up to the next tier use these prices.')),
            el('div', { class: 'table-wrap' }, el('table', { class: 'data price-grid' },
              el('caption', null, `Tier ${ti + 1}: price of one impression (one printed side); empty = not offered`),
              el('thead', null, head), el('tbody', null, body))),
            ti > 0 ? el('button', { type: 'button', class: 'secondary remove-tier', onclick: () => {
              m.tiers.splice(ti, 1); drawGrid(); later();
            } }, `Remove tier ${ti + 1}`) : null));
        });
        const missing = SIZES.filter((s) => !m.sizes.includes(s.key));
        const addSize = missing.length ? field({ label: 'Add a size', name: 'add-size', type: 'select',
          options: missing.map((s) => ({ value: s.key, label: s.label })) }) : null;
        gridBox.append(el('div', { class: 'actions' },
          m.tiers.length < MAX_TIERS ? el('button', { type: 'button', class: 'secondary add-tier', onclick: () => {
            const last = m.tiers[m.tiers.length - 1];
            const prev = parseInt(last.from, 10) || 1;
            m.tiers.push({ from: String(prev + 10), prices: JSON.parse(JSON.stringify(last.prices)) });
            drawGrid(); later();
          } }, 'Add a tier') : null,
          addSize ? addSize.row : null,
          addSize ? el('button', { type: 'button', class: 'secondary add-size', onclick: () => {
            m.sizes.push(addSize.input.value);
            m.sizes.sort((a, b) => SIZES.findIndex((s) => s.key === a) - SIZES.findIndex((s) => s.key === b));
            drawGrid(); later();
          } }, 'Add size') : null));
      }

      currency.input.addEventListener('input', () => { m.currency = currency.input.value.trim().toUpperCase(); later(); });
      currency.input.addEventListener('change', () => drawGrid());
      mode.input.addEventListener('change', () => { m.mode = mode.input.value; later(); });
      for (const s of Object.values(sample)) s.input.addEventListener('input', later);

      const save = el('button', { type: 'submit', id: 'save-table' }, saved ? 'Save table' : 'Create table');
      const formNode = el('form', { id: 'price-form', class: 'admin-form', novalidate: true },
        el('h2', { tabindex: '-1' }, saved ? `Edit price table ${saved.name}` : 'Create a price table'),
        errorLine, name ? name.row : null, currency.row, mode.row, gridBox,
        el('div', { class: 'actions' }, save,
          saved ? el('button', { type: 'button', class: 'secondary', onclick: () => showEditor(null) }, 'Cancel') : null));
      formNode.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        if (name) name.setError('');
        const { table: t, bad } = tableOf(m);
        markBad(bad);
        if (bad.length) { showError('Some prices are not amounts: see the marked fields.'); return; }
        if (name && !name.input.value.trim()) { name.setError('Name is required.'); name.input.focus(); return; }
        save.disabled = true;
        try {
          if (saved) {
            await api.patch(`/price-tables/${encodeURIComponent(saved.name)}`, { table: t });
            notice(`Price table ${saved.name} was saved.`, 'ok');
          } else {
            await api.post('/price-tables', { name: name.input.value.trim(), table: t });
            notice(`Price table ${name.input.value.trim()} was created.`, 'ok');
          }
          showError('');
          await load();
        } catch (e) {
          if (name && /'name'/.test(errorText(e))) name.setError(errorText(e));
          else showError(`Not saved: ${errorText(e)}`);
        } finally {
          save.disabled = false;
        }
      });
      const sampleNode = el('section', { class: 'sample', 'aria-label': 'Preview' },
        el('h3', null, 'Preview: what a sample job costs'),
        el('p', { class: 'hint' }, 'Priced by nimbusd with the table as it is in the editor (not yet saved), ' +
          'the tenant\'s service fee included.'),
        el('div', { class: 'sample-fields' }, Object.values(sample).map((s) => s.row)), previewBox);
      clear(editorBox).append(el('div', { class: 'editor-layout' }, formNode, sampleNode));
      drawGrid();
      preview();
      if (saved) formNode.querySelector('h2').focus();
    }

    function draw() {
      const { rows, pagerNode } = paged(tables, offset, (o) => { offset = o; draw(); });
      const t = table({
        caption: 'Price tables of the tenant',
        columns: [
          { label: 'Name', value: (p) => el('span', { class: 'table-name' }, p.name) },
          { label: 'Currency', value: (p) => p.table.currency },
          { label: 'Mode', value: (p) => (p.table.mode === 'volume' ? 'Volume' : 'Graduated') },
          { label: 'Tiers', class: 'num', value: (p) => String(p.table.tiers.length) },
          { label: 'A4 mono one-sided', class: 'num', value: (p) => {
            const v = p.table.tiers[0].prices.a4 && p.table.tiers[0].prices.a4.mono &&
              p.table.tiers[0].prices.a4.mono['one-sided'];
            return v === undefined || v === null ? '—' : money(v, p.table.currency);
          } },
          { label: 'Changed', value: (p) => time(p.updated_at || p.created_at) },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'The tenant has no price tables yet: create one below.',
        rowAttrs: (p) => ({ 'data-table': p.name }),
      });
      const trs = t.querySelectorAll('tbody tr[data-table]');
      rows.forEach((p, i) => {
        const tr = trs[i];
        clear(tr.querySelector('td.row-actions')).append(...actionsCell([
          el('button', { type: 'button', class: 'secondary edit', onclick: () => showEditor(p) }, 'Edit'),
          el('button', { type: 'button', class: 'danger delete', onclick: () => act(tr, async () => {
            if (!(await confirmAction(`Delete price table ${p.name}? Queues and printers that use it are ` +
              'left without one (their jobs are free unless the other has one).',
            { confirm: 'Delete table', cancel: 'Keep' }))) return false;
            return api.del(`/price-tables/${encodeURIComponent(p.name)}`);
          }, () => `Price table ${p.name} was deleted.`, load) }, 'Delete'),
        ]));
      });
      append(clear(listBox), [t, pagerNode]);
      listBox.setAttribute('aria-busy', 'false');
    }

    async function load() {
      listBox.setAttribute('aria-busy', 'true');
      try {
        const [ts, billing] = await Promise.all([api.get('/price-tables'), api.get('/billing')]);
        tables = ts.price_tables || [];
        tenantCurrency = (billing && billing.currency) || '';
      } catch (e) {
        loadFailed(listBox, 'the price tables of this tenant', e);
        editorBox.hidden = true;
        return false;
      }
      draw();
      return true;
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Price tables'),
      el('p', { class: 'lead' }, 'What printing costs: prices per printed side by size, colour and sides, ' +
        'in tiers by the number of impressions. Queues and printers name the table they use.'),
      listBox, editorBox);
    load().then((ok) => { if (ok) showEditor(null); });
  },
};
