// pages/admin-lib.js: what the tenant admin console's pages share
// (users, queues, printers, prices, accounts; docs/CONSOLE.md §2): the
// operator's "pick a tenant first", a load error in words ("not permitted"
// for a 403), a form built from ui.js fields with its errors next to them,
// row actions with their error in the row, client-side paging, a copy
// button, and money typed by people (decimal text in major units) turned
// into integer minor units with BigInt arithmetic, never floating point.
import { el, clear, field, formError, errorText, notice, pager } from '../ui.js';
import { currentTenant } from '../api.js';

export const PAGE_SIZE = 20;

// true (and a message in root) when an operator has not picked a tenant:
// the admin pages act on the tenant of the shell's tenant picker
export function needTenant(root, ctx, title) {
  if (ctx.session.role !== 'operator' || currentTenant()) return false;
  clear(root).append(el('h1', { tabindex: '-1' }, title),
    el('p', { class: 'lead', id: 'pick-tenant' },
      'Pick a tenant in the Tenant list at the top of the page: this page manages that tenant.'));
  return true;
}

// an error loading what a page shows, in words; a 403 says "not permitted"
export function loadFailed(box, what, err) {
  const words = err && err.status === 403
    ? `You are not permitted to see ${what}: ${errorText(err)}.`
    : `The ${what} could not be loaded: ${errorText(err)}`;
  clear(box).append(el('p', { class: 'form-error', role: 'alert' }, words));
  box.setAttribute('aria-busy', 'false');
}

// the number of fraction digits of a currency's minor unit (EUR 2, JPY 0)
export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch (e) {
    return 2;
  }
}

// parseMoney(text, currency, {negative}) → integer minor units (a Number:
// amounts stop at 10^15, well inside 2^53), from decimal text in major
// units ("1.5" EUR → 150).  The text is split at the point and read as
// integers (BigInt): no floating-point arithmetic.  Throws an Error whose
// message says what is wrong, in words.
export function parseMoney(text, currency, { negative = false } = {}) {
  const t = String(text).trim();
  const digits = currencyDigits(currency);
  const m = /^(-?)(\d+)(?:[.,](\d*))?$/.exec(t);
  if (!m || (m[1] && !negative)) {
    throw new Error(negative ? 'write an amount such as 12.50 or -5' : 'write an amount such as 12.50');
  }
  const frac = m[3] || '';
  if (frac.length > digits) {
    throw new Error(digits ? `${currency} has ${digits} digits after the point at most`
      : `${currency} has no fractions: write whole ${currency}`);
  }
  const minor = BigInt(m[2]) * 10n ** BigInt(digits) + BigInt((frac + '0'.repeat(digits)).slice(0, digits) || '0');
  if (minor > 1000000000000000n) throw new Error('the amount is too large');
  return Number(m[1] ? -minor : minor);
}

// integer minor units as plain decimal text for an input ("0.10"), the
// inverse of parseMoney; '' for null
export function minorToText(minor, currency) {
  if (minor === null || minor === undefined) return '';
  const digits = currencyDigits(currency);
  const big = BigInt(minor);
  const abs = big < 0n ? -big : big;
  const scale = 10n ** BigInt(digits);
  const frac = (abs % scale).toString().padStart(digits, '0');
  return `${big < 0n ? '-' : ''}${abs / scale}${digits ? `.${frac}` : ''}`;
}

