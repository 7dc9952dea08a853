/*
 * oauth-client.c: the OAuth 2.0 device-grant client of account links
 * (oauth-client.h, docs/FEDERATION.md §2.2): a small libcurl request
 * helper and the four calls.  Replies are bounded (64 KiB), redirects are
 * not followed, only http and https are spoken.
 */
#include "oauth-client.h"
#include "http-client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OAC_BODY_MAX (64 * 1024)

static atomic_int oac_timeout = 10;
static pthread_once_t oac_once = PTHREAD_ONCE_INIT;
static bool oac_init_ok;

void oac_set_timeout(int seconds) {
  atomic_store(&oac_timeout, seconds > 0 ? seconds : 10);
}

/* curl_global_init is not thread-safe on every build: once, here. */
static void oac_init(void) {
  oac_init_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

typedef struct {
  char *data;
  size_t len;
  bool too_big;
} oac_buf_t;

static size_t oac_write(char *data, size_t size, size_t nmemb, void *userdata) {
  oac_buf_t *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n > OAC_BODY_MAX) {
    b->too_big = true;
    return 0;
  }
  char *p = realloc(b->data, b->len + n + 1);
  if (!p) return 0;
  memcpy(p + b->len, data, n);
  b->data = p;
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* One request: GET when form is NULL, else POST form-encoded.  bearer
 * (may be NULL) goes in Authorization.  true with *status and *body
 * (free it) when an HTTP answer came; false with msg saying why (never
 * the URL's query or a header). */
static bool oac_request(const char *url, const char *form, const char *bearer, long *status,
                        char **body, char *msg, size_t msglen) {
  *body = NULL;
  *status = 0;
  pthread_once(&oac_once, oac_init);
  if (!oac_init_ok) {
    snprintf(msg, msglen, "libcurl did not start");
    return false;
  }
  CURL *curl = curl_easy_init();
  if (!curl) {
    snprintf(msg, msglen, "out of memory");
    return false;
  }
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  char auth[OAC_SECRET_MAX + 32] = "";
  if (bearer) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    struct curl_slist *n = curl_slist_append(h, auth);
    if (n) h = n;
  }
  if (form) {
    struct curl_slist *n = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
    if (n) h = n;
  }
  int timeout = atomic_load(&oac_timeout);
  oac_buf_t b = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  http_client_harden(curl, timeout);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, oac_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  if (form) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(curl);
  bool ok = rc == CURLE_OK;
  if (ok) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    *body = b.data ? b.data : strdup("");
    b.data = NULL;
  } else if (b.too_big) {
    snprintf(msg, msglen, "the answer was larger than %d bytes", OAC_BODY_MAX);
  } else {
    snprintf(msg, msglen, "no answer: %s", curl_easy_strerror(rc));
  }
  free(b.data);
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
  sodium_memzero(auth, sizeof auth);
  return ok;
}

/* A string member of o, copied when it fits (false otherwise). */
static bool oac_member(const json_t *o, const char *key, char *dst, size_t size) {
  const char *v = json_string_value(json_object_get(o, key));
  if (!v || strlen(v) >= size) return false;
  snprintf(dst, size, "%s", v);
  return true;
}

static bool oac_http_url(const char *s) {
  return s && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8));
}

bool oac_url_host(const char *url, char *out, size_t outlen) {
  const char *p = strstr(url, "://");
  if (!p) return false;
  p += 3;
  size_t n;
  if (*p == '[') {
    p++;
    n = strcspn(p, "]");
  } else {
    n = strcspn(p, ":/?#");
  }
  if (n == 0 || n >= outlen) return false;
  memcpy(out, p, n);
  out[n] = '\0';
  return true;
}

bool oac_service_url_valid(const char *s, char *out, size_t outlen) {
  if (!oac_http_url(s)) return false;
  size_t len = strlen(s);
  if (len > OAC_URL_MAX - 64 || len >= outlen) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#' || ch == '@' || ch == '\\' || ch == '"')
      return false;
  }
  char host[256];
  if (!oac_url_host(s, host, sizeof host)) return false;
  snprintf(out, outlen, "%s", s);
  while (len > 0 && out[len - 1] == '/') out[--len] = '\0';
  return strstr(out, "://")[3] != '\0';
}

