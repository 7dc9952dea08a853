// pages/payment.js: "My payment method" (#/payment-method), docs/BILLING.md
// "Saved payment methods": the card or account that private purposes are
// charged to.  GET /me/payment-method shows it as the API gives it
// (provider, state, the masked display text such as "visa ****4242"; 404:
// none).  Register: POST /me/payment-method, then the browser goes to the
// provider's page (setup_url); the provider sends it back to nimbusd's
// /payments/method-return, which moves on to
// #/payment-method?registration=saved|pending|failed|unknown|unavailable,
// said here in words.  Remove: DELETE /me/payment-method (asked first).
import { el, clear, notice, confirmAction, errorText } from '../ui.js';

// the return from the provider (?registration=) in words, and its kind
const RETURNS = {
  saved: ['Your payment method was saved.', 'ok'],
  pending: ['The payment service has not confirmed the registration yet: look again in a moment.', 'info'],
  failed: ['The payment method was not registered.', 'error'],
  unknown: ['That registration is not known here: register again.', 'error'],
  unavailable: ['The payment service could not be reached: try again later.', 'error'],
};

const STATE_WORDS = {
  active: 'Saved and active',
  pending: 'Registration not finished',
  failed: 'Registration failed',
};

export default {
  path: '/payment-method',
  title: 'My payment method',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api } = ctx;
    const box = el('div', { id: 'payment-method', 'aria-busy': 'true' });
    const error = el('p', { class: 'form-error', id: 'payment-method-error', role: 'alert', hidden: true });
    const showError = (e) => {
      error.textContent = e ? errorText(e) : '';
      error.hidden = !e;
    };

    const register = async (button) => {
      showError(null);
      button.disabled = true;
      try {
        const r = await api.post('/me/payment-method');
        if (r && r.setup_url) {
          notice('Opening the payment service…');
          window.location.assign(r.setup_url);
          return;
        }
        showError({ message: 'The payment service gave no page to register on.' });
      } catch (e) {
        showError(e);
        button.focus();
      }
      button.disabled = false;
    };
    const remove = async (button) => {
      showError(null);
      if (!(await confirmAction('Remove your saved payment method? Jobs for a private purpose cannot be ' +
        'printed until you register one again.', { confirm: 'Remove', cancel: 'Keep it' }))) return;
      button.disabled = true;
      try {
        await api.del('/me/payment-method');
        notice('Your payment method was removed.', 'ok');
        await load();
      } catch (e) {
        showError(e);
        if (button.isConnected) { button.disabled = false; button.focus(); }
      }
    };

    const registerButton = (label) => {
      const b = el('button', { type: 'button', id: 'method-register' }, label);
      b.addEventListener('click', () => register(b));
      return b;
    };

    async function load() {
      box.setAttribute('aria-busy', 'true');
      let m = null;
      try {
        m = await api.get('/me/payment-method');
      } catch (e) {
        if (e.status !== 404) {
          clear(box).append(el('p', { class: 'form-error', role: 'alert' },
            `Your payment method could not be read: ${errorText(e)}`));
          box.setAttribute('aria-busy', 'false');
          return;
        }
      }
      if (!m) {
        clear(box).append(el('p', { id: 'method-none' }, 'You have no saved payment method.'),
          el('div', { class: 'actions' }, registerButton('Register a payment method')));
      } else {
        const rm = el('button', { type: 'button', class: 'danger', id: 'method-remove' }, 'Remove');
        rm.addEventListener('click', () => remove(rm));
        const facts = el('dl', { class: 'job-facts', id: 'method-facts' },
          el('dt', null, 'Payment method'), el('dd', { id: 'method-display' }, m.display || m.provider),
          el('dt', null, 'Provider'), el('dd', { id: 'method-provider' }, m.provider),
          el('dt', null, 'State'), el('dd', { id: 'method-state', 'data-state': m.state }, STATE_WORDS[m.state] || m.state));
        const more = [];
        if (m.state === 'pending' && m.setup_url) {
          more.push(el('a', { class: 'button', id: 'method-continue', href: m.setup_url }, 'Finish the registration'));
        }
        if (m.state !== 'active') more.push(registerButton('Register again'));
        clear(box).append(facts, el('div', { class: 'actions' }, more, rm));
      }
      box.setAttribute('aria-busy', 'false');
    }

    clear(root).append(el('h1', { tabindex: '-1' }, 'My payment method'),
      el('p', { class: 'lead' }, 'Jobs you print for a private purpose are charged to this payment method when they have printed. ' +
        'You register it on the payment service\'s own page; it is shown here only masked.'),
      error, box);
    const back = RETURNS[ctx.params.registration];
    if (back) {
      notice(back[0], back[1]);
      // the message once: a reload shows the page without it
      history.replaceState(null, '', '#/payment-method');
    }
    load();
  },
};
