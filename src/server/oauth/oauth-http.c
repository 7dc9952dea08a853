/*
 * oauth-http.c: the OAuth endpoints (oauth-http.h): the form body, its
 * careful decoding, the metadata document, the device authorization and
 * token endpoints' answers and the /device redirect.  The grant logic is
 * oauth.c's.  Codes and tokens are never logged; the body holding them is
 * wiped when the request ends.
 */
#include "oauth-http.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "oauth.h"

#define WELL_KNOWN "/.well-known/oauth-authorization-server"

/* The body collected between body() and finish(). */
typedef struct {
  char buf[OAUTH_FORM_MAX];
  size_t len;
  bool too_large;
} oauth_body_t;

bool oauth_http_path(const char *path) {
  return strcmp(path, WELL_KNOWN) == 0 || strcmp(path, "/oauth/device_authorization") == 0 ||
         strcmp(path, "/oauth/token") == 0 || strcmp(path, "/device") == 0;
}

/* ---- the form ---- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode s[0..len) into a new string: '+' a space, %XX a byte.  NULL on a
 * bad escape, a control character (decoded or not) or no memory. */
static char *form_decode(const char *s, size_t len) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '+') {
      ch = ' ';
    } else if (ch == '%') {
      int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
      int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) goto bad;
      ch = (unsigned char)(hi * 16 + lo);
      i += 2;
    }
    if (ch < 0x20 || ch == 0x7f) goto bad;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return out;
bad:
  sodium_memzero(out, len + 1);
  free(out);
  return NULL;
}

bool oauth_form_parse(const char *body, size_t len, oauth_form_t *f) {
  memset(f, 0, sizeof *f);
  size_t i = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && body[end] != '&') end++;
    if (end > i) { /* empty pairs ("a=1&&b=2") are skipped */
      size_t eq = i;
      while (eq < end && body[eq] != '=') eq++;
      if (f->n == OAUTH_FORM_FIELDS || eq == i) goto bad;
      char *name = form_decode(body + i, eq - i);
      char *value = form_decode(body + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0);
      if (!name || !value || oauth_form_get(f, name)) {
        free(name);
        if (value) sodium_memzero(value, strlen(value));
        free(value);
        goto bad;
      }
      f->name[f->n] = name;
      f->value[f->n] = value;
      f->n++;
    }
    i = end + 1;
  }
  return true;
bad:
  oauth_form_free(f);
  return false;
}

const char *oauth_form_get(const oauth_form_t *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (strcmp(f->name[i], name) == 0) return f->value[i];
  return NULL;
}

void oauth_form_free(oauth_form_t *f) {
  for (int i = 0; i < f->n; i++) {
    free(f->name[i]);
    sodium_memzero(f->value[i], strlen(f->value[i]));
    free(f->value[i]);
  }
  memset(f, 0, sizeof *f);
}

/* ---- answers ---- */

/* The base of this service's URLs: --public-url, else the scheme and
 * Host of the request (a Host of other characters than a host name's
 * falls back to listen:port). */
static void oauth_base_url(const http_request_t *r, char *buf, size_t len) {
  const nimbusd_config_t *cfg = &r->srv->cfg;
  if (cfg->public_url[0]) {
    snprintf(buf, len, "%s", cfg->public_url);
  } else if (r->host[0] && strspn(r->host,
                                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789.-:[]") == strlen(r->host)) {
    snprintf(buf, len, "%s://%s", r->tls ? "https" : "http", r->host);
  } else {
    snprintf(buf, len, "%s://%s:%d", r->tls ? "https" : "http", cfg->listen, cfg->port);
  }
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '/') buf[--n] = '\0';
}

/* A JSON answer that no cache keeps (RFC 6749 §5.1); takes doc. */
static void oauth_respond(http_request_t *r, int status, json_t *doc) {
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  http_response_header(r, "Cache-Control", "no-store");
  http_response_header(r, "Pragma", "no-cache");
  if (!text) {
    http_respond(r, 500, "application/json", "{\"error\":\"server_error\"}", 24);
    return;
  }
  http_respond_owned(r, status, "application/json", text, strlen(text));
}

/* {error, error_description} (RFC 6749 §5.2). */
static void oauth_error(http_request_t *r, int status, const char *error, const char *description) {
  oauth_respond(r, status,
                json_pack("{s:s, s:s}", "error", error, "error_description", description));
}

/* Is the request's Content-Type application/x-www-form-urlencoded
 * (parameters allowed)? */
static bool oauth_is_form(const http_request_t *r) {
  static const char form[] = "application/x-www-form-urlencoded";
  size_t len = strcspn(r->content_type, ";");
  while (len > 0 && (r->content_type[len - 1] == ' ' || r->content_type[len - 1] == '\t')) len--;
  return len == sizeof form - 1 && strncasecmp(r->content_type, form, len) == 0;
}

