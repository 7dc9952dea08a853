// pages/device.js: approving another print service's request to link an
// account (#/device, optional ?code=XXXX-XXXX): the OAuth device grant's
// verification page (docs/FEDERATION.md §2.1, PROTOCOL.md §4.12).  The
// other service shows the user a code and this page's address (GET /device
// redirects here, with the code when the address carried one).  The user
// types or checks the code; GET /oauth/device?user_code= shows which
// service asks and for what, in words; Approve (POST /oauth/device/approve)
// or Deny (POST /oauth/device/deny); the outcome is shown in words.  A
// signed-out user signs in first and comes back here with the code (the
// hash is kept).  Text only through textContent (ui.js el).
import { el, clear, field, errorText } from '../ui.js';

// what a scope lets the other service do, in words
const SCOPE_WORDS = {
  federation: 'See your user name here, so it can show you the jobs you send to this service at ' +
    'its printers. It cannot print, read your jobs or change anything here.',
};

// a code as typed: letters only, upper case, shown XXXX-XXXX
function tidy(code) {
  const s = String(code || '').toUpperCase().replace(/[^A-Z]/g, '');
  return s.length === 8 ? `${s.slice(0, 4)}-${s.slice(4)}` : String(code || '').trim();
}

export default {
  path: '/device',
  title: 'Link a device or service',
  section: 'portal',
  roles: ['user', 'tenant-admin', 'operator'],
  nav: false, // reached from the address another service shows
  render(root, ctx) {
    const { api } = ctx;
    const code = field({
      label: 'Code shown by the other service', name: 'user_code', value: tidy(ctx.params.code || ''),
      required: true, autocomplete: 'off',
      hint: '8 letters, like BCDF-GHJK. Capitals, spaces and dashes do not matter.',
    });
    const check = el('button', { type: 'submit', id: 'device-check' }, 'Continue');
    const form = el('form', { id: 'device-form', novalidate: true }, code.row,
      el('div', { class: 'actions' }, check));
    const details = el('div', { id: 'device-details', 'aria-live': 'polite' });
    const result = el('p', { id: 'device-result', role: 'status', hidden: true });
    clear(root).append(el('h1', { tabindex: '-1' }, 'Link a device or service'),
      el('p', null, 'Another print service asks to know who you are here. Only approve a request ' +
        'you started yourself, on a service you trust.'),
      form, details, result);

    const say = (text, kind) => {
      result.textContent = text;
      result.className = kind === 'error' ? 'form-error' : 'notice';
      result.dataset.kind = kind;
      result.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      result.hidden = false;
    };

    // the request of the typed code, with Approve and Deny
    const show = (grant, typed) => {
      const approve = el('button', { type: 'button', id: 'device-approve', class: 'big' }, 'Approve');
      const deny = el('button', { type: 'button', id: 'device-deny', class: 'danger' }, 'Deny');
      const decide = async (button, action, words) => {
        approve.disabled = true;
        deny.disabled = true;
        result.hidden = true;
        try {
          await api.post(`/oauth/device/${action}`, { user_code: typed });
          clear(details);
          say(words, 'ok');
        } catch (e) {
          approve.disabled = false;
          deny.disabled = false;
          say(e.status === 404 ? 'This request is no longer waiting: it expired or was already answered.'
            : `That did not work: ${errorText(e)}`, 'error');
          if (button.isConnected) button.focus();
        }
      };
      approve.addEventListener('click', () => decide(approve, 'approve',
        `Approved: ${grant.client_id} now knows your user name here. You can revoke its access on the ` +
        'Security page (the token labelled "linked: …").'));
      deny.addEventListener('click', () => decide(deny, 'deny', `Denied: ${grant.client_id} learns nothing.`));
      clear(details).append(el('dl', { class: 'job-facts' },
        el('dt', null, 'Service asking'), el('dd', { id: 'device-client' }, grant.client_id),
        el('dt', null, 'It may'), el('dd', { id: 'device-scope' }, SCOPE_WORDS[grant.scope] || grant.scope)),
      el('div', { class: 'actions' }, approve, deny));
    };

    const lookup = async () => {
      const typed = code.input.value.trim();
      result.hidden = true;
      clear(details);
      if (!typed) {
        code.setError('Type the code the other service shows.');
        code.input.focus();
        return;
      }
      code.setError('');
      check.disabled = true;
      try {
        show(await api.get('/oauth/device', { user_code: typed }), typed);
      } catch (e) {
        if (e.status === 404) code.setError('No waiting request has this code. Check it, or start again on the other service.');
        else if (e.status === 429) code.setError(`Too many wrong codes: ${errorText(e)}`);
        else say(`The request could not be loaded: ${errorText(e)}`, 'error');
        code.input.focus();
      } finally {
        check.disabled = false;
      }
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      lookup();
    });
    if (code.input.value) lookup();
  },
};
