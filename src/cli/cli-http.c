//
// HTTP transport for nimbusctl: one libcurl easy handle, request URLs with
// URL-encoded path segments and query values, bounded response bodies, and
// the single place where HTTP failures become messages and exit codes:
//
//   transport failure (DNS, connect, TLS, timeout)  -> CLI_STATUS_CONNECT
//   non-2xx answer (RFC 9457 problem document)      -> CLI_STATUS_FAILED,
//       "<title>: <detail> (HTTP <status>)"
//   response over CLI_RESPONSE_MAX, invalid JSON     -> CLI_STATUS_FAILED
//
// A request with a raw stream (cli_request_t.raw, e.g. a CSV export) has
// its 2xx body written there as it arrives, unparsed and unbounded; a
// non-2xx body is still collected and reported as above.
//
// Redirects are never followed, so credentials only go to the given URL.
//

#include "cli-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

//
// Growable byte buffer with a hard maximum.
//

typedef struct http_buffer_s {
  char *data;
  size_t len;
  size_t cap;
  size_t max;     // largest len allowed
  bool overflow;  // an append was refused because of max
} http_buffer_t;

//
// 'http_buffer_append()' - Append bytes, keeping the data NUL-terminated.
//
// Returns false (and sets overflow when the cause is max) if the bytes do
// not fit or memory runs out.
//

static bool http_buffer_append(http_buffer_t *buffer, const char *data, size_t len) {
  if (len > buffer->max - buffer->len) {
    buffer->overflow = true;
    return (false);
  }

  if (buffer->len + len + 1 > buffer->cap) {
    size_t cap = buffer->cap ? buffer->cap : 4096;

    while (cap < buffer->len + len + 1) cap *= 2;

    if (cap > buffer->max + 1) cap = buffer->max + 1;

    char *data_new = realloc(buffer->data, cap);

    if (!data_new) return (false);

    buffer->data = data_new;
    buffer->cap = cap;
  }

  memcpy(buffer->data + buffer->len, data, len);
  buffer->len += len;
  buffer->data[buffer->len] = '\0';

  return (true);
}

//
// 'http_buffer_append_escaped()' - Append a URL-encoded string.
//
// Every byte except RFC 3986 unreserved characters is percent-encoded, so
// the result is safe both as a path segment and as a query value.
//

static bool http_buffer_append_escaped(http_buffer_t *buffer, CURL *curl, const char *text) {
  char *escaped = curl_easy_escape(curl, text, 0);
  bool ok = escaped && http_buffer_append(buffer, escaped, strlen(escaped));

  curl_free(escaped);

  return (ok);
}

//
// Where a response body goes: the bounded buffer, or for a raw request
// with a 2xx status straight to its stream.
//

typedef struct http_sink_s {
  http_buffer_t *body;
  FILE *raw;        // stream of a raw request or NULL
  CURL *curl;       // to read the status once headers are in
  bool raw_failed;  // writing to raw failed
} http_sink_t;

//
// 'http_write_body()' - libcurl write callback collecting the response.
//
// The status line has been read when the first body byte arrives, so the
// choice between buffer and raw stream is made per chunk on the status.
//

static size_t http_write_body(char *data, size_t size, size_t nmemb, void *userdata) {
  http_sink_t *sink = (http_sink_t *)userdata;
  size_t len = size * nmemb;
  long code = 0;

  if (sink->raw) {
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &code);

    if (code >= 200 && code <= 299) {
      if (len > 0 && fwrite(data, 1, len, sink->raw) != len) {
        sink->raw_failed = true;
        return (0);
      }

      return (len);
    }
  }

  if (!http_buffer_append(sink->body, data, len)) return (0);

  return (len);
}

//
// 'http_header_add()' - Append one request header, keeping the list on failure.
//

static bool http_header_add(struct curl_slist **headers, const char *header) {
  struct curl_slist *list = curl_slist_append(*headers, header);

  if (!list) return (false);

  *headers = list;

  return (true);
}