/* A JSON object from body; NULL when it is not one. */
static json_t *oac_json(const char *body) {
  json_t *j = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, NULL);
  if (j && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

oac_result_t oac_discover(const char *service_url, oac_metadata_t *out, char *msg, size_t msglen) {
  static const char *const paths[] = {"/.well-known/oauth-authorization-server",
                                      "/.well-known/openid-configuration"};
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    char url[OAC_URL_MAX + 64];
    snprintf(url, sizeof url, "%s%s", service_url, paths[i]);
    long status;
    char *body;
    if (!oac_request(url, NULL, NULL, &status, &body, msg, msglen)) return OAC_UNAVAILABLE;
    json_t *j = status == 200 ? oac_json(body) : NULL;
    free(body);
    if (status >= 500) {
      snprintf(msg, msglen, "the service answered HTTP %ld to its metadata", status);
      return OAC_UNAVAILABLE;
    }
    bool got = j &&
               oac_member(j, "device_authorization_endpoint", out->device_authorization_endpoint,
                          sizeof out->device_authorization_endpoint) &&
               oac_member(j, "token_endpoint", out->token_endpoint, sizeof out->token_endpoint) &&
               oac_http_url(out->device_authorization_endpoint) &&
               oac_http_url(out->token_endpoint);
    json_decref(j);
    if (got) return OAC_OK;
  }
  snprintf(out->device_authorization_endpoint, sizeof out->device_authorization_endpoint,
           "%.400s/oauth/device_authorization", service_url);
  snprintf(out->token_endpoint, sizeof out->token_endpoint, "%.400s/oauth/token", service_url);
  return OAC_OK;
}

/* name=value& (value escaped) appended to a form of size cap. */
static bool oac_form_add(char *form, size_t cap, const char *name, const char *value) {
  char *esc = curl_easy_escape(NULL, value, 0);
  if (!esc) return false;
  size_t used = strlen(form);
  int n = snprintf(form + used, cap - used, "%s%s=%s", used ? "&" : "", name, esc);
  sodium_memzero(esc, strlen(esc));
  curl_free(esc);
  return n > 0 && (size_t)n < cap - used;
}

/* The OAuth error of a 400/401 token answer as a result. */
static oac_result_t oac_oauth_error(const json_t *j, long status, char *msg, size_t msglen) {
  const char *e = json_string_value(json_object_get(j, "error"));
  if (!e) {
    snprintf(msg, msglen, "the service answered HTTP %ld", status);
    return status >= 500 ? OAC_UNAVAILABLE : OAC_INVALID;
  }
  if (!strcmp(e, "authorization_pending")) return OAC_PENDING;
  if (!strcmp(e, "slow_down")) return OAC_SLOW_DOWN;
  if (!strcmp(e, "access_denied")) {
    snprintf(msg, msglen, "the request was denied on the service");
    return OAC_DENIED;
  }
  if (!strcmp(e, "expired_token")) {
    snprintf(msg, msglen, "the code expired before it was approved");
    return OAC_EXPIRED;
  }
  char safe[48];
  size_t k = 0;
  for (const char *p = e; *p && k < sizeof safe - 1; p++)
    safe[k++] = (isalnum((unsigned char)*p) || *p == '_') ? *p : '?';
  safe[k] = '\0';
  snprintf(msg, msglen, "the service refused the grant (%s)", safe);
  return OAC_REFUSED;
}