// form({id, title, fields: [field options + {checkbox, money, currency}],
// submit, onSubmit(values, form), onCancel}) → {node, inputs, rows}: a
// <form> of ui.js fields.  values: by name, checkboxes as booleans, money
// fields as integer minor units (a typing error shows under its field and
// nothing is sent).  An ApiError thrown by onSubmit shows next to the
// field its detail names, or at the top (formError).
export function form({ id, title, fields, submit, onSubmit, onCancel, intro }) {
  const inputs = {};
  const setErrors = {};
  const rows = fields.map((f) => {
    if (f.checkbox) {
      const fid = `${id}-${f.name}`;
      const input = el('input', { type: 'checkbox', id: fid, name: f.name });
      input.checked = !!f.value;
      inputs[f.name] = input;
      return el('div', { class: 'field field-check', 'data-name': f.name },
        input, el('label', { for: fid }, f.label), f.hint ? el('p', { class: 'hint' }, f.hint) : null);
    }
    const fl = field(f);
    inputs[f.name] = fl.input;
    setErrors[f.name] = fl.setError;
    return fl.row;
  });
  const submitButton = el('button', { type: 'submit' }, submit || 'Save');
  const node = el('form', { id, class: 'admin-form', novalidate: true },
    title ? el('h2', null, title) : null, intro ? el('p', { class: 'hint' }, intro) : null, rows,
    el('div', { class: 'actions' }, submitButton,
      onCancel ? el('button', { type: 'button', class: 'secondary', onclick: onCancel }, 'Cancel') : null));
  node.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formError(node, null);
    const values = {};
    let bad = null;
    for (const f of fields) {
      const input = inputs[f.name];
      if (f.checkbox) { values[f.name] = input.checked; continue; }
      const text = input.value.trim();
      if (f.required && !text) {
        setErrors[f.name](`${f.label} is required.`);
        bad = bad || input;
        continue;
      }
      if (f.money) {
        if (!text) { values[f.name] = null; continue; }
        try {
          values[f.name] = parseMoney(text, f.currency(), { negative: f.negative });
        } catch (e) {
          setErrors[f.name](`${f.label}: ${e.message}.`);
          bad = bad || input;
        }
        continue;
      }
      values[f.name] = f.type === 'number' ? (text === '' ? null : Number(text)) : text;
    }
    if (bad) { bad.focus(); return; }
    submitButton.disabled = true;
    try {
      await onSubmit(values, node);
    } catch (e) {
      const input = formError(node, e);
      if (input) input.focus();
    } finally {
      submitButton.disabled = false;
    }
  });
  return { node, inputs, setErrors };
}

// act(tr, fn, done, reload): run a row's action: its buttons busy, its
// error in words in the row's .row-error, the notice done(result) and
// reload() after; fn answering false means the person changed their mind
export async function act(tr, fn, done, reload) {
  const errorLine = tr.querySelector('.row-error');
  if (errorLine) { errorLine.textContent = ''; errorLine.hidden = true; }
  const buttons = [...tr.querySelectorAll('button')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const r = await fn();
    if (r === false) return;
    if (done) notice(done(r), 'ok');
    if (reload) await reload();
  } catch (e) {
    if (errorLine) { errorLine.textContent = errorText(e); errorLine.hidden = false; }
    else notice(errorText(e), 'error');
  } finally {
    buttons.forEach((b) => { if (b.isConnected) b.disabled = false; });
  }
}

// the actions cell of a row: buttons and the row's error line
export function actionsCell(buttons) {
  return [el('div', { class: 'actions' }, buttons),
    el('p', { class: 'row-error', role: 'alert', hidden: true })];
}

// a page of rows (client-side paging of a list the API does not page):
// {rows, pagerNode}; offset is kept by the caller through onPage(offset)
export function paged(rows, offset, onPage) {
  const start = Math.min(offset, Math.max(0, Math.floor((rows.length - 1) / PAGE_SIZE) * PAGE_SIZE));
  const part = rows.slice(start, start + PAGE_SIZE);
  const pagerNode = rows.length > PAGE_SIZE ? pager({
    hasPrev: start > 0,
    hasNext: start + PAGE_SIZE < rows.length,
    onPrev: () => onPage(Math.max(0, start - PAGE_SIZE)),
    onNext: () => onPage(start + PAGE_SIZE),
    label: `${start + 1}–${start + part.length} of ${rows.length}`,
  }) : null;
  return { rows: part, pagerNode };
}

// a Copy button for text (the clipboard; where the browser refuses, the
// text is selected for the person to copy)
export function copyButton(text, target, label = 'Copy') {
  const b = el('button', { type: 'button', class: 'secondary copy' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      notice('Copied to the clipboard.', 'ok');
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents(target);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      notice('Select and copy the text yourself (the browser did not allow the clipboard).', 'info');
    }
  });
  return b;
}

// debounce(fn, ms): fn after ms of quiet
export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// yes / no in words
export const yesNo = (v) => (v ? 'Yes' : 'No');
