// pages/index.js: the console's routed pages, in navigation order
// (docs/CONSOLE.md §1.5).  Each page module exports as default
// {path, title, section: 'portal'|'admin'|'operator', roles, render(root,
// ctx)}: path is the hash route ('/jobs' is #/jobs), roles the session
// roles that see it ('user', 'tenant-admin', 'operator'), render draws the
// page into root with ctx = {session, api, params} (params: the hash's
// query, #/jobs?state=held → {state: 'held'}).  To add a page: write
// pages/NAME.js, import it here, list it in `pages`, and add the file to
// console_sources in web/console/meson.build.
import jobs from './jobs.js';
import users from './users.js';
import queues from './queues.js';
import printers from './printers.js';
import prices from './prices.js';
import accounts from './accounts.js';

// the navigation's section headings
export const sections = {
  portal: 'My printing',
  admin: 'Administration',
  operator: 'Operator',
};

export const pages = [jobs, users, queues, printers, prices, accounts];

// the pages a role sees, in navigation order
export function pagesFor(role) {
  return pages.filter((p) => p.roles.includes(role));
}
