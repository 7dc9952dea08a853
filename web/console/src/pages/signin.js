// pages/signin.js: the sign-in page (docs/CONSOLE.md §1.3, §2).  One
// "User" field takes name@tenant, as nimbusctl and HTTP Basic do (the
// operator signs in as admin@system); a separate tenant field is not
// needed.  Errors show in words next to the field they concern: a user
// without "@tenant" under User, wrong credentials (401) and the sign-in
// throttle's 429 (with the wait) under Password.  Not a routed page: main.js
// shows it when nobody is signed in, with a message after a 401 ("Your
// session ended; sign in again") or a sign-out.
import { signIn, ApiError } from '../api.js';
import { el, field, clear, errorText } from '../ui.js';

// the wait of a 429 in words: "1 minute 5 seconds"
function waitWords(secs) {
  const s = Math.max(1, Math.round(secs));
  const m = Math.floor(s / 60);
  const r = s % 60;
  const parts = [];
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  if (r || !m) parts.push(`${r} second${r === 1 ? '' : 's'}`);
  return parts.join(' ');
}

export default {
  path: '/signin',
  title: 'Sign in',
  section: 'public',
  roles: [],
  // render(root, {message, onSignedIn(session)}): the form in root
  render(root, ctx) {
    const user = field({ label: 'User', name: 'user', autocomplete: 'username', required: true,
      hint: 'Your user name and organisation, as name@organisation (for example alice@acme).' });
    user.input.setAttribute('autocapitalize', 'none');
    user.input.spellcheck = false;
    const password = field({ label: 'Password', name: 'password', type: 'password',
      autocomplete: 'current-password', required: true });
    const button = el('button', { type: 'submit', id: 'signin-submit' }, 'Sign in');
    const message = ctx.message
      ? el('p', { class: 'signin-message', id: 'signin-message', role: 'status' }, ctx.message)
      : null;
    const form = el('form', { class: 'signin', id: 'signin-form', novalidate: true },
      user.row, password.row, el('div', { class: 'actions' }, button));

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      user.setError('');
      password.setError('');
      const name = user.input.value.trim();
      if (!/^[^@\s]+@[^@\s]+$/.test(name)) {
        user.setError('Write your user as name@organisation, for example alice@acme.');
        user.input.focus();
        return;
      }
      if (!password.input.value) {
        password.setError('Enter your password.');
        password.input.focus();
        return;
      }
      button.disabled = true;
      button.textContent = 'Signing in…';
      try {
        const session = await signIn(name, password.input.value);
        password.input.value = '';
        ctx.onSignedIn(session);
      } catch (e) {
        button.disabled = false;
        button.textContent = 'Sign in';
        if (e instanceof ApiError && e.status === 401) {
          password.setError('Wrong user or password.');
        } else if (e instanceof ApiError && e.status === 429) {
          password.setError(e.retryAfter
            ? `Too many failed sign-ins: wait ${waitWords(e.retryAfter)}, then try again.`
            : `Too many failed sign-ins: ${errorText(e)}`);
        } else if (e instanceof ApiError && e.status === 403 && /tenant-suspended$/.test(e.type)) {
          user.setError(`Your organisation (${name.split('@')[1]}) is suspended: nobody in it can sign in ` +
            'until the operator of this server resumes it.');
        } else if (e instanceof ApiError && e.status === 403) {
          user.setError(errorText(e));
        } else {
          password.setError(`Could not sign in: ${errorText(e)}`);
        }
        password.input.select();
        password.input.focus();
      }
    });

    clear(root);
    root.append(el('section', { class: 'signin-page', 'aria-labelledby': 'signin-title' },
      el('h1', { id: 'signin-title' }, 'Sign in to Nimbus Print'),
      message, form));
    user.input.focus();
  },
};
