// pages/purposes.js: "My purposes" (#/purposes), docs/BILLING.md: why a
// user prints and so who pays: each purpose has a name, a destination (a
// billing account the user may charge, GET /billing-accounts, or private:
// the user's saved payment method) and default settings (copies, sides,
// colour, paper size), and at most one is the default.  GET /purposes
// lists them (10 a page); the form creates (POST /purposes) or edits
// (PATCH /purposes/{name}); Make default (PATCH {default: true}); Delete
// (DELETE /purposes/{name}, asked first).  Errors in words next to the
// field or the row that caused them.
import { el, clear, append, field, formError, table, pager, notice, confirmAction, errorText } from '../ui.js';
import { SETTINGS, settingOptions, settingsText } from './settings.js';

const PAGE_SIZE = 10;
const PRIVATE = '(private)';
// the media a purpose may default to: the cloud queues' (ipp-caps.c), or
// from the first queue when nimbusd lists one
const FALLBACK_SUPPORTED = {
  sides: ['one-sided', 'two-sided-long-edge', 'two-sided-short-edge'],
  'print-color-mode': ['auto', 'color', 'monochrome'],
  media: ['iso_a4_210x297mm', 'na_letter_8.5x11in', 'iso_a3_297x420mm', 'iso_a5_148x210mm', 'na_legal_8.5x14in'],
};

const destination = (p) => (p.private || !p.account ? 'Private: paid by you' : `Account ${p.account}`);

