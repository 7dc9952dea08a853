// pages/security.js: "Security" (#/security): the signed-in user's
//  - password: PATCH /users/{me} {password}.  A password change ends
//    every session of the user, this one too (docs/CONSOLE.md §1.3): the
//    page says so and signs in again with the new password (POST /session);
//    should that fail, the sign-in page shows (api.js onSessionEnded);
//  - panel PIN (what the printers' panels ask when the tenant signs in by
//    PIN): GET /users/{me} has_panel_pin; set PATCH {panel_pin: "1234"},
//    remove PATCH {panel_pin: ""};
//  - API tokens: GET /tokens (own only, 10 a page, with created, expiry and
//    state), POST /tokens {label, expires_in} shows the secret once with a
//    Copy button, DELETE /tokens/{id} revokes (asked first).
import { el, clear, append, field, formError, table, pager, notice, time, confirmAction, errorText } from '../ui.js';
import { signIn } from '../api.js';

const PAGE_SIZE = 10;
const EXPIRY = [
  { value: '', label: 'Never' },
  { value: String(30 * 86400), label: '30 days' },
  { value: String(90 * 86400), label: '90 days' },
  { value: String(365 * 86400), label: '1 year' },
];

// a token's state in words at time now (ms)
function tokenState(t, now) {
  if (t.revoked) return 'Revoked';
  if (t.expires_at && Date.parse(t.expires_at) <= now) return 'Expired';
  return 'Active';
}

