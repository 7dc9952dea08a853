/*
 * device-api.c: see device-api.h.  Answers are read into a buffer of at
 * most DEVICE_API_BODY_MAX bytes; the credential and the session token are
 * wiped from the stack after each call and never logged.
 */
#include "device-api.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "log.h"

typedef struct {
  char *buf;
  size_t len, cap;
  bool too_big;
} device_api_buf_t;

static size_t device_api_write(char *data, size_t size, size_t n, void *ctx) {
  device_api_buf_t *b = ctx;
  size_t len = size * n;
  if (b->len + len + 1 > DEVICE_API_BODY_MAX) {
    b->too_big = true;
    return 0; /* aborts the transfer */
  }
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) return 0;
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, data, len);
  b->len += len;
  b->buf[b->len] = '\0';
  return len;
}

bool device_api_init(void) {
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void device_api_cleanup(void) {
  curl_global_cleanup();
}

void device_api_answer_free(device_api_answer_t *ans) {
  json_decref(ans->body);
  ans->body = NULL;
}

/* A registration's server URI as the base of the device API's calls:
 * trailing slashes dropped, ipp:// read as http:// and ipps:// as
 * https:// (the same port), a path kept (nimbusd behind a prefix). */
static bool device_api_base_of(const char *server_uri, char *out, size_t outlen) {
  char server[STATE_URI_MAX];
  snprintf(server, sizeof server, "%s", server_uri);
  size_t sl = strlen(server);
  while (sl > 0 && server[sl - 1] == '/') server[--sl] = '\0';
  const char *scheme = "http";
  if (!strncmp(server, "ipps://", 7) || !strncmp(server, "https://", 8)) scheme = "https";
  const char *sep = strstr(server, "://");
  const char *rest = sep ? sep + 3 : server;
  if (!*rest) return false;
  int n = snprintf(out, outlen, "%s://%s", scheme, rest);
  return n > 0 && (size_t)n < outlen;
}

bool device_api_base_url(connector_t *c, char *out, size_t outlen) {
  char server[STATE_URI_MAX];
  pthread_mutex_lock(&c->lock);
  bool registered = state_has_registration(&c->state);
  snprintf(server, sizeof server, "%s", c->state.server);
  pthread_mutex_unlock(&c->lock);
  return registered && device_api_base_of(server, out, outlen);
}

bool device_api_call(connector_t *c, const char *method, const char *path, const char *session,
                     json_t *body, device_api_answer_t *ans) {
  memset(ans, 0, sizeof *ans);
  char server[STATE_URI_MAX], url[STATE_URI_MAX + 512], auth[160], sess[200];
  bool ok = false;
  CURL *curl = NULL;
  struct curl_slist *hdrs = NULL;
  char *text = NULL;
  device_api_buf_t b = {0};

  pthread_mutex_lock(&c->lock);
  bool registered = state_has_registration(&c->state);
  snprintf(server, sizeof server, "%s", c->state.server);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->state.credential);
  pthread_mutex_unlock(&c->lock);
  if (!registered || !atomic_load(&c->allowed)) {
    snprintf(ans->error, sizeof ans->error, "this printer is not connected to the cloud service");
    goto done;
  }
  /* ipp:// and ipps:// registrations talk HTTP on the same port */
  char base[STATE_URI_MAX + 8];
  if (!device_api_base_of(server, base, sizeof base)) {
    snprintf(ans->error, sizeof ans->error, "this printer's server address is not usable");
    goto done;
  }
  snprintf(url, sizeof url, "%s/api/v1%s", base, path);

  curl = curl_easy_init();
  if (!curl) {
    snprintf(ans->error, sizeof ans->error, "out of memory");
    goto done;
  }
  hdrs = curl_slist_append(hdrs, auth);
  if (session && *session) {
    snprintf(sess, sizeof sess, "X-Nimbus-Session: %s", session);
    hdrs = curl_slist_append(hdrs, sess);
  }
  hdrs = curl_slist_append(hdrs, "Accept: application/json");
  if (body) {
    text = json_dumps(body, JSON_COMPACT);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "{}");
  }
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, device_api_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)DEVICE_API_TIMEOUT);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    snprintf(ans->error, sizeof ans->error, "%s",
             b.too_big ? "answer too large" : curl_easy_strerror(rc));
    log_event(LOG_WARN, NULL, "device API call failed", "method", method, "path", path, "error",
              ans->error, (char *)NULL);
    goto done;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ans->status);
  if (b.len) ans->body = json_loadb(b.buf, b.len, 0, NULL);
  if (ans->status >= 400) {
    const char *detail = ans->body ? json_string_value(json_object_get(ans->body, "detail")) : NULL;
    const char *title = ans->body ? json_string_value(json_object_get(ans->body, "title")) : NULL;
    snprintf(ans->error, sizeof ans->error, "%s", detail ? detail : title ? title : "");
  }
  log_event(LOG_DEBUG, NULL, "device API call", "method", method, "path", path, "status",
            LOG_INT(ans->status), (char *)NULL);
  if (ans->status >= 500) connector_note_error(c, "the cloud service answered an error");
  ok = true;

done:
  memset(auth, 0, sizeof auth);
  memset(sess, 0, sizeof sess);
  curl_slist_free_all(hdrs);
  if (curl) curl_easy_cleanup(curl);
  free(text);
  free(b.buf);
  return ok;
}