//
// 'http_url_build()' - Compose base URL, path, segment and query.
//
// Returns false when the URL would exceed CLI_URL_MAX or memory runs out.
//

static bool http_url_build(cli_t *cli, CURL *curl, const cli_request_t *request,
                           http_buffer_t *url) {
  char sep = '?';

  if (!http_buffer_append(url, cli->url, strlen(cli->url)) ||
      !http_buffer_append(url, request->path, strlen(request->path)))
    return (false);

  if (request->id &&
      (!http_buffer_append(url, "/", 1) || !http_buffer_append_escaped(url, curl, request->id)))
    return (false);

  if (request->action && (!http_buffer_append(url, "/", 1) ||
                          !http_buffer_append(url, request->action, strlen(request->action))))
    return (false);

  if (request->id2 &&
      (!http_buffer_append(url, "/", 1) || !http_buffer_append_escaped(url, curl, request->id2)))
    return (false);

  for (int i = 0; i < CLI_QUERY_MAX && request->query[i].name; i++) {
    const cli_param_t *param = request->query + i;

    if (!param->value) continue;

    if (!http_buffer_append(url, &sep, 1) ||
        !http_buffer_append(url, param->name, strlen(param->name)) ||
        !http_buffer_append(url, "=", 1) || !http_buffer_append_escaped(url, curl, param->value))
      return (false);

    sep = '&';
  }

  if (request->tenant_scoped && cli->tenant &&
      (!http_buffer_append(url, &sep, 1) || !http_buffer_append(url, "tenant=", 7) ||
       !http_buffer_append_escaped(url, curl, cli->tenant)))
    return (false);

  return (true);
}

//
// 'cli_http_auth_resolve()' - Make sure a password is at hand for Basic auth.
//
// A bearer token needs nothing.  For NAME@TENANT without a password the
// password comes from --password-file, else from a no-echo prompt.  Runs
// once; cli_command_run() calls it before a command reads its own
// secrets, so "--password-file -" takes the first line of standard input.
//

cli_status_t cli_http_auth_resolve(cli_t *cli) {
  cli_status_t status = CLI_STATUS_OK;

  if (cli->auth_ready || cli->token || !cli->user) goto done;

  if (cli->password_file) {
    status =
        cli_secret_from_file(cli, cli->password_file, cli->password_buf, sizeof(cli->password_buf));
  } else if (!cli->password) {
    char prompt[256];

    snprintf(prompt, sizeof(prompt), "Password for %s", cli->user);
    status = cli_secret_prompt(cli, prompt, false, cli->password_buf, sizeof(cli->password_buf));
  } else {
    goto done;
  }

  if (status == CLI_STATUS_OK) cli->password = cli->password_buf;

done:
  if (status == CLI_STATUS_OK) cli->auth_ready = true;

  return (status);
}

//
// 'http_reason()' - Fallback title for a status without a problem document.
//

static const char *http_reason(long code) {
  static const struct {
    long code;
    const char *text;
  } reasons[] = {{400, "Bad Request"},
                 {401, "Unauthorized"},
                 {403, "Forbidden"},
                 {404, "Not Found"},
                 {405, "Method Not Allowed"},
                 {409, "Conflict"},
                 {410, "Gone"},
                 {413, "Content Too Large"},
                 {415, "Unsupported Media Type"},
                 {422, "Unprocessable Content"},
                 {429, "Too Many Requests"},
                 {500, "Internal Server Error"},
                 {501, "Not Implemented"},
                 {502, "Bad Gateway"},
                 {503, "Service Unavailable"},
                 {504, "Gateway Timeout"}};

  for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
    if (reasons[i].code == code) return (reasons[i].text);
  }

  return (code >= 300 && code < 400 ? "Unexpected redirect" : "Unexpected response");
}