/* The POST form of r into *f; false has answered (400 invalid_request,
 * 413 for a body over OAUTH_FORM_MAX). */
static bool oauth_read_form(http_request_t *r, oauth_form_t *f) {
  oauth_body_t *b = r->handler_state;
  if (b && b->too_large) {
    oauth_error(r, 413, "invalid_request", "the request body is too large");
    return false;
  }
  if (!oauth_is_form(r)) {
    oauth_error(r, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    return false;
  }
  if (!oauth_form_parse(b ? b->buf : "", b ? b->len : 0, f)) {
    oauth_error(r, 400, "invalid_request",
                "malformed form: a bad %-escape, a control character or a repeated parameter");
    return false;
  }
  return true;
}

/* ---- the endpoints ---- */

static void oauth_metadata(http_request_t *r) {
  char base[512], device[600], token[600];
  oauth_base_url(r, base, sizeof base);
  snprintf(device, sizeof device, "%s/oauth/device_authorization", base);
  snprintf(token, sizeof token, "%s/oauth/token", base);
  json_t *doc = json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:[], s:[s]}", "issuer", base,
                          "device_authorization_endpoint", device, "token_endpoint", token,
                          "grant_types_supported", OAUTH_GRANT_TYPE_DEVICE, "scopes_supported",
                          OAUTH_SCOPE_FEDERATION, "response_types_supported",
                          "token_endpoint_auth_methods_supported", "none");
  if (!doc) {
    oauth_error(r, 500, "server_error", "out of memory");
    return;
  }
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (!text) {
    oauth_error(r, 500, "server_error", "out of memory");
    return;
  }
  http_response_header(r, "Cache-Control", "max-age=300");
  http_respond_owned(r, 200, "application/json", text, strlen(text));
}

static void oauth_device_authorization(http_request_t *r) {
  oauth_form_t f;
  if (!oauth_read_form(r, &f)) return;
  const char *client_id = oauth_form_get(&f, "client_id");
  const char *scope = oauth_form_get(&f, "scope");
  if (!client_id || !oauth_client_id_valid(client_id)) {
    oauth_error(r, 400, "invalid_client",
                "client_id is required: 1 to 64 printable ASCII characters naming the asking "
                "service");
    goto done;
  }
  if (scope && scope[0] && strcmp(scope, OAUTH_SCOPE_FEDERATION) != 0) {
    oauth_error(r, 400, "invalid_scope", "the only scope offered is 'federation'");
    goto done;
  }
  char user_code[OAUTH_USER_CODE_LEN + 2], device_code[OAUTH_DEVICE_CODE_MAX];
  nimbus_device_grant_t g;
  switch (
      oauth_grant_start(r->srv, client_id, OAUTH_SCOPE_FEDERATION, user_code, device_code, &g)) {
    case OAUTH_START_OK:
      break;
    case OAUTH_START_FULL:
      http_response_header(r, "Retry-After", "60");
      oauth_error(r, 503, "slow_down", "too many authorization requests are pending; try later");
      goto done;
    case OAUTH_START_ERROR:
    default:
      oauth_error(r, 500, "server_error", "the grant could not be stored");
      goto done;
  }
  char base[512], uri[600], complete[640];
  oauth_base_url(r, base, sizeof base);
  snprintf(uri, sizeof uri, "%s/device", base);
  snprintf(complete, sizeof complete, "%s?user_code=%s", uri, user_code);
  log_event(LOG_INFO, r->id, "oauth device grant started", "grant", LOG_INT(g.id), "client_id",
            client_id, (char *)NULL);
  oauth_respond(
      r, 200,
      json_pack("{s:s, s:s, s:s, s:s, s:I, s:i}", "device_code", device_code, "user_code",
                user_code, "verification_uri", uri, "verification_uri_complete", complete,
                "expires_in", (json_int_t)(g.expires_at - g.created_at), "interval", g.interval));
  sodium_memzero(device_code, sizeof device_code);
  sodium_memzero(user_code, sizeof user_code);
  sodium_memzero(complete, sizeof complete);
done:
  oauth_form_free(&f);
}