oac_result_t oac_device_authorize(const char *endpoint, const char *client_id, oac_grant_t *out,
                                  char *msg, size_t msglen) {
  memset(out, 0, sizeof *out);
  char form[512] = "";
  if (!oac_form_add(form, sizeof form, "client_id", client_id) ||
      !oac_form_add(form, sizeof form, "scope", "federation")) {
    snprintf(msg, msglen, "client id too long");
    return OAC_INVALID;
  }
  long status;
  char *body;
  if (!oac_request(endpoint, form, NULL, &status, &body, msg, msglen)) return OAC_UNAVAILABLE;
  json_t *j = oac_json(body);
  free(body);
  oac_result_t res = OAC_OK;
  if (status != 200) {
    res = status >= 500 ? OAC_UNAVAILABLE
          : j           ? oac_oauth_error(j, status, msg, msglen)
                        : OAC_INVALID;
    if (status == 404 || !j)
      snprintf(msg, msglen, "the service answered HTTP %ld: it may not offer the device grant",
               status);
    if (status >= 500) snprintf(msg, msglen, "the service answered HTTP %ld", status);
    if (res == OAC_PENDING || res == OAC_SLOW_DOWN) res = OAC_UNAVAILABLE;
  } else if (!j || !oac_member(j, "device_code", out->device_code, sizeof out->device_code) ||
             !oac_member(j, "user_code", out->user_code, sizeof out->user_code) ||
             !oac_member(j, "verification_uri", out->verification_uri,
                         sizeof out->verification_uri) ||
             !oac_http_url(out->verification_uri)) {
    snprintf(msg, msglen, "the service's device authorization answer is not usable");
    res = OAC_INVALID;
  } else {
    if (!oac_member(j, "verification_uri_complete", out->verification_uri_complete,
                    sizeof out->verification_uri_complete) ||
        !oac_http_url(out->verification_uri_complete))
      out->verification_uri_complete[0] = '\0';
    json_t *e = json_object_get(j, "expires_in"), *iv = json_object_get(j, "interval");
    out->expires_in = json_is_integer(e) ? (int)json_integer_value(e) : 600;
    out->interval = json_is_integer(iv) ? (int)json_integer_value(iv) : 5;
    if (out->expires_in < 1 || out->expires_in > 86400) out->expires_in = 600;
    if (out->interval < 1 || out->interval > 300) out->interval = 5;
  }
  json_decref(j);
  if (res != OAC_OK) sodium_memzero(out, sizeof *out);
  return res;
}

oac_result_t oac_token_poll(const char *endpoint, const char *device_code, const char *client_id,
                            char *token, size_t tokenlen, char *msg, size_t msglen) {
  token[0] = '\0';
  char form[1024] = "";
  if (!oac_form_add(form, sizeof form, "grant_type",
                    "urn:ietf:params:oauth:grant-type:device_code") ||
      !oac_form_add(form, sizeof form, "device_code", device_code) ||
      !oac_form_add(form, sizeof form, "client_id", client_id)) {
    sodium_memzero(form, sizeof form);
    snprintf(msg, msglen, "device code too long");
    return OAC_INVALID;
  }
  long status;
  char *body;
  bool ok = oac_request(endpoint, form, NULL, &status, &body, msg, msglen);
  sodium_memzero(form, sizeof form);
  if (!ok) return OAC_UNAVAILABLE;
  json_t *j = oac_json(body);
  sodium_memzero(body, strlen(body));
  free(body);
  oac_result_t res;
  if (status == 200) {
    const char *type = json_string_value(json_object_get(j, "token_type"));
    if (j && type && !strcasecmp(type, "Bearer") &&
        oac_member(j, "access_token", token, tokenlen) && token[0]) {
      res = OAC_OK;
    } else {
      token[0] = '\0';
      snprintf(msg, msglen, "the service's token answer is not usable");
      res = OAC_INVALID;
    }
  } else if (status >= 500) {
    snprintf(msg, msglen, "the service answered HTTP %ld", status);
    res = OAC_UNAVAILABLE;
  } else {
    res = j ? oac_oauth_error(j, status, msg, msglen) : OAC_INVALID;
    if (!j) snprintf(msg, msglen, "the service answered HTTP %ld", status);
  }
  json_decref(j);
  return res;
}

oac_result_t oac_whoami(const char *service_url, const char *token, char *user, size_t userlen,
                        char *msg, size_t msglen) {
  user[0] = '\0';
  char url[OAC_URL_MAX + 32];
  snprintf(url, sizeof url, "%s/api/v1/whoami", service_url);
  long status;
  char *body;
  if (!oac_request(url, NULL, token, &status, &body, msg, msglen)) return OAC_UNAVAILABLE;
  json_t *j = status == 200 ? oac_json(body) : NULL;
  free(body);
  oac_result_t res;
  if (status == 401 || status == 403) {
    snprintf(msg, msglen, "the service refused the link's token (HTTP %ld): link again", status);
    res = OAC_REFUSED;
  } else if (status != 200) {
    snprintf(msg, msglen, "the service answered HTTP %ld to whoami", status);
    res = status >= 500 ? OAC_UNAVAILABLE : OAC_INVALID;
  } else if (!oac_member(j, "user", user, userlen) || !user[0]) {
    snprintf(msg, msglen, "the service's whoami answer names no user");
    res = OAC_INVALID;
  } else {
    res = OAC_OK;
  }
  json_decref(j);
  return res;
}
