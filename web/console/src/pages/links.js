// pages/links.js: "Linked accounts" (#/linked-accounts): the signed-in
// user's accounts on other print services (docs/FEDERATION.md §2.2), so
// that their jobs there show up in one list here:
//  - the list: GET /me/account-links, each with its service, the status
//    in words, the remote user name, when it was last checked and what
//    went wrong; Relink (POST /me/account-links/{id}/relink) and Remove
//    (DELETE, asked first);
//  - Link: the other service's address, POST /me/account-links
//    {service_url}; a pending link shows its user code as text, the
//    verification address as a link and the QR code of the complete
//    address, and the page asks again every few seconds until it is no
//    longer pending.
import { el, clear, field, formError, table, notice, time, confirmAction, errorText } from '../ui.js';

const POLL_MS = 3000;

// a status in words
const STATUS = {
  pending: 'Waiting for you to approve',
  linked: 'Linked',
  'relink-needed': 'Relink needed',
  denied: 'Denied',
  expired: 'Expired',
};

// the QR code of an SVG text as an <img> (blob: URL; the CSP allows it)
function qrImage(svg, alt) {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  const img = el('img', { src: url, alt, class: 'qr', width: 200, height: 200 });
  img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  return img;
}

// what a pending link asks of the user: the code, the address, the QR code
function pendingBox(l) {
  const complete = l.verification_uri_complete || l.verification_uri;
  return el('div', { class: 'claim', id: `link-pending-${l.id}` },
    el('p', null, 'On the other service, sign in and enter this code:'),
    el('p', { class: 'claim-code', 'data-user-code': l.user_code }, l.user_code),
    el('p', null, 'Open ', el('a', { href: complete, target: '_blank', rel: 'noopener noreferrer' },
      l.verification_uri), ' or scan the code with your phone.'),
    l.qr_svg ? qrImage(l.qr_svg, `QR code of ${complete}`) : null,
    l.expires_at ? el('p', { class: 'hint' }, `The code works until ${time(l.expires_at)}.`) : null);
}

export default {
  path: '/linked-accounts',
  title: 'Linked accounts',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api } = ctx;
    const listBox = el('div', { id: 'links-list', 'aria-busy': 'true' });
    const pendingArea = el('div', { id: 'links-pending', 'aria-live': 'polite' });
    const url = field({ label: 'Address of the other print service', name: 'service_url', type: 'url',
      required: true, hint: 'For example https://print.example.com' });
    const linkButton = el('button', { type: 'submit', id: 'link-create' }, 'Link');
    const form = el('form', { id: 'link-form', novalidate: true }, url.row,
      el('div', { class: 'actions' }, linkButton));
    let timer = null;

    const draw = (links) => {
      listBox.setAttribute('aria-busy', 'false');
      clear(listBox).append(table({
        caption: 'Your accounts on other print services',
        empty: 'No linked accounts yet.',
        rows: links,
        rowAttrs: (l) => ({ 'data-link-id': String(l.id), 'data-status': l.status }),
        columns: [
          { label: 'Service', value: (l) => l.service_url },
          { label: 'Status', value: (l) => el('span', { class: `status status-${l.status}` }, STATUS[l.status] || l.status) },
          { label: 'Account there', value: (l) => l.remote_user || '—' },
          { label: 'Last checked', value: (l) => (l.last_checked_at ? time(l.last_checked_at) : '—') },
          { label: 'Problem', value: (l) => l.last_error || '' },
          {
            label: 'Actions',
            value: (l) => el('span', null,
              l.status !== 'linked' && l.status !== 'pending'
                ? el('button', { type: 'button', class: 'secondary', onclick: () => relink(l) }, 'Relink') : null,
              el('button', { type: 'button', class: 'danger', onclick: () => remove(l) }, 'Remove')),
          },
        ],
      }));
      clear(pendingArea);
      for (const l of links) if (l.status === 'pending' && l.user_code) pendingArea.append(pendingBox(l));
      clearTimeout(timer);
      if (links.some((l) => l.status === 'pending')) {
        timer = setTimeout(() => { if (listBox.isConnected) load(); }, POLL_MS);
      }
    };

    const load = () => api.get('/me/account-links').then((d) => draw(d.account_links),
      (e) => {
        listBox.setAttribute('aria-busy', 'false');
        clear(listBox).append(el('p', { class: 'form-error', role: 'alert' },
          `Your linked accounts could not be read: ${errorText(e)}`));
      });

    const relink = async (l) => {
      try {
        await api.post(`/me/account-links/${l.id}/relink`);
        notice(`Approve the link on ${l.service_url} with the code shown.`, 'info');
      } catch (e) {
        notice(errorText(e), 'error');
      }
      load();
    };

    const remove = async (l) => {
      if (!(await confirmAction(`Remove the link to ${l.service_url}? Its jobs no longer show here.`,
        { confirm: 'Remove', cancel: 'Keep it' }))) return;
      try {
        await api.del(`/me/account-links/${l.id}`);
        notice('The link was removed.', 'ok');
      } catch (e) {
        notice(errorText(e), 'error');
      }
      load();
    };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(form, null);
      const v = url.input.value.trim();
      if (!/^https?:\/\/\S+$/.test(v)) {
        url.setError('Type the service\'s address, starting with https:// or http://.');
        url.input.focus();
        return;
      }
      linkButton.disabled = true;
      try {
        await api.post('/me/account-links', { service_url: v });
        url.input.value = '';
        notice('Now approve the link on the other service with the code shown.', 'info');
      } catch (e) {
        const input = formError(form, e);
        (input || url.input).focus();
      } finally {
        linkButton.disabled = false;
      }
      load();
    });

    clear(root).append(el('h1', { tabindex: '-1' }, 'Linked accounts'),
      el('p', null, 'Link your account on another print service to see your jobs there in your list ' +
        'and print them at this service\'s printers.'),
      form, pendingArea, listBox);
    load();
  },
};
