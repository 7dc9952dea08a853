// pages/users.js: "Users" (#/admin/users), the tenant admin's users
// (docs/CONSOLE.md §2 "Users").  GET /users, 20 a page (the API lists them all;
// the page pages them here).  Invite: POST /users with a role and an
// initial password made here with crypto.getRandomValues, shown once with
// a Copy button and never logged.  Per user: change the role, set or
// remove the panel PIN (PATCH /users/{name} {role} / {panel_pin}), delete
// (DELETE, after a confirm dialog), and Held jobs: GET
// /jobs?user=NAME&state=held with Unlock (POST /jobs/{id}/unlock, for a
// job locked by wrong PINs until locked_until) and "Release for this user"
// (POST /jobs/{id}/release {override: true}: audited, as the page says).
// Operators manage the tenant of the shell's tenant picker.
import { el, clear, append, table, notice, time, confirmAction, askText, errorText } from '../ui.js';
import { needTenant, loadFailed, form, act, actionsCell, paged, copyButton } from './admin-lib.js';

const ROLES = [
  { value: 'user', label: 'User' },
  { value: 'tenant-admin', label: 'Tenant admin' },
];
const roleWords = (r) => (ROLES.find((x) => x.value === r) || { label: r }).label;

// an initial password: 16 characters of an alphabet without look-alikes,
// from crypto.getRandomValues with rejection sampling (no modulo bias)
export function generatePassword(length = 16) {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const limit = 256 - (256 % alphabet.length);
  const out = [];
  while (out.length < length) {
    const bytes = new Uint8Array(length * 2);
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      if (b < limit && out.length < length) out.push(alphabet[b % alphabet.length]);
    }
  }
  return out.join('');
}

