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

// the navigation's section headings
export const sections = {
  portal: 'My printing',
  admin: 'Administration',
  operator: 'Operator',
};

export const pages = [jobs, print, purposes, payment, usage, security, job];

// the pages a role sees, in navigation order
export function pagesFor(role) {
  return pages.filter((p) => p.roles.includes(role));
}
