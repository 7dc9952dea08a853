// ui.js: the console's DOM helpers (docs/CONSOLE.md §1.5).  Everything is
// text: nodes are made with document.createElement and filled with
// textContent, never innerHTML, so no data from the API is ever parsed as
// HTML.  Pages build their screens from these pieces.

let uid = 0;
// a fresh id for label/aria links ("f1", "f2", ...)
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}${uid}`;
}

// el(tag, attrs, ...children): an element.  attrs: `class`, `for`, `on*`
// handlers (onclick: fn), `aria-*`, `data-*`, DOM properties (value,
// checked, disabled, hidden, type, ...) and other attributes; null or
// undefined values are skipped.  Children: nodes, strings (as text),
// arrays of those, null/false (skipped).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'for') node.htmlFor = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k.startsWith('aria-') || k.startsWith('data-') || k === 'role') node.setAttribute(k, String(v));
    else if (k in node && typeof v !== 'string') node[k] = v;
    else if (k === 'value' || k === 'textContent') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

// append children (nodes, text, nested arrays) to node
export function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// remove every child of node
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// field({label, name, type, value, options, required, hint, min, max,
// autocomplete}) → {row, input, setError(msg)}.  type: any <input> type,
// 'select' (options: [{value, label}] or strings) or 'textarea'.  The
// error shows under the input, which aria-describedby names (with the
// hint) and aria-invalid marks; setError('') clears it.
export function field({ label, name, type = 'text', value, options, required, hint, min, max,
  autocomplete, inputmode }) {
  const id = nextId('field-');
  let input;
  if (type === 'select') {
    input = el('select', { id, name, required });
    for (const o of options || []) {
      const opt = typeof o === 'object' ? o : { value: o, label: o };
      input.append(el('option', { value: opt.value }, opt.label));
    }
    if (value !== undefined && value !== null) input.value = value;
  } else if (type === 'textarea') {
    input = el('textarea', { id, name, required });
    if (value !== undefined && value !== null) input.value = value;
  } else {
    input = el('input', { id, name, type, required, min, max, autocomplete, inputmode });
    if (value !== undefined && value !== null) input.value = value;
  }
  const hintNode = hint ? el('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errorNode = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const row = el('div', { class: 'field', 'data-name': name },
    el('label', { for: id }, label), input, hintNode, errorNode);
  const describe = () => {
    const ids = [];
    if (hintNode) ids.push(hintNode.id);
    if (!errorNode.hidden) ids.push(errorNode.id);
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  };
  describe();
  const setError = (msg) => {
    errorNode.textContent = msg || '';
    errorNode.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    describe();
  };
  return { row, input, setError };
}

// the words of an error: an ApiError's detail (or title), else its message
export function errorText(err) {
  if (!err) return '';
  return err.detail || err.title || err.message || String(err);
}

// formError(form, err): put err (an ApiError, or null to clear) next to
// the field its detail names ("'copies' must be ..." → the field whose
// name is copies), or in the error line at the top of the form.  Returns
// the field's input when one was found, so the caller may focus it.
export function formError(form, err) {
  let top = form.querySelector(':scope > .form-error');
  if (!top) {
    top = el('p', { class: 'form-error', role: 'alert', hidden: true });
    form.prepend(top);
  }
  for (const row of form.querySelectorAll('.field')) {
    const e = row.querySelector('.field-error');
    const input = row.querySelector('input, select, textarea');
    if (e) { e.textContent = ''; e.hidden = true; }
    if (input) input.removeAttribute('aria-invalid');
  }
  top.textContent = '';
  top.hidden = true;
  if (!err) return null;
  const text = errorText(err);
  const named = /'([A-Za-z0-9_-]+)'/.exec(text);
  const row = named && form.querySelector(`.field[data-name="${CSS.escape(named[1])}"]`);
  if (row) {
    const e = row.querySelector('.field-error');
    const input = row.querySelector('input, select, textarea');
    e.textContent = text;
    e.hidden = false;
    e.setAttribute('role', 'alert');
    input.setAttribute('aria-invalid', 'true');
    const ids = new Set((input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
    ids.add(e.id);
    input.setAttribute('aria-describedby', [...ids].join(' '));
    return input;
  }
  top.textContent = text;
  top.hidden = false;
  return null;
}

// table({caption, columns: [{label, value: row => text|Node, class}],
// rows, empty, rowAttrs: row => attrs}) → a <table> in a scrolling
// wrapper; `empty` is the text shown when rows is empty.
export function table({ caption, columns, rows, empty = 'Nothing to show.', rowAttrs }) {
  const head = el('tr', null, columns.map((c) => el('th', { scope: 'col', class: c.class }, c.label)));
  const body = el('tbody');
  if (!rows.length) {
    body.append(el('tr', null, el('td', { colspan: columns.length, class: 'empty' }, empty)));
  }
  for (const r of rows) {
    const tr = el('tr', rowAttrs ? rowAttrs(r) : null);
    for (const c of columns) {
      const v = c.value(r);
      tr.append(el('td', { class: c.class, 'data-label': c.label }, v));
    }
    body.append(tr);
  }
  const t = el('table', { class: 'data' }, caption ? el('caption', null, caption) : null,
    el('thead', null, head), body);
  return el('div', { class: 'table-wrap' }, t);
}

// pager({hasPrev, hasNext, onPrev, onNext, label}): Previous / Next
// buttons around a label ("1–20 of 45"), in a <nav>.
export function pager({ hasPrev, hasNext, onPrev, onNext, label }) {
  return el('nav', { class: 'pager', 'aria-label': 'Pages' },
    el('button', { type: 'button', class: 'secondary', disabled: !hasPrev, onclick: onPrev }, 'Previous'),
    el('span', { class: 'pager-label', 'aria-live': 'polite' }, label || ''),
    el('button', { type: 'button', class: 'secondary', disabled: !hasNext, onclick: onNext }, 'Next'));
}

// notice(text, kind): the page's aria-live status line (#notice); kind
// 'info' (default), 'ok' or 'error'; an empty text hides it.
export function notice(text, kind = 'info') {
  const n = document.getElementById('notice');
  if (!n) return;
  n.textContent = text || '';
  n.dataset.kind = kind;
  n.hidden = !text;
}

const pad = (n) => String(n).padStart(2, '0');

// time(iso): the viewer's local time with its zone, "2026-12-05 08:15 CET";
// '' for a missing time.  Accepts an ISO 8601 string or Unix seconds.
export function time(iso) {
  if (iso === null || iso === undefined || iso === '' || iso === 0) return '';
  const d = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  let zone = '';
  try {
    const parts = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d);
    zone = (parts.find((p) => p.type === 'timeZoneName') || {}).value || '';
  } catch (e) {
    zone = '';
  }
  if (!zone) {
    const off = -d.getTimezoneOffset();
    zone = `UTC${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())} ${zone}`;
}

// money(minor, currency): integer minor units as the viewer's locale writes
// the amount ("€1.50", "¥150").  The amount is split into major and minor
// parts with integer (BigInt) arithmetic and given to Intl.NumberFormat as
// a decimal string, so no floating-point arithmetic touches it.
export function money(minor, currency) {
  if (minor === null || minor === undefined || !currency) return '';
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch (e) {
    return `${minor} ${currency} (minor units)`;
  }
  const big = BigInt(minor);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  const scale = 10n ** BigInt(digits);
  const major = abs / scale;
  const frac = (abs % scale).toString().padStart(digits, '0');
  const text = `${neg ? '-' : ''}${major}${digits ? `.${frac}` : ''}`;
  // a decimal string is formatted exactly (Intl.NumberFormat v3)
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(text);
}

// show dialog modally with focus on first; when it closes it is removed,
// focus goes back where it was, and done() runs (the caller's resolve)
function openModal(dialog, first, done) {
  const back = document.activeElement;
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (back && back.focus) back.focus();
    done();
  });
  document.body.append(dialog);
  dialog.showModal();
  first.focus();
}

// confirmAction(text, {confirm, cancel}) → Promise<boolean>: a modal
// <dialog> asking text; Escape or Cancel answers false.  Focus starts on
// Cancel (the safe choice) and returns where it was afterwards.
export function confirmAction(text, { confirm = 'Yes', cancel = 'Cancel' } = {}) {
  return new Promise((resolve) => {
    const msgId = nextId('confirm-');
    const no = el('button', { type: 'button', class: 'secondary', value: 'no' }, cancel);
    const yes = el('button', { type: 'button', class: 'danger', value: 'yes' }, confirm);
    const dialog = el('dialog', { class: 'confirm', 'aria-labelledby': msgId },
      el('p', { id: msgId }, text), el('div', { class: 'actions' }, no, yes));
    let answer = false;
    no.addEventListener('click', () => dialog.close());
    yes.addEventListener('click', () => { answer = true; dialog.close(); });
    openModal(dialog, no, () => resolve(answer));
  });
}

// askText(text, field options) → Promise<string|null>: a modal dialog with
// one field (a PIN, a name); null when cancelled.
export function askText(text, opts, { confirm = 'OK', cancel = 'Cancel' } = {}) {
  return new Promise((resolve) => {
    const f = field(opts);
    const msgId = nextId('ask-');
    const no = el('button', { type: 'button', class: 'secondary' }, cancel);
    const yes = el('button', { type: 'submit' }, confirm);
    const form = el('form', { method: 'dialog' }, el('p', { id: msgId }, text), f.row,
      el('div', { class: 'actions' }, no, yes));
    const dialog = el('dialog', { class: 'confirm', 'aria-labelledby': msgId }, form);
    let answer = null;
    no.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      answer = f.input.value;
      dialog.close();
    });
    openModal(dialog, f.input, () => resolve(answer));
  });
}

// saveFile(text, filename, type): offer text (a CSV export) as a download
// named filename: a blob: URL on an <a download>, clicked; the URL is
// revoked a minute later.
export function saveFile(text, filename, type = 'text/csv;charset=utf-8') {
  const href = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href, download: filename, hidden: true }, filename);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}
