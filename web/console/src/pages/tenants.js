// pages/tenants.js: "Tenants" (#/operator/tenants), the operator console's
// organisations (docs/CONSOLE.md §2, PROTOCOL.md §4 /tenants; operators
// only: nimbusd answers anyone else 403, and the navigation of other roles
// has no such page).  The list (GET /tenants) with each tenant's state and
// limits; create one (POST /tenants: name, display name, largest document,
// held jobs per user, retention, panel sign-in, jobs for unknown names);
// edit its limits (PATCH /tenants/{name}); suspend and resume (PATCH
// {suspended}) after a confirmation; delete (DELETE /tenants/{name}) after
// typing its name.  The tenant "system" holds the operators: listed, never
// suspended or deleted.  Errors show next to the field or row they concern.
import { el, clear, field, table, notice, time, errorText, formError, confirmAction, askText } from '../ui.js';

const SYSTEM = 'system';

// a size in bytes in words: "0" is the server's default
function sizeWords(bytes) {
  if (!bytes) return 'server default';
  const units = [['GiB', 1073741824], ['MiB', 1048576], ['KiB', 1024]];
  for (const [u, n] of units) if (bytes % n === 0) return `${bytes / n} ${u}`;
  return `${bytes} bytes`;
}
const orDefault = (v, unit) => (v ? `${v}${unit}` : 'server default');

// the limits' fields of a form, filled from tenant t (create: defaults)
function limitFields(t) {
  return {
    display_name: field({ label: 'Display name', name: 'display_name', value: t.display_name || '',
      hint: 'The organisation\'s name as people read it; empty: the same as the name.' }),
    max_document_size: field({ label: 'Largest document (bytes)', name: 'max_document_size', type: 'number',
      min: 0, value: String(t.max_document_size || 0),
      hint: '0: the server\'s default (--max-document-size). 10485760 is 10 MiB.' }),
    max_held_jobs_per_user: field({ label: 'Held jobs per user', name: 'max_held_jobs_per_user',
      type: 'number', min: 0, max: 1000000, value: String(t.max_held_jobs_per_user || 0),
      hint: '0: the server\'s default (--max-held-jobs).' }),
    retention_hours: field({ label: 'Unreleased jobs expire after (hours)', name: 'retention_hours',
      type: 'number', min: 0, max: 8760, value: String(t.retention_hours || 0),
      hint: '1 to 8760; 0: the server\'s default (--retention-hours).' }),
    panel_login: field({ label: 'Sign-in at a printer\'s panel', name: 'panel_login', type: 'select',
      value: t.panel_login || 'password', options: [
        { value: 'password', label: 'Password' }, { value: 'pin', label: 'Panel PIN' }] }),
    unknown_user_names: field({ label: 'Jobs for a name that is no user', name: 'unknown_user_names',
      type: 'select', value: t.unknown_user_names || 'refuse', options: [
        { value: 'refuse', label: 'Refuse them' }, { value: 'hold', label: 'Hold them without an owner' }] }),
  };
}

// the body of a limits form: numbers as integers; a field that is no
// whole number gets its error and null is returned
function limitBody(fields) {
  const body = {};
  let ok = true;
  for (const [k, f] of Object.entries(fields)) {
    f.setError('');
    const v = f.input.value.trim();
    if (f.input.type === 'number') {
      if (!/^\d+$/.test(v)) {
        f.setError('Write a whole number (0 for the server\'s default).');
        if (ok) f.input.focus();
        ok = false;
        continue;
      }
      body[k] = Number(v);
    } else if (k !== 'display_name' || v) {
      body[k] = v;
    }
  }
  return ok ? body : null;
}

