/*
 * infra-provision.c: the provision sub-command of infra-load (see
 * infra-load.c): tenant, tenant-admin, queues and printer registrations
 * over REST with libcurl multi; the claimed credentials go to --creds.
 */
#include "infra-load.h"

/* ------------------------------------------------------------------- provision */

typedef struct il_prov_item_s {
  CURL *easy;
  struct curl_slist *hdrs;
  il_buf_t body;
  char *json; /* request body */
  int index;  /* printer number, 1-based */
  int step;   /* 0 queue, 1 printer, 2 claim */
  int tries;
  char claim[64];
} il_prov_item_t;

typedef struct il_prov_s {
  const char *url; /* base, e.g. http://127.0.0.1:8631 */
  const char *tenant;
  char token[128];
  int count, parallel;
  FILE *out;
  int next, done, failed;
  char first_error[512];
} il_prov_t;

static void il_prov_error(il_prov_t *pv, const char *fmt, const char *a, long b) {
  if (!pv->first_error[0]) snprintf(pv->first_error, sizeof(pv->first_error), fmt, a, b);
}

static void il_prov_start(il_prov_t *pv, CURLM *multi, il_prov_item_t *it) {
  char url[1024], auth[256];
  json_t *j = NULL;

  curl_easy_reset(it->easy);
  curl_slist_free_all(it->hdrs);
  it->hdrs = NULL;
  free(it->json);
  it->json = NULL;
  it->body.len = 0;

  switch (it->step) {
    case 0:
      snprintf(url, sizeof(url), "%s/api/v1/queues", pv->url);
      j = json_object();
      json_object_set_new(j, "name", json_sprintf("q%05d", it->index));
      break;
    case 1:
      snprintf(url, sizeof(url), "%s/api/v1/printers", pv->url);
      j = json_object();
      json_object_set_new(j, "name", json_sprintf("p%05d", it->index));
      json_object_set_new(j, "queues", json_pack("[o]", json_sprintf("q%05d", it->index)));
      break;
    default:
      snprintf(url, sizeof(url), "%s/api/v1/device/register", pv->url);
      j = json_pack("{s:s}", "claim_code", it->claim);
      break;
  }
  it->json = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (it->step < 2) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", pv->token);
    it->hdrs = curl_slist_append(it->hdrs, auth);
  }
  it->hdrs = curl_slist_append(it->hdrs, "Content-Type: application/json");
  it->hdrs = curl_slist_append(it->hdrs, "Expect:");
  curl_easy_setopt(it->easy, CURLOPT_URL, url);
  curl_easy_setopt(it->easy, CURLOPT_POSTFIELDS, it->json);
  curl_easy_setopt(it->easy, CURLOPT_HTTPHEADER, it->hdrs);
  curl_easy_setopt(it->easy, CURLOPT_WRITEFUNCTION, il_curl_write);
  curl_easy_setopt(it->easy, CURLOPT_WRITEDATA, &it->body);
  curl_easy_setopt(it->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(it->easy, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(it->easy, CURLOPT_PRIVATE, it);
  curl_multi_add_handle(multi, it->easy);
}

/* One finished request of an item: advance it.  Returns true when the
 * item is free for the next printer. */
static bool il_prov_done(il_prov_t *pv, il_prov_item_t *it, CURLcode res) {
  long code = 0;
  json_t *j = NULL;
  json_error_t jerr;

  if (res == CURLE_OK) curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &code);
  if (res != CURLE_OK || code == 503 || code == 429) {
    if (++it->tries <= 5) {
      il_sleep_ms(200.0 * it->tries);
      return (false); /* caller restarts the same step */
    }
  }
  if (code != 201 && code != 200) {
    il_prov_error(pv, "provisioning step failed: %s (HTTP %ld)",
                  res != CURLE_OK ? curl_easy_strerror(res) : (it->body.data ? it->body.data : ""),
                  code);
    pv->failed++;
    return (true);
  }
  it->tries = 0;
  if (it->step == 1) {
    const char *cc = NULL;

    j = json_loads(it->body.data ? it->body.data : "", 0, &jerr);
    if (json_unpack(j, "{s:s}", "claim_code", &cc) || !cc) {
      il_prov_error(pv, "POST /printers: no claim_code in %s%ld", it->body.data, 0);
      pv->failed++;
      json_decref(j);
      return (true);
    }
    snprintf(it->claim, sizeof(it->claim), "%s", cc);
    json_decref(j);
  } else if (it->step == 2) {
    const char *uuid = NULL, *cred = NULL, *uri = NULL;
    json_t *uris = NULL;

    j = json_loads(it->body.data ? it->body.data : "", 0, &jerr);
    if (json_unpack(j, "{s:s,s:s,s:o}", "output_device_uuid", &uuid, "credential", &cred,
                    "printer_uris", &uris) ||
        !json_is_array(uris) || !json_is_string(json_array_get(uris, 0))) {
      il_prov_error(pv, "POST /device/register: unexpected answer %s%ld", it->body.data, 0);
      pv->failed++;
      json_decref(j);
      return (true);
    }
    uri = json_string_value(json_array_get(uris, 0));
    fprintf(pv->out, "q%05d\t%s\t%s\t%s\n", it->index, uri, uuid, cred);
    json_decref(j);
    pv->done++;
    return (true);
  }
  it->step++;
  return (false);
}

