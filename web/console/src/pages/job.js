// pages/job.js: one job (#/job?id=N), made for a phone: where a user lands
// after scanning the "Release from your phone" QR code on a printer's
// panel (docs/PANEL.md), and where the print page links to.  GET
// /jobs/{id} (nimbusd answers 404 for another user's or another tenant's
// job, exactly as for none: the page then says "not found" and shows
// nothing of it).  Shown: state in words, queue and printer, pages and
// copies, settings, purpose, fee, times in the viewer's zone.  Actions:
// Release (the PIN field on the page when the job has one; POST
// /jobs/{id}/release; a 202 means it must be paid first: Pay), Pay (GET
// /jobs/{id}/payment → payment_url), Cancel (POST /jobs/{id}/cancel),
// Delete (DELETE /jobs/{id}).  Errors in words next to the action.
import { el, clear, append, field, notice, time, money, confirmAction, errorText } from '../ui.js';
import { settingsText, JOB_STATE_WORDS, FINISHED_STATES } from './settings.js';

// a state in words: the shared words, saying what a waiting job waits for
const STATE_WORDS = {
  ...JOB_STATE_WORDS,
  held: 'Held: waiting for you to release it',
  fetchable: 'Released: waiting for the printer',
};

// the job's fee in words: the purpose's charge, the job's own, its payment
function feeText(job) {
  const pc = job.purpose && job.purpose.charge;
  if (pc && pc.currency) {
    const state = { held: 'held on the account', charged: 'charged', released: 'released (not charged)',
      'charge-failed': 'charge failed', charging: 'being charged' }[pc.state] || pc.state;
    return `${money(pc.total, pc.currency)} (${state})`;
  }
  if (job.charge && job.charge.currency) return money(job.charge.total, job.charge.currency);
  if (job.payment && job.payment.currency) return money(job.payment.amount, job.payment.currency);
  return 'Free';
}

function purposeText(p) {
  if (!p || !p.name) return 'None';
  return p.private ? `${p.name} (private, paid by you)` : `${p.name} (account ${p.account})`;
}

