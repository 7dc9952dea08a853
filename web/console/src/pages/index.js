// pages/index.js: the console's routed pages, in navigation order
// (docs/CONSOLE.md §1.5).  Each page module exports as default
// {path, title, section: 'portal'|'admin'|'operator', roles, render(root,
// ctx), nav}: path is the hash route ('/jobs' is #/jobs), roles the session
// roles that see it ('user', 'tenant-admin', 'operator'), render draws the
// page into root with ctx = {session, api, params} (params: the hash's
// query, #/jobs?state=held → {state: 'held'}); nav: false keeps a page
// out of the navigation (#/job, reached by links and QR codes).  To add a page: write
// pages/NAME.js, import it here, list it in `pages`, and add the file to
// console_sources in web/console/meson.build.
import jobs from './jobs.js';
import print from './print.js';
import job from './job.js';
import purposes from './purposes.js';
import payment from './payment.js';
import usage from './usage.js';
import security from './security.js';
import links from './links.js';
import users from './users.js';
import queues from './queues.js';
import printers from './printers.js';
import prices from './prices.js';
import accounts from './accounts.js';
import reports from './reports.js';
import audit from './audit.js';
import tenants from './tenants.js';
import fees from './fees.js';
import health from './health.js';
import device from './device.js';
import contracts from './contracts.js';
import services from './services.js';
import { el, clear } from '../ui.js';

// the navigation's section headings
export const sections = {
  portal: 'My printing',
  admin: 'Administration',
  operator: 'Operator',
};

// portal, administration, operator (an operator starts on the operator's
// pages: pagesFor)
export const pages = [jobs, print, purposes, payment, usage, security, links, job, device, users, queues,
  printers, prices, accounts, contracts, services, reports, audit, tenants, fees, health];

// the stand-in for page p at its path for a role that may not see it: it
// says so in words (section 'denied': in no navigation heading, after the
// role's own pages, so never the role's first page)
function notPermitted(p) {
  return {
    path: p.path,
    title: 'Not permitted',
    section: 'denied',
    roles: [],
    render(root) {
      clear(root).append(el('h1', { tabindex: '-1' }, 'Not permitted'),
        el('p', { class: 'form-error', role: 'alert', id: 'not-permitted' },
          `You are not permitted to see ${p.title}: it is for ${p.section === 'operator'
            ? 'the operator of this server' : 'administrators'} only.`),
        el('p', null, el('a', { href: '#/' }, 'Back to your first page')));
    },
  };
}

// the pages a role sees, in navigation order, then the stand-ins of the
// others (not permitted)
export function pagesFor(role) {
  const own = pages.filter((p) => p.roles.includes(role));
  // an operator starts on the operator console (the sort is stable)
  if (role === 'operator') own.sort((a, b) => (b.section === 'operator') - (a.section === 'operator'));
  return own
    .concat(pages.filter((p) => !p.roles.includes(role)).map(notPermitted));
}