export default {
  path: '/security',
  title: 'Security',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api, session } = ctx;
    const me = session.user.replace(/@.*$/, '');
    const full = `${me}@${session.tenant}`;
    const mePath = `/users/${encodeURIComponent(me)}`;

    // ---- password ----
    const pw1 = field({ label: 'New password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    const pw2 = field({ label: 'New password again', name: 'password2', type: 'password', autocomplete: 'new-password', required: true });
    const pwButton = el('button', { type: 'submit', id: 'password-submit' }, 'Change password');
    const pwForm = el('form', { id: 'password-form', novalidate: true },
      el('p', { class: 'hint' }, 'Changing your password signs you out everywhere else (other browsers, other devices).'),
      pw1.row, pw2.row, el('div', { class: 'actions' }, pwButton));
    pwForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(pwForm, null);
      const p = pw1.input.value;
      if (!p) { pw1.setError('Type a new password.'); pw1.input.focus(); return; }
      if (p !== pw2.input.value) { pw2.setError('The two passwords differ.'); pw2.input.focus(); return; }
      pwButton.disabled = true;
      try {
        await api.patch(mePath, { password: p });
      } catch (e) {
        const input = formError(pwForm, e);
        (input || pw1.input).focus();
        pwButton.disabled = false;
        return;
      }
      pw1.input.value = '';
      pw2.input.value = '';
      // every session of ours ended, this one too: sign in again with the
      // new password (its own 401 is an answer, not a session's end)
      try {
        await signIn(full, p);
        notice('Your password was changed. Your other sessions were signed out; this one signed in again ' +
          'with the new password.', 'ok');
        pwButton.disabled = false;
      } catch (e) {
        notice('Your password was changed and all your sessions were signed out: sign in with the new password.', 'info');
        await api.get('/session').catch(() => {}); // the 401 shows the sign-in page
      }
    });

    // ---- panel PIN ----
    const pinState = el('p', { id: 'panel-pin-state' }, 'Reading…');
    const pin = field({ label: 'New panel PIN', name: 'panel_pin', type: 'password', inputmode: 'numeric',
      autocomplete: 'off', hint: '4 to 12 digits. Printers ask for it when your organisation signs in at the printer by PIN.' });
    const pinButton = el('button', { type: 'submit', id: 'panel-pin-submit' }, 'Set PIN');
    const pinRemove = el('button', { type: 'button', class: 'danger', id: 'panel-pin-remove', hidden: true }, 'Remove PIN');
    const pinForm = el('form', { id: 'panel-pin-form', novalidate: true }, pinState, pin.row,
      el('div', { class: 'actions' }, pinButton, pinRemove));
    const showPin = (u) => {
      pinState.textContent = u.has_panel_pin ? 'You have a panel PIN.' : 'You have no panel PIN.';
      pinState.dataset.hasPin = String(!!u.has_panel_pin);
      pinRemove.hidden = !u.has_panel_pin;
      pinButton.textContent = u.has_panel_pin ? 'Change PIN' : 'Set PIN';
    };
    const readMe = () => api.get(mePath).then(showPin,
      (e) => { pinState.textContent = `Your panel PIN could not be read: ${errorText(e)}`; });
    pinForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(pinForm, null);
      if (!/^[0-9]{4,12}$/.test(pin.input.value)) {
        pin.setError('A panel PIN is 4 to 12 digits.');
        pin.input.focus();
        return;
      }
      pinButton.disabled = true;
      try {
        showPin(await api.patch(mePath, { panel_pin: pin.input.value }));
        pin.input.value = '';
        notice('Your panel PIN was set.', 'ok');
      } catch (e) {
        const input = formError(pinForm, e);
        (input || pin.input).focus();
      } finally {
        pinButton.disabled = false;
      }
    });
    pinRemove.addEventListener('click', async () => {
      formError(pinForm, null);
      if (!(await confirmAction('Remove your panel PIN?', { confirm: 'Remove', cancel: 'Keep it' }))) return;
      try {
        showPin(await api.patch(mePath, { panel_pin: '' }));
        notice('Your panel PIN was removed.', 'ok');
      } catch (e) {
        formError(pinForm, e);
      }
    });

    // ---- API tokens ----
    const label = field({ label: 'Label', name: 'label', hint: 'What the token is for, e.g. "laptop script".' });
    const expiry = field({ label: 'Expires after', name: 'expires_in', type: 'select', options: EXPIRY });
    const tokenButton = el('button', { type: 'submit', id: 'token-create' }, 'Create token');
    const tokenForm = el('form', { id: 'token-form', novalidate: true }, label.row, expiry.row,
      el('div', { class: 'actions' }, tokenButton));
    const created = el('div', { id: 'token-created', 'aria-live': 'polite' });
    const listBox = el('div', { id: 'tokens-list', 'aria-busy': 'true' });
    let tokens = [];
    let offset = 0;

    // the new token's secret, once, with a Copy button
    const showSecret = (t) => {
      const input = el('input', { type: 'text', id: 'token-secret', readonly: true, value: t.token,
        'aria-describedby': 'token-secret-hint' });
      const copy = el('button', { type: 'button', class: 'secondary', id: 'token-copy' }, 'Copy');
      const copied = el('span', { class: 'hint', id: 'token-copied', 'aria-live': 'polite' });
      copy.addEventListener('click', async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(t.token);
          copied.textContent = 'Copied.';
        } catch (e) {
          copied.textContent = document.execCommand && document.execCommand('copy') ? 'Copied.'
            : 'Select the text and copy it yourself.';
        }
      });
      clear(created).append(el('div', { class: 'token-box' },
        el('label', { for: 'token-secret' }, `Your new token ${t.label ? `"${t.label}"` : ''} (number ${t.id})`),
        el('div', { class: 'token-row' }, input, copy),
        el('p', { class: 'hint', id: 'token-secret-hint' }, 'This is the only time it is shown: copy it now. ' +
          'Send it as "Authorization: Bearer …".'), copied));
      input.focus();
      input.select();
    };

    tokenForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(tokenForm, null);
      const body = {};
      if (label.input.value.trim()) body.label = label.input.value.trim();
      if (expiry.input.value) body.expires_in = Number(expiry.input.value);
      tokenButton.disabled = true;
      try {
        const t = await api.post('/tokens', body);
        label.input.value = '';
        showSecret(t);
        notice(`Token ${t.id} was created.`, 'ok');
        await loadTokens();
      } catch (e) {
        const input = formError(tokenForm, e);
        if (input) input.focus();
      } finally {
        tokenButton.disabled = false;
      }
    });

    const drawTokens = () => {
      const now = Date.now();
      const rows = tokens.slice(offset, offset + PAGE_SIZE);
      const t = table({
        caption: 'My API tokens',
        columns: [
          { label: 'Token', value: (x) => `No. ${x.id}${x.label ? `: ${x.label}` : ''}` },
          { label: 'Created', value: (x) => el('time', { datetime: x.created_at }, time(x.created_at)) },
          { label: 'Expires', value: (x) => (x.expires_at ? el('time', { datetime: x.expires_at }, time(x.expires_at)) : 'Never') },
          { label: 'State', value: (x) => el('span', { class: 'token-state' }, tokenState(x, now)) },
          { label: 'Actions', class: 'row-actions', value: () => null },
        ],
        rows,
        empty: 'You have no API tokens.',
        rowAttrs: (x) => ({ 'data-token': x.id }),
      });
      const trs = t.querySelectorAll('tbody tr[data-token]');
      rows.forEach((x, i) => {
        const cell = trs[i].querySelector('td.row-actions');
        const err = el('p', { class: 'row-error', role: 'alert', hidden: true });
        if (tokenState(x, now) === 'Active') {
          const revoke = el('button', { type: 'button', class: 'danger revoke' }, 'Revoke');
          revoke.addEventListener('click', async () => {
            err.hidden = true;
            if (!(await confirmAction(`Revoke token ${x.id}${x.label ? ` (${x.label})` : ''}? Programs using it stop working.`,
              { confirm: 'Revoke', cancel: 'Keep it' }))) return;
            try {
              await api.del(`/tokens/${x.id}`);
              notice(`Token ${x.id} was revoked.`, 'ok');
              await loadTokens();
            } catch (e) {
              err.textContent = errorText(e);
              err.hidden = false;
            }
          });
          cell.append(revoke);
        }
        cell.append(err);
      });
      const n = rows.length;
      append(clear(listBox), [t, tokens.length > PAGE_SIZE ? pager({
        hasPrev: offset > 0,
        hasNext: offset + PAGE_SIZE < tokens.length,
        onPrev: () => { offset = Math.max(0, offset - PAGE_SIZE); drawTokens(); },
        onNext: () => { offset += PAGE_SIZE; drawTokens(); },
        label: n ? `${offset + 1}–${offset + n} of ${tokens.length}` : '',
      }) : null]);
    };

    async function loadTokens() {
      listBox.setAttribute('aria-busy', 'true');
      try {
        const r = await api.get('/tokens');
        // an admin's listing holds the tenant's: here only the user's own, newest first
        tokens = ((r && r.tokens) || []).filter((x) => x.user === me).sort((a, b) => b.id - a.id);
        if (offset >= tokens.length) offset = 0;
        drawTokens();
      } catch (e) {
        clear(listBox).append(el('p', { class: 'form-error', role: 'alert' }, `Your tokens could not be loaded: ${errorText(e)}`));
      } finally {
        listBox.setAttribute('aria-busy', 'false');
      }
    }

    const section = (id, title, ...children) => el('section', { class: 'security-section', 'aria-labelledby': id },
      el('h2', { id }, title), children);
    clear(root).append(el('h1', { tabindex: '-1' }, 'Security'),
      el('p', { class: 'lead' }, `Signed in as ${full}.`),
      section('security-password', 'Password', pwForm),
      section('security-pin', 'Panel PIN', pinForm),
      section('security-tokens', 'API tokens',
        el('p', { class: 'hint' }, 'A token lets a program (a script, nimbusctl) act as you on the REST API and print to your queues.'),
        tokenForm, created, listBox));
    readMe();
    loadTokens();
  },
};