static void oauth_token(http_request_t *r) {
  oauth_form_t f;
  if (!oauth_read_form(r, &f)) return;
  const char *grant_type = oauth_form_get(&f, "grant_type");
  const char *device_code = oauth_form_get(&f, "device_code");
  const char *client_id = oauth_form_get(&f, "client_id");
  char token[CRYPTO_TOKEN_STR_MAX];
  int64_t expires_in = 0;
  token[0] = '\0';
  if (!grant_type) {
    oauth_error(r, 400, "invalid_request", "grant_type is required");
    goto done;
  }
  if (strcmp(grant_type, OAUTH_GRANT_TYPE_DEVICE) != 0) {
    oauth_error(r, 400, "unsupported_grant_type",
                "the only grant type is urn:ietf:params:oauth:grant-type:device_code");
    goto done;
  }
  if (!client_id || !oauth_client_id_valid(client_id)) {
    oauth_error(r, 400, "invalid_client", "client_id is required");
    goto done;
  }
  if (!device_code || !device_code[0] || strlen(device_code) >= OAUTH_DEVICE_CODE_MAX) {
    oauth_error(r, 400, "invalid_request", "device_code is required");
    goto done;
  }
  switch (oauth_token_poll(r->srv, device_code, client_id, r->id, token, &expires_in)) {
    case OAUTH_POLL_ISSUED:
      oauth_respond(
          r, 200,
          json_pack("{s:s, s:s, s:I, s:s}", "access_token", token, "token_type", "Bearer",
                    "expires_in", (json_int_t)expires_in, "scope", OAUTH_SCOPE_FEDERATION));
      break;
    case OAUTH_POLL_PENDING:
      oauth_error(r, 400, "authorization_pending", "the user has not answered yet");
      break;
    case OAUTH_POLL_SLOW_DOWN:
      oauth_error(r, 400, "slow_down", "polled faster than the interval; it grew by 5 seconds");
      break;
    case OAUTH_POLL_DENIED:
      oauth_error(r, 400, "access_denied", "the user denied the request");
      break;
    case OAUTH_POLL_EXPIRED:
      oauth_error(r, 400, "expired_token", "the device code expired; start again");
      break;
    case OAUTH_POLL_INVALID:
      oauth_error(r, 400, "invalid_grant", "unknown or already used device code");
      break;
    case OAUTH_POLL_CLIENT:
      oauth_error(r, 400, "invalid_client", "client_id is not the one the code was issued to");
      break;
    case OAUTH_POLL_ERROR:
    default:
      oauth_error(r, 500, "server_error", "storage error");
      break;
  }
done:
  sodium_memzero(token, sizeof token);
  oauth_form_free(&f);
}

/* GET /device[?user_code=X]: to the console's page, the code kept when it
 * looks like one (letters, digits, '-' and spaces, at most 32). */
static void oauth_device_page(http_request_t *r) {
  const char *code = http_query(r, "user_code");
  char location[64];
  size_t n = code ? strlen(code) : 0;
  if (n > 0 && n <= 32 &&
      strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n)
    snprintf(location, sizeof location, "/#/device?code=%s", code);
  else
    snprintf(location, sizeof location, "/#/device");
  http_response_header(r, "Location", location);
  http_response_header(r, "Cache-Control", "no-store");
  http_respond(r, 303, "text/plain; charset=utf-8", "See the web console.\n", 21);
}

/* ---- the handler ---- */

static bool oauth_http_body(http_request_t *r, const char *data, size_t len) {
  oauth_body_t *b = r->handler_state;
  if (!b) {
    if (!(b = calloc(1, sizeof *b))) return false;
    r->handler_state = b;
  }
  if (b->too_large) return false;
  if (len > sizeof b->buf - b->len ||
      (r->content_length > 0 && (uint64_t)r->content_length > sizeof b->buf)) {
    b->too_large = true;
    return false;
  }
  memcpy(b->buf + b->len, data, len);
  b->len += len;
  return true;
}

/* 405 with the one method path takes. */
static void oauth_method_not_allowed(http_request_t *r, const char *allow) {
  http_response_header(r, "Allow", allow);
  http_respond_problem(r, 405, "Method Not Allowed", NULL);
}

static void oauth_http_finish(http_request_t *r) {
  bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
  bool post = strcmp(r->method, "POST") == 0;
  if (strcmp(r->path, WELL_KNOWN) == 0) {
    r->op_name = "oauth.metadata";
    if (get)
      oauth_metadata(r);
    else
      oauth_method_not_allowed(r, "GET, HEAD");
  } else if (strcmp(r->path, "/oauth/device_authorization") == 0) {
    r->op_name = "oauth.device_authorization";
    if (post)
      oauth_device_authorization(r);
    else
      oauth_method_not_allowed(r, "POST");
  } else if (strcmp(r->path, "/oauth/token") == 0) {
    r->op_name = "oauth.token";
    if (post)
      oauth_token(r);
    else
      oauth_method_not_allowed(r, "POST");
  } else {
    r->op_name = "oauth.device_page";
    if (get)
      oauth_device_page(r);
    else
      oauth_method_not_allowed(r, "GET, HEAD");
  }
}

static void oauth_http_cleanup(http_request_t *r) {
  oauth_body_t *b = r->handler_state;
  if (!b) return;
  sodium_memzero(b, sizeof *b); /* the body held a device code */
  free(b);
  r->handler_state = NULL;
}

const http_handler_t oauth_http_handler = {
    .name = "oauth",
    .body = oauth_http_body,
    .finish = oauth_http_finish,
    .cleanup = oauth_http_cleanup,
};