export default {
  path: '/admin/users',
  title: 'Users',
  section: 'admin',
  roles: ['tenant-admin', 'operator'],
  render(root, ctx) {
    if (needTenant(root, ctx, 'Users')) return;
    const { api } = ctx;
    let offset = 0;
    let users = [];
    const listBox = el('div', { id: 'users-list', 'aria-busy': 'true' });
    const inviteBox = el('section', { id: 'invite', 'aria-label': 'Invite a user' });
    const heldBox = el('section', { id: 'held-jobs', 'aria-label': 'Held jobs of a user', hidden: true });

    // ---- invite ----
    function showInvite() {
      const f = form({
        id: 'invite-form',
        title: 'Invite a user',
        intro: 'The user signs in with the initial password shown once below, and may change it.',
        fields: [
          { label: 'Name', name: 'name', required: true, autocomplete: 'off',
            hint: 'Letters, digits, . _ - (what they sign in with: name@tenant).' },
          { label: 'Role', name: 'role', type: 'select', options: ROLES, value: 'user' },
        ],
        submit: 'Invite',
        onSubmit: async (v) => {
          const password = generatePassword();
          const u = await api.post('/users', { name: v.name, role: v.role, password });
          showPassword(u, password);
          await load();
        },
      });
      clear(inviteBox).append(f.node);
    }

    // the initial password, once: shown with Copy and never kept
    function showPassword(u, password) {
      const code = el('code', { id: 'initial-password' }, password);
      const tenant = ctx.session.role === 'operator' ? '' : `@${ctx.session.tenant}`;
      clear(inviteBox).append(el('div', { class: 'secret-box', role: 'status' },
        el('h2', null, `${u.name} was invited`),
        el('p', null, `Give ${u.name} this initial password. It is shown only now: it is not stored ` +
          'in a form anyone can read back.'),
        el('p', { class: 'secret' }, el('span', null, `User: ${u.name}${tenant}`), el('br'),
          'Password: ', code, ' ', copyButton(password, code)),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'secondary', onclick: showInvite }, 'Done, invite another'))));
      notice(`${u.name} was invited as ${roleWords(u.role)}.`, 'ok');
    }

    // ---- a user's held jobs ----
    async function showHeld(name) {
      heldBox.hidden = false;
      clear(heldBox).append(el('h2', { tabindex: '-1', id: 'held-heading' }, `Held jobs of ${name}`),
        el('p', { class: 'hint' }, 'Unlock ends a lock after too many wrong PINs. "Release for this ' +
          'user" releases a job without its PIN; each such release is recorded in the audit log with ' +
          'your name.'),
        el('p', { 'aria-busy': 'true' }, 'Loading…'));
      heldBox.querySelector('h2').focus();
      let data;
      try {
        data = await api.get('/jobs', { user: name, state: 'held', limit: 100 });
      } catch (e) {
        heldBox.lastChild.replaceWith(el('p', { class: 'form-error', role: 'alert' },
          `The held jobs could not be loaded: ${errorText(e)}`));
        return;
      }
      const jobs = data.jobs || [];
      const reload = () => showHeld(name);
      const t = table({
        caption: `${name}'s held jobs`,
        columns: [
          { label: 'Job', value: (j) => `No. ${j.id} ${j.name || 'untitled'}` },
          { label: 'Queue', value: (j) => j.queue },
          { label: 'Pages', class: 'num', value: (j) => String(j.pages * (j.copies || 1)) },
          { label: 'PIN', value: (j) => (j.has_pin ? 'Has a PIN' : 'No PIN') },
          { label: 'Locked', value: (j) => (j.locked_until
            ? el('span', { class: 'locked' }, `Locked until ${time(j.locked_until)} (wrong PINs)`) : 'No') },
          { label: 'Submitted', value: (j) => time(j.created_at) },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows: jobs,
        empty: `${name} has no held jobs.`,
        rowAttrs: (j) => ({ 'data-job': j.id }),
      });
      const trs = t.querySelectorAll('tbody tr[data-job]');
      jobs.forEach((j, i) => {
        const tr = trs[i];
        const buttons = [];
        if (j.locked_until) {
          buttons.push(el('button', { type: 'button', class: 'unlock', onclick: () => act(tr,
            () => api.post(`/jobs/${j.id}/unlock`), () => `Job ${j.id} was unlocked.`, reload) }, 'Unlock'));
        }
        buttons.push(el('button', { type: 'button', class: 'release-for', onclick: () => act(tr, async () => {
          if (!(await confirmAction(`Release job ${j.id} (${j.name || 'untitled'}) for ${name}` +
            `${j.has_pin ? ' without its PIN' : ''}? The release is recorded in the audit log.`,
          { confirm: 'Release for this user', cancel: 'Keep it held' }))) return false;
          return api.post(`/jobs/${j.id}/release`, { override: true });
        }, (r) => (r && r.state === 'awaiting-payment' ? `Job ${j.id} waits for its payment.`
          : `Job ${j.id} was released for ${name}.`), reload) }, 'Release for this user'));
        clear(tr.querySelector('td.row-actions')).append(...actionsCell(buttons));
      });
      heldBox.lastChild.replaceWith(t);
    }

    // ---- the list ----
    function draw() {
      const { rows, pagerNode } = paged(users, offset, (o) => { offset = o; draw(); });
      const t = table({
        caption: 'Users of the tenant',
        columns: [
          { label: 'Name', value: (u) => el('span', { class: 'user-name' }, u.name) },
          { label: 'Role', value: (u) => roleWords(u.role) },
          { label: 'Panel PIN', value: (u) => (u.has_panel_pin ? 'Set' : 'None') },
          { label: 'Created', value: (u) => time(u.created_at) },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'The tenant has no users.',
        rowAttrs: (u) => ({ 'data-user': u.name }),
      });
      const trs = t.querySelectorAll('tbody tr[data-user]');
      rows.forEach((u, i) => {
        const tr = trs[i];
        const self = u.name === ctx.session.user.replace(/@.*/, '') && ctx.session.role !== 'operator';
        const b = [
          el('button', { type: 'button', class: 'secondary role', disabled: self, onclick: () => act(tr, async () => {
            const role = await askText(`The role of ${u.name}:`, { label: 'Role', name: 'role', type: 'select',
              options: ROLES, value: u.role }, { confirm: 'Change role' });
            if (role === null || role === u.role) return false;
            return api.patch(`/users/${encodeURIComponent(u.name)}`, { role });
          }, (r) => `${u.name} is now ${roleWords(r.role)}; their sessions ended.`, load) }, 'Change role'),
          el('button', { type: 'button', class: 'secondary pin', onclick: () => act(tr, async () => {
            const pin = await askText(`A new panel PIN for ${u.name} (what they type at a printer's panel ` +
              'when the tenant signs in with PINs).', { label: 'New panel PIN', name: 'panel_pin',
              type: 'password', required: true, inputmode: 'numeric', autocomplete: 'off',
              hint: '4 to 12 digits.' }, { confirm: 'Set PIN' });
            if (pin === null) return false;
            return api.patch(`/users/${encodeURIComponent(u.name)}`, { panel_pin: pin });
          }, () => `${u.name}'s panel PIN was set.`, load) }, u.has_panel_pin ? 'Reset panel PIN' : 'Set panel PIN'),
          u.has_panel_pin ? el('button', { type: 'button', class: 'secondary pin-remove', onclick: () => act(tr, async () => {
            if (!(await confirmAction(`Remove ${u.name}'s panel PIN?`, { confirm: 'Remove PIN' }))) return false;
            return api.patch(`/users/${encodeURIComponent(u.name)}`, { panel_pin: '' });
          }, () => `${u.name}'s panel PIN was removed.`, load) }, 'Remove panel PIN') : null,
          el('button', { type: 'button', class: 'secondary held', onclick: () => showHeld(u.name) }, 'Held jobs'),
          el('button', { type: 'button', class: 'danger delete', disabled: self, onclick: () => act(tr, async () => {
            if (!(await confirmAction(`Delete ${u.name}? Their tokens go; their jobs stay in the history.`,
              { confirm: 'Delete user', cancel: 'Keep' }))) return false;
            return api.del(`/users/${encodeURIComponent(u.name)}`);
          }, () => `${u.name} was deleted.`, load) }, 'Delete'),
        ];
        clear(tr.querySelector('td.row-actions')).append(...actionsCell(b));
      });
      append(clear(listBox), [t, pagerNode]);
      listBox.setAttribute('aria-busy', 'false');
    }

    async function load() {
      listBox.setAttribute('aria-busy', 'true');
      try {
        users = (await api.get('/users')).users || [];
      } catch (e) {
        loadFailed(listBox, 'the users of this tenant', e);
        inviteBox.hidden = true;
        return;
      }
      draw();
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'Users'),
      el('p', { class: 'lead' }, 'Who may print and manage this tenant: invite people, set their role ' +
        'and panel PIN, and help with their held jobs.'),
      listBox, heldBox, inviteBox);
    showInvite();
    load();
  },
};