//
// 'http_problem_report()' - Turn a non-2xx answer into cli->error.
//
// Uses title, member and detail of an RFC 9457 problem document when the
// server sent one, else the reason phrase.  Always returns CLI_STATUS_FAILED.
//

static cli_status_t http_problem_report(cli_t *cli, long code, const char *content_type,
                                        const http_buffer_t *body) {
  json_t *problem = NULL;
  const char *title = NULL;
  const char *detail = NULL;
  const char *member = NULL;

  if (content_type && body->len > 0 &&
      (!strncasecmp(content_type, "application/problem+json", 24) ||
       !strncasecmp(content_type, "application/json", 16))) {
    problem = json_loadb(body->data, body->len, 0, NULL);
    title = json_string_value(json_object_get(problem, "title"));
    detail = json_string_value(json_object_get(problem, "detail"));
    member = json_string_value(json_object_get(problem, "member"));
  }

  if (!title || !*title) title = http_reason(code);

  // The request member a refusal names ("items[1].sha256"), unless the
  // detail says it already.
  if (detail && *detail && member && *member && !strstr(detail, member))
    cli_fail(cli, CLI_STATUS_FAILED, "%s: %s: %s (HTTP %ld)", title, member, detail, code);
  else if (detail && *detail)
    cli_fail(cli, CLI_STATUS_FAILED, "%s: %s (HTTP %ld)", title, detail, code);
  else
    cli_fail(cli, CLI_STATUS_FAILED, "%s (HTTP %ld)", title, code);

  json_decref(problem);

  return (CLI_STATUS_FAILED);
}

//
// 'cli_http_handle()' - Return the shared libcurl handle, creating it once.
//
// Exposed so that callers can build curl_mime bodies on it.  Returns NULL
// when libcurl cannot allocate a handle.
//

CURL *cli_http_handle(cli_t *cli) {
  if (!cli->curl) cli->curl = curl_easy_init();

  return (cli->curl);
}

//
// 'cli_http_close()' - Release the libcurl handle.
//

void cli_http_close(cli_t *cli) {
  if (cli->curl) {
    curl_easy_cleanup(cli->curl);
    cli->curl = NULL;
  }
}

//
// 'cli_http_send()' - Perform one REST request.
//
// On a 2xx answer stores the parsed JSON document in *response (caller
// owns it; NULL when the body is empty, e.g. 204) and returns
// CLI_STATUS_OK.  Otherwise *response stays NULL and the status and
// cli->error describe the failure as in the file header.
//

