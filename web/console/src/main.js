// main.js: boots the web console (docs/CONSOLE.md §1.5).  GET /session
// decides: nobody signed in (401) shows the sign-in page; otherwise the
// shell: a header with user, tenant, role and Sign out, a navigation of
// the pages the role sees (pages/index.js), for operators a tenant picker
// (api.setTenant: ?tenant= on tenant-scoped calls), the aria-live status
// line (#notice) and <main id="main">, where the page of the URL's hash
// (#/jobs, #/admin/users?x=y) is drawn.  Any 401 afterwards ends the
// session: the sign-in page with "Your session ended; sign in again".
import { api, currentSession, signOut, onSessionEnded, setTenant, currentTenant } from './api.js';
import { el, clear, notice, errorText } from './ui.js';
import { pagesFor, sections } from './pages/index.js';
import signinPage from './pages/signin.js';

const APP = 'Nimbus Print';
let session = null;

// the hash as {path, params}: '#/jobs?state=held' → {'/jobs', {state}}
function parseHash() {
  const h = window.location.hash || '';
  if (!h.startsWith('#/')) return { path: '', params: {} };
  const [path, q] = h.slice(1).split('?', 2);
  return { path, params: Object.fromEntries(new URLSearchParams(q || '')) };
}

// the whole window: root is #app
const root = () => document.getElementById('app');

// the sign-in page, with message (after a 401 or a sign-out) when given
function showSignIn(message) {
  session = null;
  setTenant('');
  document.title = `Sign in — ${APP}`;
  const main = el('main', { id: 'main', tabindex: '-1' });
  root().classList.add('signed-out');
  clear(root()).append(
    el('header', { class: 'topbar' }, el('span', { class: 'brand' }, APP)),
    el('p', { id: 'notice', class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true }),
    main);
  signinPage.render(main, { message, onSignedIn: (s) => { session = s; showShell(); } });
}

// the operator's tenant picker: GET /tenants into a <select>
function tenantPicker() {
  const id = 'tenant-picker';
  const select = el('select', { id, name: 'tenant' }, el('option', { value: '' }, 'No tenant'));
  select.addEventListener('change', () => {
    setTenant(select.value);
    route();
  });
  api.get('/tenants').then((r) => {
    for (const t of (r && r.tenants) || []) {
      if (t.name === 'system') continue;
      select.append(el('option', { value: t.name }, t.name));
    }
    select.value = currentTenant();
  }, (e) => notice(`The tenants could not be listed: ${errorText(e)}`, 'error'));
  return el('div', { class: 'tenant-picker' }, el('label', { for: id }, 'Tenant'), select);
}

// the navigation: the role's pages under their section headings
function navigation(pages) {
  const nav = el('nav', { class: 'mainnav', 'aria-label': 'Main' });
  for (const [key, heading] of Object.entries(sections)) {
    const mine = pages.filter((p) => p.section === key && p.nav !== false);
    if (!mine.length) continue;
    nav.append(el('div', { class: 'nav-section' },
      el('h2', { class: 'nav-heading' }, heading),
      el('ul', null, mine.map((p) => el('li', null,
        el('a', { href: `#${p.path}`, 'data-path': p.path }, p.title))))));
  }
  return nav;
}

// the shell of a signed-in session, then the page of the hash
function showShell() {
  const who = session.user.includes('@') ? session.user : `${session.user}@${session.tenant}`;
  const signOutButton = el('button', { type: 'button', class: 'secondary', id: 'signout' }, 'Sign out');
  signOutButton.addEventListener('click', async () => {
    signOutButton.disabled = true;
    try {
      await signOut();
      showSignIn('You signed out.');
    } catch (e) {
      signOutButton.disabled = false;
      notice(`Sign-out failed: ${errorText(e)}`, 'error');
    }
  });
  const pages = pagesFor(session.role);
  root().classList.remove('signed-out');
  clear(root()).append(
    el('header', { class: 'topbar' },
      el('a', { class: 'brand', href: '#/' }, APP),
      el('div', { class: 'session' },
        el('span', { class: 'who', id: 'who' }, who),
        el('span', { class: 'role', id: 'role' }, session.role),
        session.role === 'operator' ? tenantPicker() : null,
        signOutButton)),
    navigation(pages),
    el('p', { id: 'notice', class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true }),
    el('main', { id: 'main', tabindex: '-1' }));
  route();
}

// draw the page of the hash in <main>; '' or an unknown path: the role's
// first page
function route() {
  if (!session) return;
  const pages = pagesFor(session.role);
  const { path, params } = parseHash();
  const page = pages.find((p) => p.path === path);
  if (!page) {
    if (pages.length && path !== pages[0].path) {
      history.replaceState(null, '', `#${pages[0].path}`);
      route();
      return;
    }
  }
  const main = document.getElementById('main');
  for (const a of document.querySelectorAll('.mainnav a')) {
    if (page && a.dataset.path === page.path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  notice('');
  clear(main);
  if (!page) {
    document.title = APP;
    main.append(el('h1', null, APP), el('p', null, 'There is no page here for your role yet.'));
    return;
  }
  document.title = `${page.title} — ${APP}`;
  try {
    page.render(main, { session, api, params });
  } catch (e) {
    main.append(el('p', { class: 'form-error', role: 'alert' }, `This page failed: ${errorText(e)}`));
  }
}

// the skip link moves focus to <main> without touching the hash route
function skipLink() {
  const link = document.querySelector('.skip-link');
  if (!link) return;
  link.addEventListener('click', (ev) => {
    ev.preventDefault();
    const main = document.getElementById('main');
    if (main) main.focus();
  });
}

async function boot() {
  skipLink();
  onSessionEnded(() => {
    if (session) showSignIn('Your session ended; sign in again.');
  });
  window.addEventListener('hashchange', () => {
    if (!parseHash().path && window.location.hash) return; // #main: the skip link
    route();
    const h1 = document.querySelector('#main h1');
    if (h1) h1.focus(); // a screen reader announces the new page
  });
  try {
    session = await currentSession();
  } catch (e) {
    clear(root()).append(el('main', { id: 'main' }, el('h1', null, APP),
      el('p', { class: 'form-error', role: 'alert' }, `The console cannot reach the server: ${errorText(e)}`)));
    return;
  }
  if (session) showShell();
  else showSignIn();
}

boot();