export default {
  path: '/operator/tenants',
  title: 'Tenants',
  section: 'operator',
  roles: ['operator'],
  render(root, ctx) {
    const { api } = ctx;
    const listBox = el('section', { id: 'tenant-list', 'aria-busy': 'true', 'aria-labelledby': 'tenants-title' });
    const editBox = el('section', { id: 'tenant-edit', hidden: true, 'aria-labelledby': 'tenant-edit-title' });

    // ---- create ----
    const name = field({ label: 'Name', name: 'name', required: true, autocomplete: 'off',
      hint: 'Used in sign-ins (alice@name) and printer addresses: letters, digits, . _ -' });
    const createFields = limitFields({});
    const createForm = el('form', { id: 'tenant-create', class: 'tenant-form', novalidate: true },
      el('h2', { id: 'tenant-create-title' }, 'New tenant'),
      name.row, el('div', { class: 'field-row' }, Object.values(createFields).map((f) => f.row)),
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Create tenant')));
    createForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(createForm, null);
      const n = name.input.value.trim();
      if (!n) {
        name.setError('Give the tenant a name.');
        name.input.focus();
        return;
      }
      const body = limitBody(createFields);
      if (!body) return;
      body.name = n;
      try {
        await api.post('/tenants', body);
      } catch (e) {
        const input = formError(createForm, e);
        if (input) input.focus();
        return;
      }
      name.input.value = '';
      createFields.display_name.input.value = '';
      await load(true);
      notice(`The tenant ${n} was created. Add its first admin under Users with the tenant picker.`, 'ok');
    });

    // ---- edit the limits of one tenant ----
    function edit(t) {
      const fields = limitFields(t);
      const form = el('form', { id: 'tenant-edit-form', class: 'tenant-form', novalidate: true, 'data-tenant': t.name },
        el('h2', { id: 'tenant-edit-title', tabindex: '-1' }, `Limits of ${t.name}`),
        el('div', { class: 'field-row' }, Object.values(fields).map((f) => f.row)),
        el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save'),
          el('button', { type: 'button', class: 'secondary', onclick: () => { editBox.hidden = true; clear(editBox); } },
            'Close')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        formError(form, null);
        const body = limitBody(fields);
        if (!body) return;
        try {
          await api.patch(`/tenants/${encodeURIComponent(t.name)}`, body);
        } catch (e) {
          const input = formError(form, e);
          if (input) input.focus();
          return;
        }
        editBox.hidden = true;
        clear(editBox);
        await load(true);
        notice(`The limits of ${t.name} were saved.`, 'ok');
      });
      clear(editBox).append(form);
      editBox.hidden = false;
      form.querySelector('h2').focus();
    }

    // ---- row actions ----
    const rowError = (tr, err) => {
      const p = tr.querySelector('.row-error');
      p.textContent = err ? errorText(err) : '';
      p.hidden = !err;
    };
    const act = async (tr, fn, done) => {
      rowError(tr, null);
      const buttons = [...tr.querySelectorAll('button')];
      buttons.forEach((b) => { b.disabled = true; });
      try {
        if ((await fn()) === false) return;
        await load(true);
        notice(done, 'ok');
      } catch (e) {
        rowError(tr, e);
      } finally {
        buttons.forEach((b) => { if (b.isConnected) b.disabled = false; });
      }
    };
    const suspend = (t, tr) => act(tr, async () => {
      if (!(await confirmAction(`Suspend ${t.name}? Its users cannot sign in and their sessions end, ` +
        'its printers get nothing to print, and IPP and REST refuse it until you resume it. ' +
        'Nothing is deleted.', { confirm: 'Suspend', cancel: 'Keep it running' }))) return false;
      return api.patch(`/tenants/${encodeURIComponent(t.name)}`, { suspended: true });
    }, `${t.name} is suspended.`);
    const resume = (t, tr) => act(tr, async () => {
      if (!(await confirmAction(`Resume ${t.name}? Its users can sign in and print again.`,
        { confirm: 'Resume', cancel: 'Keep it suspended' }))) return false;
      return api.patch(`/tenants/${encodeURIComponent(t.name)}`, { suspended: false });
    }, `${t.name} is running again.`);
    const remove = (t, tr) => act(tr, async () => {
      const typed = await askText(`Delete ${t.name} for good? Its users, queues, printers, tokens and ` +
        `jobs are deleted with it. Type its name, ${t.name}, to confirm.`,
      { label: 'Tenant name', name: 'confirm-name', required: true, autocomplete: 'off' },
      { confirm: 'Delete the tenant', cancel: 'Keep it' });
      if (typed === null) return false;
      if (typed.trim() !== t.name) {
        throw new Error(`The name typed (${typed.trim() || 'nothing'}) is not ${t.name}: nothing was deleted.`);
      }
      return api.del(`/tenants/${encodeURIComponent(t.name)}`);
    }, `${t.name} was deleted.`);

    const actions = (t, tr) => {
      if (t.name === SYSTEM) return [el('span', { class: 'hint' }, 'The operators\' own tenant')];
      return [
        el('button', { type: 'button', class: 'secondary edit', onclick: () => edit(t) }, 'Edit limits'),
        t.suspended
          ? el('button', { type: 'button', class: 'resume', onclick: () => resume(t, tr) }, 'Resume')
          : el('button', { type: 'button', class: 'danger suspend', onclick: () => suspend(t, tr) }, 'Suspend'),
        el('button', { type: 'button', class: 'danger delete', onclick: () => remove(t, tr) }, 'Delete'),
      ];
    };

    async function load(keepNotice) {
      if (!keepNotice) notice('');
      listBox.setAttribute('aria-busy', 'true');
      let r;
      try {
        r = await api.get('/tenants');
      } catch (e) {
        clear(listBox).append(el('h2', { id: 'tenants-title' }, 'Tenants'),
          el('p', { class: 'form-error', role: 'alert' }, `The tenants could not be listed: ${errorText(e)}`));
        listBox.setAttribute('aria-busy', 'false');
        return;
      }
      const tenants = (r.tenants || []).slice().sort((a, b) => (a.name === SYSTEM) - (b.name === SYSTEM) ||
        a.name.localeCompare(b.name));
      const t = table({
        caption: `${tenants.length} tenants`,
        columns: [
          { label: 'Tenant', value: (x) => [el('strong', null, x.name),
            x.display_name && x.display_name !== x.name ? ` (${x.display_name})` : ''] },
          { label: 'State', value: (x) => el('span', { class: `tenant-state ${x.suspended ? 'suspended' : 'active'}` },
            x.suspended ? 'Suspended' : 'Active') },
          { label: 'Largest document', value: (x) => sizeWords(x.max_document_size) },
          { label: 'Held jobs per user', class: 'num', value: (x) => orDefault(x.max_held_jobs_per_user, '') },
          { label: 'Retention', value: (x) => orDefault(x.retention_hours, ' hours') },
          { label: 'Panel sign-in', value: (x) => (x.panel_login === 'pin' ? 'Panel PIN' : 'Password') },
          { label: 'Unknown names', value: (x) => (x.unknown_user_names === 'hold' ? 'Held' : 'Refused') },
          { label: 'Created', value: (x) => el('time', { datetime: x.created_at }, time(x.created_at)) },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows: tenants,
        empty: 'No tenants yet.',
        rowAttrs: (x) => ({ 'data-tenant': x.name, 'data-suspended': String(!!x.suspended) }),
      });
      const trs = t.querySelectorAll('tbody tr[data-tenant]');
      tenants.forEach((x, i) => {
        const cell = trs[i].querySelector('td.row-actions');
        clear(cell).append(el('div', { class: 'actions' }, actions(x, trs[i])),
          el('p', { class: 'row-error', role: 'alert', hidden: true }));
      });
      clear(listBox).append(el('h2', { id: 'tenants-title' }, 'Tenants'), t);
      listBox.setAttribute('aria-busy', 'false');
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Tenants'),
      el('p', { class: 'lead' }, 'The organisations on this server: their limits, and whether they may ' +
        'sign in and print.'),
      listBox, editBox, createForm);
    load();
  },
};
