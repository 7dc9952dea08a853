// pages/fees.js: "Service fees" (#/operator/fees), the operator console's
// service-fee plans (docs/CONSOLE.md §2, docs/PAYMENTS.md "Prices, fees and
// the ledger").  Each tenant's service fee is a fixed part in the
// currency's minor units plus a percentage in basis points of the print
// fee: GET /billing?tenant=NAME for every tenant of the page (20 a page),
// shown in one table with an example ("a €1.00 print fee → service fee
// €0.15, total €1.15"); Edit opens a form for one tenant (PATCH
// /billing?tenant=NAME {service_fee_fixed, service_fee_bps}; only
// operators may set them) with the example worked out live.  The example
// is computed as nimbusd does (billing/money.c money_apply_bps, price.c):
// print fee × bps / 10000 in integers, rounded half away from zero, plus
// the fixed part; BigInt, never floating point.
import { el, clear, append, field, table, pager, notice, money, errorText, formError } from '../ui.js';

const SYSTEM = 'system';
const PAGE = 20;
const BPS_MAX = 10000; // PATCH /billing's bound: 100 %
const FIXED_MAX = 1000000000000000n; // MONEY_MAX, 10^15 minor units

// serviceFee(printFee, fixed, bps) → BigInt: fixed + printFee × bps / 10000
// rounded half away from zero, exactly as money_apply_bps() and
// price_quote() compute it (all in minor units)
export function serviceFee(printFee, fixed, bps) {
  const a = BigInt(printFee);
  const mag = a < 0n ? -a : a;
  const prod = mag * BigInt(bps);
  let pct = prod / 10000n;
  if (2n * (prod % 10000n) >= 10000n) pct += 1n; // half away from zero
  return BigInt(fixed) + (a < 0n ? -pct : pct);
}

// basis points as a percentage in words, integer arithmetic: 525 → "5.25 %"
export function bpsText(bps) {
  return `${Math.floor(bps / 100)}.${String(bps % 100).padStart(2, '0')} %`;
}

// the minor units of one major unit of currency (EUR 100, JPY 1), at least
// 100 so that the example is a sensible amount (JPY: ¥100)
function examplePrintFee(currency) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch (e) {
    digits = 2;
  }
  return 10 ** Math.max(2, digits);
}

// an amount in words: money() when the tenant has a currency, else the
// bare number of minor units
const amount = (minor, currency) => (currency ? money(minor, currency) : `${minor}`);

// "a €1.00 print fee → service fee €0.15, total €1.15"; without a
// currency the same in minor units, said so
function exampleText(printFee, fixed, bps, currency) {
  const sf = serviceFee(printFee, fixed, bps);
  return `a ${amount(printFee, currency)} print fee → service fee ${amount(sf, currency)}, ` +
    `total ${amount(BigInt(printFee) + sf, currency)}${currency ? '' : ' (minor units: no currency yet)'}`;
}

const RULE = 'The percentage is taken of the print fee in whole minor units (cents) and rounded half ' +
  'away from zero (half a cent or more goes up); the fixed part is added to it. nimbusd computes ' +
  'every job\'s fee the same way, with integers only.';

