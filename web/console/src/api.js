// api.js: the console's one way to nimbusd's REST API (docs/CONSOLE.md
// §1.5, PROTOCOL.md §4).  JSON in and out, paths relative to /api/v1;
// adds X-CSRF-Token on unsafe methods and the operator's tenant picker
// (?tenant=); a problem document (RFC 9457) becomes an ApiError; a 401 on
// any call but the session's own means the session ended, which the
// handler set by onSessionEnded() shows (main.js: the sign-in page).
// The session itself (sign-in, who is signed in, sign-out) is here too:
// signIn(), currentSession(), signOut().

const BASE = '/api/v1';

// An answer other than 2xx: status, the problem's type, title and detail
// (in words), retryAfter (seconds, from Retry-After; 0 when absent) and
// member (the request member a 400 names, e.g. "items[1].sha256"; '').
export class ApiError extends Error {
  constructor(status, type, title, detail, retryAfter = 0, member = '') {
    super(detail || title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.type = type || 'about:blank';
    this.title = title || '';
    this.detail = detail || title || `the server answered ${status}`;
    this.retryAfter = retryAfter;
    this.member = member || '';
  }
}

let csrfToken = '';
let tenantPick = '';
let sessionEnded = () => {};

// the CSRF token of the signed-in session (from POST/GET /session)
export function setCsrf(token) {
  csrfToken = token || '';
}
// the operator's tenant picker: '' for none; added as ?tenant= to every
// call but /session and /tenants (those are not tenant-scoped)
export function setTenant(name) {
  tenantPick = name || '';
}
export function currentTenant() {
  return tenantPick;
}
// fn() runs when a call answers 401: the session ended (idle, signed out
// elsewhere, password changed)
export function onSessionEnded(fn) {
  sessionEnded = fn;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// the URL of path with query (an object; undefined, null and '' members
// dropped) and the tenant picker's tenant
export function url(path, query) {
  const u = new URL(BASE + path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue;
    u.searchParams.set(k, String(v));
  }
  if (tenantPick && !u.searchParams.has('tenant') && !/^\/(session|tenants)(\/|$)/.test(path)) {
    u.searchParams.set('tenant', tenantPick);
  }
  return u.pathname + u.search;
}

// an ApiError from a non-2xx status and its body text
function problem(status, text, retryAfter) {
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch (e) {
    doc = null;
  }
  if (doc && typeof doc === 'object') {
    return new ApiError(status, doc.type, doc.title, doc.detail, retryAfter,
      typeof doc.member === 'string' ? doc.member : '');
  }
  const words = {
    404: 'not found on this server',
    405: 'this server does not offer that action',
    502: 'the server could not be reached (bad gateway)',
    503: 'the server is unavailable; try again shortly',
  };
  return new ApiError(status, 'about:blank', '', words[status] || `the server answered ${status}`,
    retryAfter);
}

// one request; opts.session: a call of the session itself, whose 401 is
// an answer and not the end of a session; opts.text: the answer's text as
// it is (a CSV export, Prometheus text) instead of JSON; opts.root: path
// is from the server's root (/healthz, /metrics), not under /api/v1
async function request(method, path, { query, body, session = false, text: asText = false,
  root = false } = {}) {
  // X-Nimbus-Console: a 401 then carries the Session challenge, never
  // Basic (which would make the browser ask for a password itself)
  const headers = { Accept: asText ? '*/*' : 'application/json', 'X-Nimbus-Console': '1' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp;
  try {
    resp = await fetch(root ? path : url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'urn:nimbus:problem:network', 'network error',
      'the server could not be reached; check the connection and try again');
  }
  const text = await resp.text();
  if (!resp.ok) {
    const err = problem(resp.status, text, parseInt(resp.headers.get('Retry-After') || '0', 10) || 0);
    if (resp.status === 401 && !session) sessionEnded(err);
    throw err;
  }
  if (asText) return text;
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(resp.status, 'about:blank', '', 'the server sent an answer that is not JSON');
  }
}

// upload(path, formData, onProgress) → the answer's JSON: a multipart POST
// through XMLHttpRequest, for its upload progress: onProgress(sent, total)
function upload(path, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url(path));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-Nimbus-Console', '1');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.responseType = 'text';
    if (onProgress) {
      xhr.upload.addEventListener('progress', (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : 0));
    }
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(xhr.responseText ? JSON.parse(xhr.responseText) : null);
        } catch (e) {
          reject(new ApiError(xhr.status, 'about:blank', '', 'the server sent an answer that is not JSON'));
        }
        return;
      }
      const err = problem(xhr.status, xhr.responseText,
        parseInt(xhr.getResponseHeader('Retry-After') || '0', 10) || 0);
      if (xhr.status === 401) sessionEnded(err);
      reject(err);
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'urn:nimbus:problem:network',
      'network error', 'the upload did not reach the server; check the connection and try again')));
    xhr.send(formData);
  });
}

// The API: get(path, query), post(path, body, query), patch, put,
// del(path, query), upload(path, formData, onProgress); getText(path,
// query): a GET whose answer is text, not JSON (?format=csv exports);
// getRoot(path): a GET of the server's own /healthz or /metrics → its text
// (a non-2xx answer is an ApiError, as everywhere).
export const api = {
  get: (path, query) => request('GET', path, { query }),
  getText: (path, query) => request('GET', path, { query, text: true }),
  getRoot: (path) => request('GET', path, { text: true, root: true }),
  post: (path, body, query) => request('POST', path, { body, query }),
  patch: (path, body, query) => request('PATCH', path, { body, query }),
  put: (path, body, query) => request('PUT', path, { body, query }),
  del: (path, query) => request('DELETE', path, { query }),
  upload,
  url,
};

// ---- the session (docs/CONSOLE.md §1.3) ----

// signIn(user, password) → the session {user, tenant, role, csrf_token,
// idle_timeout, expires_at}; 401 and 429 are ApiErrors for the form
export async function signIn(user, password) {
  const s = await request('POST', '/session', { body: { user, password }, session: true });
  setCsrf(s && s.csrf_token);
  return s;
}

// the signed-in session, or null (401: nobody is signed in)
export async function currentSession() {
  try {
    const s = await request('GET', '/session', { session: true });
    setCsrf(s && s.csrf_token);
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

// sign out (DELETE /session); a session that had already ended counts as
// signed out
export async function signOut() {
  try {
    await request('DELETE', '/session', { session: true });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  } finally {
    setCsrf('');
    setTenant('');
  }
}