export default {
  path: '/job',
  title: 'Job',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  nav: false, // reached from a link or a QR code, not the navigation
  render(root, ctx) {
    const { api } = ctx;
    const raw = ctx.params.id || '';
    const id = /^[1-9][0-9]{0,17}$/.test(raw) ? raw : '';
    const box = el('div', { id: 'job-page', 'aria-busy': 'true' });
    clear(root).append(el('h1', { tabindex: '-1', id: 'job-title' }, id ? `Job ${id}` : 'Job'), box);
    if (!id) {
      box.append(el('p', { class: 'form-error', role: 'alert', id: 'job-error' },
        'This link names no job. Open the job from My jobs.'), el('p', null, el('a', { href: '#/jobs' }, 'My jobs')));
      box.setAttribute('aria-busy', 'false');
      return;
    }

    // draw the job; msg: a line to show above the actions
    const draw = (job) => {
      const title = root.querySelector('#job-title');
      title.textContent = `Job ${job.id}: ${job.name || 'untitled'}`;
      const rows = [
        ['State', el('span', { class: `state state-${job.state}`, id: 'job-state', 'data-state': job.state },
          STATE_WORDS[job.state] || job.state)],
        ['Queue', job.origin_device ? `${job.queue} (sent through printer ${job.origin_device})` : job.queue],
        ['Pages', String(job.pages)],
        ['Copies', String(job.copies)],
        ['Settings', settingsText(job.settings) || 'The printer\'s defaults'],
        ['Purpose', purposeText(job.purpose)],
        ['Fee', el('span', { id: 'job-fee' }, feeText(job))],
        ['PIN', job.has_pin ? 'Yes: needed to release it' : 'No'],
        ['Sent', el('time', { datetime: job.created_at }, time(job.created_at))],
      ];
      if (job.completed_at) rows.push(['Finished', el('time', { datetime: job.completed_at }, time(job.completed_at))]);
      const docsGone = Array.isArray(job.documents) && job.documents.length && job.documents.every((d) => d.purged);
      if (docsGone) rows.push(['Document', 'Deleted']);
      const dl = el('dl', { class: 'job-facts' }, rows.map(([k, v]) => [el('dt', null, k),
        el('dd', { 'data-fact': k.toLowerCase() }, v)]));
      const actionError = el('p', { class: 'row-error', id: 'job-action-error', role: 'alert', hidden: true });
      const actions = el('div', { class: 'actions job-actions' });
      const run = async (button, fn, done) => {
        actionError.hidden = true;
        const all = [...actions.querySelectorAll('button')];
        all.forEach((b) => { b.disabled = true; });
        try {
          const r = await fn();
          if (r === false) return;
          if (done) notice(done(r), 'ok');
          await load();
        } catch (e) {
          actionError.textContent = errorText(e);
          actionError.hidden = false;
          if (button && button.isConnected) button.focus();
        } finally {
          all.forEach((b) => { if (b.isConnected) b.disabled = false; });
        }
      };
      const parts = [];
      if (job.state === 'held') {
        let pin = null;
        if (job.has_pin) {
          pin = field({ label: 'PIN', name: 'pin', type: 'password', required: true, inputmode: 'numeric',
            autocomplete: 'off', hint: 'The PIN you gave when you printed the job.' });
          parts.push(pin.row);
        }
        const release = el('button', { type: 'submit', id: 'job-release', class: 'big' }, 'Release and print');
        const form = el('form', { id: 'release-form', novalidate: true }, parts.splice(0), actions);
        actions.append(release);
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          if (pin && !pin.input.value) {
            pin.setError('Type the job\'s PIN.');
            pin.input.focus();
            return;
          }
          if (pin) pin.setError('');
          run(release, () => api.post(`/jobs/${job.id}/release`, pin ? { pin: pin.input.value } : undefined),
            (r) => (r && r.state === 'awaiting-payment' ? `Job ${job.id} must be paid first: use Pay.`
              : `Job ${job.id} was released: it prints at the printer now.`));
        });
        parts.push(form);
      } else {
        parts.push(actions);
      }
      if (job.state === 'awaiting-payment') {
        const pay = el('a', { class: 'button big', id: 'job-pay', href: '#', hidden: true }, 'Pay');
        actions.append(pay);
        api.get(`/jobs/${job.id}/payment`).then((p) => {
          if (p && p.payment_url) {
            pay.href = p.payment_url;
            pay.hidden = false;
          }
        }, (e) => { actionError.textContent = errorText(e); actionError.hidden = false; });
      }
      if (!FINISHED_STATES.has(job.state)) {
        const cancel = el('button', { type: 'button', class: 'secondary', id: 'job-cancel' }, 'Cancel');
        cancel.addEventListener('click', () => run(cancel, async () => {
          if (!(await confirmAction(`Cancel job ${job.id} (${job.name || 'untitled'})? It will not print.`,
            { confirm: 'Cancel the job', cancel: 'Keep it' }))) return false;
          return api.post(`/jobs/${job.id}/cancel`);
        }, () => `Job ${job.id} was canceled.`));
        actions.append(cancel);
      }
      if (!docsGone) {
        const del = el('button', { type: 'button', class: 'danger', id: 'job-delete' }, 'Delete');
        del.addEventListener('click', () => run(del, async () => {
          if (!(await confirmAction(`Delete job ${job.id} (${job.name || 'untitled'})? Its document is deleted now ` +
            'and it will not print; the record stays in your history.', { confirm: 'Delete', cancel: 'Keep it' }))) return false;
          return api.del(`/jobs/${job.id}`);
        }, () => `Job ${job.id} was deleted.`));
        actions.append(del);
      }
      append(clear(box), [dl, parts, actionError,
        el('p', { class: 'job-back' }, el('a', { href: '#/jobs' }, 'All my jobs'))]);
    };

    async function load() {
      box.setAttribute('aria-busy', 'true');
      try {
        draw(await api.get(`/jobs/${id}`));
      } catch (e) {
        const gone = e.status === 404;
        clear(box).append(el('p', { class: 'form-error', role: 'alert', id: 'job-error' },
          gone ? `Job ${id} was not found. It may belong to someone else, or it was removed.`
            : `Job ${id} could not be loaded: ${errorText(e)}`),
        el('p', null, el('a', { href: '#/jobs' }, 'My jobs')));
      } finally {
        box.setAttribute('aria-busy', 'false');
      }
    }
    load();
  },
};