int il_provision(int argc, char *argv[]) {
  static const struct option options[] = {
      {"url", required_argument, NULL, 'u'},   {"count", required_argument, NULL, 'n'},
      {"creds", required_argument, NULL, 'c'}, {"tenant", required_argument, NULL, 't'},
      {"admin", required_argument, NULL, 'a'}, {"parallel", required_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
  il_prov_t pv;
  const char *creds = NULL, *admin = getenv("INFRA_LOAD_ADMIN");
  char url[1024], json[512], pass[64];
  il_buf_t body = {0};
  CURL *c;
  CURLM *multi;
  il_prov_item_t *items;
  long code;
  int opt, i, running, last_report = 0;
  double t0;
  char tmp[1100];

  memset(&pv, 0, sizeof(pv));
  pv.tenant = "bench";
  pv.parallel = 16;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
      case 'u':
        pv.url = optarg;
        break;
      case 'n':
        pv.count = atoi(optarg);
        break;
      case 'c':
        creds = optarg;
        break;
      case 't':
        pv.tenant = optarg;
        break;
      case 'a':
        admin = optarg;
        break;
      case 'p':
        pv.parallel = atoi(optarg);
        break;
      default:
        fputs(
            "Usage: infra-load provision --url http://HOST:PORT --count N --creds FILE\n"
            "         [--tenant NAME] [--admin USER@system:PASSWORD] [--parallel K]\n"
            "The admin credentials may come from the environment (INFRA_LOAD_ADMIN).\n",
            opt == 'h' ? stdout : stderr);
        return (opt == 'h' ? 0 : 2);
    }
  }
  if (!pv.url || !creds || !admin || pv.count < 1 || pv.count > IL_MAX_PRINTERS ||
      pv.parallel < 1 || pv.parallel > 256) {
    fputs("infra-load provision: --url, --count (1..200000), --creds and --admin are needed\n",
          stderr);
    return (2);
  }

  c = curl_easy_init();
  t0 = bench_now_ms();

  /* Tenant, its admin user (random password), and that user's API token. */
  snprintf(url, sizeof(url), "%s/api/v1/tenants", pv.url);
  snprintf(json, sizeof(json), "{\"name\":\"%s\",\"max_held_jobs_per_user\":1000000}", pv.tenant);
  if ((code = il_rest(c, "POST", url, admin, NULL, json, &body)) != 201) {
    fprintf(stderr, "infra-load: POST /tenants: HTTP %ld %s\n", code, body.data ? body.data : "");
    return (1);
  }
  {
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    for (i = 0; i < 32; i++) pass[i] = "abcdefghijkmnopqrstuvwxyz23456789"[rand_r(&seed) % 33];
    pass[32] = '\0';
  }
  snprintf(url, sizeof(url), "%s/api/v1/users?tenant=%s", pv.url, pv.tenant);
  snprintf(json, sizeof(json), "{\"name\":\"bench\",\"password\":\"%s\",\"role\":\"tenant-admin\"}",
           pass);
  if ((code = il_rest(c, "POST", url, admin, NULL, json, &body)) != 201) {
    fprintf(stderr, "infra-load: POST /users: HTTP %ld %s\n", code, body.data ? body.data : "");
    return (1);
  }
  snprintf(url, sizeof(url), "%s/api/v1/tokens?tenant=%s", pv.url, pv.tenant);
  if ((code = il_rest(c, "POST", url, admin, NULL, "{\"user\":\"bench\",\"label\":\"infra-load\"}",
                      &body)) != 201) {
    fprintf(stderr, "infra-load: POST /tokens: HTTP %ld %s\n", code, body.data ? body.data : "");
    return (1);
  }
  {
    json_error_t jerr;
    json_t *j = json_loads(body.data, 0, &jerr);
    const char *tok = NULL;

    if (json_unpack(j, "{s:s}", "token", &tok) || !tok) {
      fprintf(stderr, "infra-load: POST /tokens: no token in %s\n", body.data);
      return (1);
    }
    snprintf(pv.token, sizeof(pv.token), "%s", tok);
    json_decref(j);
  }
  curl_easy_cleanup(c);
  il_buf_free(&body);

  snprintf(tmp, sizeof(tmp), "%s.tmp", creds);
  if ((pv.out = fopen(tmp, "w")) == NULL) {
    fprintf(stderr, "infra-load: %s: %s\n", tmp, strerror(errno));
    return (1);
  }
  fprintf(pv.out, "# infra-load v1 tenant=%s token=%s\n", pv.tenant, pv.token);

  /* The printers: each item walks queue -> printer -> claim. */
  multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)pv.parallel);
  items = calloc((size_t)pv.parallel, sizeof(*items));
  for (i = 0; i < pv.parallel && pv.next < pv.count; i++) {
    items[i].easy = curl_easy_init();
    items[i].index = ++pv.next;
    il_prov_start(&pv, multi, items + i);
  }
  do {
    CURLMsg *msg;
    int left;

    curl_multi_perform(multi, &running);
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
      il_prov_item_t *it = NULL;

      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
      curl_multi_remove_handle(multi, it->easy);
      if (il_prov_done(&pv, it, msg->data.result)) {
        if (pv.failed || pv.next >= pv.count) continue;
        it->index = ++pv.next;
        it->step = 0;
        it->tries = 0;
      }
      il_prov_start(&pv, multi, it);
      running++;
    }
    if (pv.done >= last_report + 1000) {
      last_report = pv.done;
      fprintf(stderr, "infra-load: %d printers provisioned (%.1f s)\n", pv.done,
              (bench_now_ms() - t0) / 1000.0);
    }
    if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  } while (running);
  for (i = 0; i < pv.parallel; i++) {
    if (items[i].easy) curl_easy_cleanup(items[i].easy);
    curl_slist_free_all(items[i].hdrs);
    free(items[i].json);
    il_buf_free(&items[i].body);
  }
  free(items);
  curl_multi_cleanup(multi);
  if (fclose(pv.out) || pv.failed || pv.done != pv.count) {
    fprintf(stderr, "infra-load: provisioning failed after %d of %d printers: %s\n", pv.done,
            pv.count, pv.first_error);
    unlink(tmp);
    return (1);
  }
  if (rename(tmp, creds)) {
    fprintf(stderr, "infra-load: rename %s: %s\n", creds, strerror(errno));
    return (1);
  }
  fprintf(stderr, "infra-load: provisioned %d printers in %.1f s (%s)\n", pv.count,
          (bench_now_ms() - t0) / 1000.0, creds);
  return (0);
}
