// pages/print.js: "Print" (#/print), printing from the browser: choose a
// PDF (file field, or drop it on the drop zone), the queue (GET /queues),
// the purpose (GET /purposes, the user's default preselected; "No purpose"
// unless GET /billing says purpose_required), copies, sides, colour and
// paper size (the values the queue's `supported` lists) and an optional
// job PIN.  The upload is api.upload (multipart POST /jobs, the fields
// named as api-jobs-upload.c names them) with a <progress> bar; a refusal
// shows in words next to the field it concerns (413 too large and 415 not
// a PDF under the file, 402/403/409/422 of a purpose under Purpose, a
// field the detail names under that field); success links to the job
// (#/job?id=N).
import { el, clear, field, formError, notice, errorText } from '../ui.js';
import { SETTINGS, settingOptions, settingsText } from './settings.js';

// a purpose in the list: "Client A (account CLIENT-A)", "Me (private)"
export function purposeLabel(p) {
  return p.private || !p.account ? `${p.name} (private, paid by you)` : `${p.name} (account ${p.account})`;
}

// the field of the form an upload error concerns (by status and problem
// type), when the detail does not name one
function errorField(err) {
  const t = err.type || '';
  if (/account-|purpose-required/.test(t)) return 'purpose';
  if (err.status === 413 || err.status === 415) return 'document';
  if (err.status === 422 && !/'[A-Za-z-]+'/.test(err.detail || '')) return 'document';
  return '';
}

// the words of an upload error: the server's, prefixed for the cases a
// person may not recognise
function uploadErrorText(err) {
  if (err.status === 413) return `The file is too large to print here: ${errorText(err)}.`;
  if (err.status === 415) return `This file cannot be printed (only PDF documents): ${errorText(err)}.`;
  if (err.status === 422 && !/account-|purpose-/.test(err.type || '')) {
    return `The document could not be read: ${errorText(err)}.`;
  }
  return errorText(err);
}

