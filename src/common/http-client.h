/*
 * http-client.h: the one set of libcurl options every outgoing HTTP
 * request of nimbusd takes (payment providers, the OAuth client of
 * account links): no signals (threads), a total and a connect time limit,
 * no redirects, http and https only, the user agent "nimbusd".
 */
#ifndef NIMBUS_HTTP_CLIENT_H
#define NIMBUS_HTTP_CLIENT_H

#include <curl/curl.h>

/* Apply those options to curl; timeout_s bounds the whole request, the
 * connect phase at most 5 s of it. */
void http_client_harden(CURL *curl, int timeout_s);

#endif