cli_status_t cli_http_send(cli_t *cli, const cli_request_t *request, json_t **response) {
  cli_status_t status = CLI_STATUS_FAILED;
  CURL *curl;
  CURLcode result;
  http_buffer_t url = {.max = CLI_URL_MAX};
  http_buffer_t body = {.max = CLI_RESPONSE_MAX};
  struct curl_slist *headers = NULL;
  char *payload = NULL;
  char auth[CLI_SECRET_MAX + 32];
  char errbuf[CURL_ERROR_SIZE] = "";
  long code = 0;
  char *content_type = NULL;
  char accept[256];
  http_sink_t sink = {.body = &body, .raw = request->raw};

  *response = NULL;
  auth[0] = '\0';

  if ((status = cli_http_auth_resolve(cli)) != CLI_STATUS_OK) goto done;

  status = CLI_STATUS_FAILED;

  if (!(curl = cli_http_handle(cli))) {
    cli_fail(cli, CLI_STATUS_FAILED, "cannot initialize libcurl");
    goto done;
  }

  curl_easy_reset(curl);
  sink.curl = curl;

  if (!http_url_build(cli, curl, request, &url)) {
    cli_fail(cli, CLI_STATUS_FAILED, "request URL is longer than %u bytes", CLI_URL_MAX);
    goto done;
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.data);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, CLI_PROGRAM "/" NIMBUS_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  if (!request->raw)
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_RESPONSE_MAX);

  // --timeout bounds connecting and any stall; uploads of large documents
  // and raw downloads may take longer in total, other requests may not.
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, cli->timeout);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, cli->timeout);
  if (!request->mime && !request->raw && !request->upload)
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, cli->timeout);

  if (cli->cacert) curl_easy_setopt(curl, CURLOPT_CAINFO, cli->cacert);

  if (cli->insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  snprintf(accept, sizeof(accept), "Accept: %s",
           request->accept ? request->accept : "application/json, application/problem+json");

  if (!http_header_add(&headers, accept)) goto oom;

  if (cli->token) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cli->token);

    if (!http_header_add(&headers, auth)) goto oom;
  } else if (cli->user) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, cli->user);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, cli->password ? cli->password : "");
  }

  if (request->body) {
    if (!(payload = json_dumps(request->body, JSON_COMPACT))) {
      cli_fail(cli, CLI_STATUS_FAILED, "cannot encode request body");
      goto done;
    }

    if (!http_header_add(&headers, "Content-Type: application/json")) goto oom;

    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
  } else if (request->mime) {
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, request->mime);
  } else if (request->upload) {
    // A package: streamed from the file by libcurl's default reader
    // (fread), never held in memory; no "Expect: 100-continue" round trip.
    if (!http_header_add(&headers, "Content-Type: application/octet-stream") ||
        !http_header_add(&headers, "Expect:"))
      goto oom;

    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, request->upload);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, request->upload_size);
  } else if (strcmp(request->method, "GET") && strcmp(request->method, "DELETE")) {
    // Empty body: no Content-Type rather than curl's form-urlencoded one.
    if (!http_header_add(&headers, "Content-Type:")) goto oom;

    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  }

  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  if (!strcmp(request->method, "GET"))
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  else if (strcmp(request->method, "POST"))
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);

  result = curl_easy_perform(curl);

  if (result == CURLE_WRITE_ERROR && sink.raw_failed) {
    cli_fail(cli, CLI_STATUS_FAILED, "cannot write to standard output");
    goto done;
  } else if (result == CURLE_WRITE_ERROR || result == CURLE_FILESIZE_EXCEEDED) {
    if (body.overflow || result == CURLE_FILESIZE_EXCEEDED)
      cli_fail(cli, CLI_STATUS_FAILED, "server response is larger than %u MiB",
               CLI_RESPONSE_MAX / (1024u * 1024u));
    else
      cli_fail(cli, CLI_STATUS_FAILED, "out of memory reading the server response");
    goto done;
  } else if (result == CURLE_READ_ERROR) {
    cli_fail(cli, CLI_STATUS_FAILED, "cannot read the document: %s",
             errbuf[0] ? errbuf : curl_easy_strerror(result));
    goto done;
  } else if (result != CURLE_OK) {
    status = cli_fail(cli, CLI_STATUS_CONNECT, "cannot reach %s: %s", cli->url,
                      errbuf[0] ? errbuf : curl_easy_strerror(result));
    goto done;
  }

  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);

  if (code < 200 || code > 299) {
    status = http_problem_report(cli, code, content_type, &body);
    goto done;
  }

  if (request->raw) {
    // The body went to request->raw as it came.
    if (fflush(request->raw) != 0) {
      cli_fail(cli, CLI_STATUS_FAILED, "cannot write to standard output");
      goto done;
    }
  } else if (body.len > 0) {
    json_error_t error;

    if (!(*response = json_loadb(body.data, body.len, 0, &error))) {
      cli_fail(cli, CLI_STATUS_FAILED, "server sent invalid JSON (HTTP %ld): %s", code, error.text);
      goto done;
    }
  }

  status = CLI_STATUS_OK;
  goto done;

oom:
  cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

done:
  cli_secret_wipe(auth, sizeof(auth));

  if (payload) {
    cli_secret_wipe(payload, strlen(payload));
    free(payload);
  }

  curl_slist_free_all(headers);
  free(url.data);
  free(body.data);

  return (status);
}