export default {
  path: '/operator/fees',
  title: 'Service fees',
  section: 'operator',
  roles: ['operator'],
  render(root, ctx) {
    const { api } = ctx;
    const listBox = el('section', { id: 'fee-list', 'aria-busy': 'true', 'aria-label': 'Service fees' });
    const editBox = el('section', { id: 'fee-edit', hidden: true, 'aria-labelledby': 'fee-edit-title' });
    let tenants = [];
    let offset = 0;

    // the editor of one tenant's plan b ({tenant, currency, service_fee_*})
    function edit(b) {
      const cur = b.currency;
      const fixed = field({ label: 'Fixed part (minor units)', name: 'service_fee_fixed', type: 'number',
        min: 0, value: String(b.service_fee_fixed),
        hint: cur ? `In ${cur}'s minor units: ${amount(25, cur)} is 25.` : 'The tenant has no currency yet.' });
      const bps = field({ label: 'Percentage of the print fee (basis points)', name: 'service_fee_bps',
        type: 'number', min: 0, max: BPS_MAX, value: String(b.service_fee_bps),
        hint: '100 basis points are 1 %; 500 is 5 %; at most 10000 (100 %).' });
      const sample = field({ label: 'Example print fee (minor units)', name: 'example', type: 'number', min: 0,
        value: String(examplePrintFee(cur || 'EUR')), hint: 'Only for the example below; not saved.' });
      const example = el('p', { class: 'fee-example', id: 'fee-example', 'aria-live': 'polite' });
      const whole = (f, max) => {
        const v = f.input.value.trim();
        return /^\d+$/.test(v) && BigInt(v) <= max ? v : null;
      };
      const update = () => {
        const fx = whole(fixed, FIXED_MAX);
        const bp = whole(bps, BigInt(BPS_MAX));
        const pf = whole(sample, FIXED_MAX);
        example.textContent = fx !== null && bp !== null && pf !== null
          ? `Example: ${exampleText(pf, fx, Number(bp), cur)}.`
          : 'Example: write whole numbers in the fields above.';
      };
      for (const f of [fixed, bps, sample]) f.input.addEventListener('input', update);
      update();
      const form = el('form', { id: 'fee-edit-form', novalidate: true, 'data-tenant': b.tenant },
        el('h2', { id: 'fee-edit-title', tabindex: '-1' }, `Service fee of ${b.tenant}`),
        el('div', { class: 'field-row' }, fixed.row, bps.row, sample.row), example,
        el('p', { class: 'hint' }, RULE),
        el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save'),
          el('button', { type: 'button', class: 'secondary', onclick: () => { editBox.hidden = true; clear(editBox); } },
            'Close')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        formError(form, null);
        const fx = whole(fixed, FIXED_MAX);
        const bp = whole(bps, BigInt(BPS_MAX));
        if (fx === null) fixed.setError('Write a whole number of minor units, 0 or more.');
        if (bp === null) bps.setError('Write a whole number of basis points from 0 to 10000.');
        if (fx === null || bp === null) return;
        try {
          await api.patch('/billing', { service_fee_fixed: Number(fx), service_fee_bps: Number(bp) },
            { tenant: b.tenant });
        } catch (e) {
          const input = formError(form, e);
          if (input) input.focus();
          return;
        }
        editBox.hidden = true;
        clear(editBox);
        await load(true);
        notice(`The service fee of ${b.tenant} was saved.`, 'ok');
      });
      clear(editBox).append(form);
      editBox.hidden = false;
      form.querySelector('h2').focus();
    }

    // the plans of the tenants of the page
    async function load(keepNotice) {
      if (!keepNotice) notice('');
      listBox.setAttribute('aria-busy', 'true');
      let rows;
      try {
        const r = await api.get('/tenants');
        tenants = (r.tenants || []).filter((t) => t.name !== SYSTEM).sort((a, b) => a.name.localeCompare(b.name));
        if (offset >= tenants.length) offset = Math.max(0, tenants.length - PAGE);
        rows = await Promise.all(tenants.slice(offset, offset + PAGE).map((t) =>
          api.get('/billing', { tenant: t.name }).then((b) => Object.assign({ tenant: t.name }, b),
            (e) => ({ tenant: t.name, error: errorText(e) }))));
      } catch (e) {
        clear(listBox).append(el('p', { class: 'form-error', role: 'alert' },
          `The service fees could not be loaded: ${errorText(e)}`));
        listBox.setAttribute('aria-busy', 'false');
        return;
      }
      const fixedCell = (b) => (b.error ? '' : b.currency ? money(b.service_fee_fixed, b.currency)
        : `${b.service_fee_fixed} (minor units)`);
      const t = table({
        caption: 'Service fee of each tenant',
        columns: [
          { label: 'Tenant', value: (b) => b.tenant },
          { label: 'Currency', value: (b) => (b.error ? '' : b.currency || 'none yet') },
          { label: 'Fixed part', class: 'num', value: fixedCell },
          { label: 'Percentage', class: 'num', value: (b) => (b.error ? '' : bpsText(b.service_fee_bps)) },
          { label: 'Example', value: (b) => (b.error
            ? el('span', { class: 'row-error' }, `Could not be read: ${b.error}`)
            : exampleText(examplePrintFee(b.currency || 'EUR'), b.service_fee_fixed, b.service_fee_bps, b.currency)) },
          { label: 'Actions', class: 'row-actions', value: (b) => (b.error ? null
            : el('button', { type: 'button', class: 'secondary edit', onclick: () => edit(b) }, 'Edit')) },
        ],
        rows,
        empty: 'No tenants yet: create one under Tenants.',
        rowAttrs: (b) => ({ 'data-tenant': b.tenant }),
      });
      append(clear(listBox), [t, tenants.length > PAGE ? pager({
        hasPrev: offset > 0,
        hasNext: offset + PAGE < tenants.length,
        onPrev: () => { offset = Math.max(0, offset - PAGE); load(); },
        onNext: () => { offset += PAGE; load(); },
        label: `${offset + 1}–${offset + rows.length} of ${tenants.length}`,
      }) : null]);
      listBox.setAttribute('aria-busy', 'false');
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Service fees'),
      el('p', { class: 'lead' }, 'The operator\'s fee on every charged job of a tenant: a fixed part plus a ' +
        'percentage of the print fee. It goes to the operator\'s revenue; the print fee to the tenant.'),
      el('p', { class: 'hint', id: 'fee-rule' }, RULE),
      listBox, editBox);
    load();
  },
};