export default {
  path: '/purposes',
  title: 'My purposes',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api } = ctx;
    let offset = 0;
    let purposes = [];
    let accounts = [];
    let supported = FALLBACK_SUPPORTED;
    let editing = null; // the name of the purpose in the form, null: a new one

    const listBox = el('div', { id: 'purposes-list', 'aria-busy': 'true' });
    const formTitle = el('h2', { id: 'purpose-form-title' }, 'New purpose');
    const name = field({ label: 'Name', name: 'name', required: true,
      hint: 'For example "Client A", "Volunteering", "Personal".' });
    const account = field({ label: 'Who pays', name: 'account', type: 'select', options: [] });
    const copies = field({ label: 'Default copies', name: 'copies', type: 'number', min: 1, max: 999,
      inputmode: 'numeric', hint: 'Leave empty for none.' });
    const settings = {};
    for (const s of SETTINGS) settings[s.name] = field({ label: `Default ${s.label.toLowerCase()}`, name: s.name, type: 'select', options: [] });
    const isDefault = el('input', { type: 'checkbox', id: 'purpose-default', name: 'default' });
    const defaultRow = el('div', { class: 'field checkbox', 'data-name': 'default' },
      el('label', { for: 'purpose-default' }, isDefault, ' My default purpose (for jobs that name none)'),
      el('p', { class: 'field-error', id: 'purpose-default-error', hidden: true }));
    const save = el('button', { type: 'submit', id: 'purpose-save' }, 'Create');
    const cancelEdit = el('button', { type: 'button', class: 'secondary', id: 'purpose-cancel-edit', hidden: true }, 'Cancel editing');
    const form = el('form', { id: 'purpose-form', class: 'purpose-form', novalidate: true },
      name.row, account.row, copies.row, Object.values(settings).map((f) => f.row), defaultRow,
      el('div', { class: 'actions' }, save, cancelEdit));

    const fillOptions = () => {
      clear(account.input);
      for (const a of accounts) account.input.append(el('option', { value: a.code }, `Account ${a.code}: ${a.name}`));
      account.input.append(el('option', { value: PRIVATE }, 'Private: my saved payment method'));
      for (const s of SETTINGS) {
        clear(settings[s.name].input);
        for (const o of settingOptions(s.name, supported, 'No default')) settings[s.name].input.append(el('option', { value: o.value }, o.label));
      }
    };

    // the form for a new purpose, or for editing p
    const startForm = (p) => {
      editing = p ? p.name : null;
      formError(form, null);
      formTitle.textContent = p ? `Edit purpose ${p.name}` : 'New purpose';
      save.textContent = p ? 'Save changes' : 'Create';
      cancelEdit.hidden = !p;
      name.input.value = p ? p.name : '';
      account.input.value = p ? (p.private || !p.account ? PRIVATE : p.account) : (accounts[0] ? accounts[0].code : PRIVATE);
      const d = (p && p.defaults) || {};
      copies.input.value = d.copies ? String(d.copies) : '';
      for (const s of SETTINGS) settings[s.name].input.value = d[s.name] || '';
      isDefault.checked = !!(p && p.default);
    };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(form, null);
      if (!name.input.value.trim()) {
        name.setError('Give the purpose a name.');
        name.input.focus();
        return;
      }
      const defaults = {};
      if (copies.input.value) {
        const n = Number(copies.input.value);
        if (!Number.isInteger(n) || n < 1 || n > 999) {
          copies.setError('Copies must be a whole number from 1 to 999.');
          copies.input.focus();
          return;
        }
        defaults.copies = n;
      }
      for (const s of SETTINGS) if (settings[s.name].input.value) defaults[s.name] = settings[s.name].input.value;
      const body = {
        name: name.input.value.trim(),
        account: account.input.value === PRIVATE ? null : account.input.value,
        default: isDefault.checked,
        defaults,
      };
      save.disabled = true;
      try {
        if (editing) {
          await api.patch(`/purposes/${encodeURIComponent(editing)}`, body);
          notice(`Purpose ${body.name} was saved.`, 'ok');
        } else {
          await api.post('/purposes', body);
          notice(`Purpose ${body.name} was created.`, 'ok');
        }
        startForm(null);
        await load();
      } catch (e) {
        // "'account' ..." and the like land under their field; a 403 or
        // 409 about the account under Who pays
        const named = /'([A-Za-z-]+)'/.test(errorText(e));
        if (!named && (e.status === 403 || /account/.test(e.type || ''))) account.setError(errorText(e));
        else if (!named && e.status === 409) name.setError(errorText(e));
        else {
          const input = formError(form, e);
          if (input) input.focus();
        }
      } finally {
        save.disabled = false;
      }
    });
    cancelEdit.addEventListener('click', () => { startForm(null); name.input.focus(); });

    const rowError = (tr, e) => {
      const p = tr.querySelector('.row-error');
      p.textContent = e ? errorText(e) : '';
      p.hidden = !e;
    };
    const act = async (tr, fn, done) => {
      rowError(tr, null);
      try {
        const r = await fn();
        if (r === false) return;
        notice(done, 'ok');
        await load();
      } catch (e) {
        rowError(tr, e);
      }
    };

    function draw() {
      const rows = purposes.slice(offset, offset + PAGE_SIZE);
      const t = table({
        caption: 'My purposes',
        columns: [
          { label: 'Name', value: (p) => el('span', { class: 'purpose-name' }, p.name,
            p.default ? el('span', { class: 'badge' }, ' (default)') : null) },
          { label: 'Who pays', value: (p) => destination(p) },
          { label: 'Default settings', value: (p) => settingsText(p.defaults, p.defaults && p.defaults.copies) || 'None' },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'You have no purposes yet: create one below.',
        rowAttrs: (p) => ({ 'data-purpose': p.name }),
      });
      const trs = t.querySelectorAll('tbody tr[data-purpose]');
      rows.forEach((p, i) => {
        const tr = trs[i];
        const edit = el('button', { type: 'button', class: 'secondary edit' }, 'Edit');
        edit.addEventListener('click', () => { startForm(p); formTitle.scrollIntoView(); name.input.focus(); });
        const makeDefault = p.default ? null : el('button', { type: 'button', class: 'secondary make-default' }, 'Make default');
        if (makeDefault) {
          makeDefault.addEventListener('click', () => act(tr, () => api.patch(`/purposes/${encodeURIComponent(p.name)}`,
            { default: true }), `${p.name} is now your default purpose.`));
        }
        const del = el('button', { type: 'button', class: 'danger delete' }, 'Delete');
        del.addEventListener('click', () => act(tr, async () => {
          if (!(await confirmAction(`Delete purpose ${p.name}? Jobs already sent keep it.`,
            { confirm: 'Delete', cancel: 'Keep it' }))) return false;
          await api.del(`/purposes/${encodeURIComponent(p.name)}`);
          if (editing === p.name) startForm(null);
          return true;
        }, `Purpose ${p.name} was deleted.`));
        clear(tr.querySelector('td.row-actions')).append(el('div', { class: 'actions' }, edit, makeDefault, del),
          el('p', { class: 'row-error', role: 'alert', hidden: true }));
      });
      const n = rows.length;
      append(clear(listBox), [t, purposes.length > PAGE_SIZE ? pager({
        hasPrev: offset > 0,
        hasNext: offset + PAGE_SIZE < purposes.length,
        onPrev: () => { offset = Math.max(0, offset - PAGE_SIZE); draw(); },
        onNext: () => { offset += PAGE_SIZE; draw(); },
        label: n ? `${offset + 1}–${offset + n} of ${purposes.length}` : '',
      }) : null]);
    }

    async function load() {
      listBox.setAttribute('aria-busy', 'true');
      try {
        const r = await api.get('/purposes');
        purposes = (r && r.purposes) || [];
        if (offset >= purposes.length) offset = Math.max(0, Math.floor((purposes.length - 1) / PAGE_SIZE) * PAGE_SIZE);
        draw();
      } catch (e) {
        clear(listBox).append(el('p', { class: 'form-error', role: 'alert' }, `Your purposes could not be loaded: ${errorText(e)}`));
      } finally {
        listBox.setAttribute('aria-busy', 'false');
      }
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'My purposes'),
      el('p', { class: 'lead' }, 'Why you print, and who pays for it: an account you may charge, or you yourself. ' +
        'A purpose\'s default settings fill what a job does not set.'),
      listBox, el('section', { class: 'purpose-editor', 'aria-labelledby': 'purpose-form-title' }, formTitle, form));
    Promise.all([
      api.get('/billing-accounts').catch(() => ({ accounts: [] })),
      api.get('/queues').catch(() => ({ queues: [] })),
    ]).then(([a, q]) => {
      accounts = ((a && a.accounts) || []).filter((x) => !x.closed);
      const first = q && q.queues && q.queues[0];
      if (first && first.supported) supported = first.supported;
      fillOptions();
      startForm(null);
    });
    load();
  },
};