const bytesText = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.ceil(n / 1024)} kB`);

export default {
  path: '/print',
  title: 'Print',
  section: 'portal',
  roles: ['user', 'tenant-admin'],
  render(root, ctx) {
    const { api } = ctx;
    const file = field({ label: 'Document (PDF)', name: 'document', type: 'file', required: true,
      hint: 'Choose a PDF file, or drop it on the box below.' });
    file.input.accept = 'application/pdf,.pdf';
    const drop = el('div', { class: 'drop-zone', id: 'drop-zone', 'aria-hidden': 'true' },
      'Drop a PDF here');
    const chosen = el('p', { class: 'hint', id: 'file-chosen', 'aria-live': 'polite' });
    file.row.append(drop, chosen);
    const queue = field({ label: 'Queue', name: 'queue', type: 'select', required: true, options: [] });
    const purpose = field({ label: 'Purpose', name: 'purpose', type: 'select', options: [],
      hint: 'Why you print this, and so who pays for it.' });
    const copies = field({ label: 'Copies', name: 'copies', type: 'number', value: '1', min: 1, max: 999,
      required: true, inputmode: 'numeric' });
    const settings = {};
    for (const s of SETTINGS) {
      settings[s.name] = field({ label: s.label, name: s.name, type: 'select', options: settingOptions(s.name, {}) });
    }
    const pin = field({ label: 'Job PIN (optional)', name: 'job-password', type: 'password',
      autocomplete: 'new-password', inputmode: 'numeric',
      hint: 'With a PIN the job prints only after you type it at the printer or when you release it.' });
    const progressId = 'upload-progress';
    const progress = el('progress', { id: progressId, max: 100, value: 0, 'aria-valuemin': '0',
      'aria-valuemax': '100', 'aria-valuenow': '0' });
    const progressLabel = el('span', { class: 'progress-text', id: 'upload-progress-text' }, '');
    const progressRow = el('div', { class: 'upload-progress', hidden: true },
      el('label', { for: progressId }, 'Upload'), progress, progressLabel);
    const submit = el('button', { type: 'submit', id: 'print-submit' }, 'Print');
    const result = el('div', { id: 'print-result', 'aria-live': 'polite' });
    const form = el('form', { id: 'print-form', class: 'print-form', novalidate: true },
      file.row, queue.row, purpose.row, copies.row, Object.values(settings).map((f) => f.row), pin.row,
      progressRow, el('div', { class: 'actions' }, submit));

    let queues = [];
    let purposes = [];
    let required = false;

    // the queue's supported settings into the three selects, keeping a
    // choice the new queue supports too
    const fillSettings = () => {
      const q = queues.find((x) => x.name === queue.input.value);
      for (const s of SETTINGS) {
        const sel = settings[s.name].input;
        const keep = sel.value;
        clear(sel);
        for (const o of settingOptions(s.name, q && q.supported)) sel.append(el('option', { value: o.value }, o.label));
        sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '';
      }
    };
    // a purpose's default settings into the form (what it fills when the
    // job sets nothing), and said under Purpose
    const applyPurpose = () => {
      const p = purposes.find((x) => x.name === purpose.input.value);
      const d = (p && p.defaults) || {};
      for (const s of SETTINGS) {
        const sel = settings[s.name].input;
        if (d[s.name] && [...sel.options].some((o) => o.value === d[s.name])) sel.value = d[s.name];
      }
      if (d.copies) copies.input.value = String(d.copies);
      const hint = purpose.row.querySelector('.hint');
      const words = settingsText(d, d.copies);
      hint.textContent = p ? `Who pays: ${p.private || !p.account ? 'you (your saved payment method)' : `account ${p.account}`}.` +
        (words ? ` Its settings: ${words}.` : '') : 'Why you print this, and so who pays for it.';
    };
    queue.input.addEventListener('change', fillSettings);
    purpose.input.addEventListener('change', applyPurpose);

    const showChosen = () => {
      const f = file.input.files && file.input.files[0];
      chosen.textContent = f ? `${f.name}, ${bytesText(f.size)}` : '';
      file.setError('');
    };
    file.input.addEventListener('change', showChosen);
    drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      drop.classList.remove('over');
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        file.input.files = ev.dataTransfer.files;
        showChosen();
      }
    });

    const setProgress = (pct, text) => {
      progress.value = pct;
      progress.setAttribute('aria-valuenow', String(pct));
      progressLabel.textContent = text;
    };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError(form, null);
      clear(result);
      const f = file.input.files && file.input.files[0];
      if (!f) {
        file.setError('Choose a PDF file to print.');
        file.input.focus();
        return;
      }
      const n = Number(copies.input.value);
      if (!Number.isInteger(n) || n < 1 || n > 999) {
        copies.setError('Copies must be a whole number from 1 to 999.');
        copies.input.focus();
        return;
      }
      if (pin.input.value && pin.input.value.length < 4) {
        pin.setError('A PIN has at least 4 characters.');
        pin.input.focus();
        return;
      }
      if (required && !purpose.input.value) {
        purpose.setError('Choose a purpose: this service requires one on every job.');
        purpose.input.focus();
        return;
      }
      // the fields in the order api-jobs-upload.c reads them, the document last
      const fd = new FormData();
      fd.append('queue', queue.input.value);
      fd.append('job-name', f.name);
      fd.append('copies', String(n));
      for (const s of SETTINGS) if (settings[s.name].input.value) fd.append(s.name, settings[s.name].input.value);
      if (purpose.input.value) fd.append('purpose', purpose.input.value);
      if (pin.input.value) fd.append('job-password', pin.input.value);
      fd.append('document', f, f.name);
      submit.disabled = true;
      progressRow.hidden = false;
      setProgress(0, '0 %');
      try {
        const job = await api.upload('/jobs', fd, (sent, total) => {
          const pct = total ? Math.min(100, Math.round((sent * 100) / total)) : 0;
          setProgress(pct, `${pct} % (${bytesText(sent)} of ${bytesText(total)})`);
        });
        setProgress(100, '100 %: sent');
        pin.input.value = '';
        const held = job.state === 'held';
        result.append(el('p', { class: 'print-ok', role: 'status' },
          `Job ${job.id} (${job.name}) was sent${held ? ' and is held: release it here or at a printer' : ''}. `,
          el('a', { href: `#/job?id=${job.id}`, id: 'print-job-link' }, `Open job ${job.id}`)));
        notice(`Job ${job.id} was sent.`, 'ok');
      } catch (e) {
        setProgress(0, 'Not sent.');
        const name = errorField(e);
        const row = name && form.querySelector(`.field[data-name="${name}"]`);
        if (row) {
          formError(form, null);
          const target = { document: file, purpose }[name];
          target.setError(uploadErrorText(e));
          target.input.focus();
        } else {
          const input = formError(form, { detail: uploadErrorText(e) });
          if (input) input.focus();
        }
      } finally {
        submit.disabled = false;
      }
    });

    const status = el('p', { class: 'hint', id: 'print-loading' }, 'Loading the queues…');
    clear(root).append(el('h1', { tabindex: '-1' }, 'Print'),
      el('p', { class: 'lead' }, 'Send a PDF to a queue. It waits, held, until you release it here or at a printer.'),
      status, form, result);
    form.hidden = true;

    Promise.all([
      api.get('/queues'),
      api.get('/purposes').catch(() => ({ purposes: [] })),
      api.get('/billing').catch(() => ({})),
    ]).then(([q, p, b]) => {
      queues = (q && q.queues) || [];
      purposes = (p && p.purposes) || [];
      required = !!(b && b.purpose_required);
      if (!queues.length) {
        status.textContent = 'There is no queue to print to yet: ask your administrator.';
        return;
      }
      for (const x of queues) {
        queue.input.append(el('option', { value: x.name }, x.description ? `${x.name} — ${x.description}` : x.name));
      }
      if (required) purpose.input.append(el('option', { value: '' }, 'Choose a purpose'));
      else purpose.input.append(el('option', { value: '' }, 'No purpose'));
      for (const x of purposes) purpose.input.append(el('option', { value: x.name }, purposeLabel(x)));
      const def = purposes.find((x) => x.default);
      purpose.input.value = def ? def.name : '';
      if (!purposes.length && !required) purpose.row.hidden = true;
      fillSettings();
      applyPurpose();
      status.remove();
      form.hidden = false;
    }, (e) => {
      status.className = 'form-error';
      status.setAttribute('role', 'alert');
      status.textContent = `The queues could not be loaded: ${errorText(e)}`;
    });
  },
};
