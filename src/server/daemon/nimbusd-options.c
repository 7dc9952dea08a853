/*
 * nimbusd-options.c: nimbusd's options, declared once.  This table feeds
 * the config file parser, the command line and --help (config.h).
 */
#include <stddef.h>

#include "server.h"

#define OPT(name, type, field, def, help, reload, min, max)                                     \
  {                                                                                             \
    name, type, offsetof(nimbusd_config_t, field), sizeof(((nimbusd_config_t *)0)->field), def, \
        help, reload, min, max                                                                  \
  }

const config_option_t nimbusd_options[] = {
    OPT("listen", CONFIG_STRING, listen, "127.0.0.1",
        "address to listen on (0.0.0.0 or :: for all)", false, 0, 0),
    OPT("port", CONFIG_INT, port, "8631", "TCP port for IPP, REST and the console", false, 0,
        65535),
    OPT("state-dir", CONFIG_STRING, state_dir, "./nimbus-state",
        "directory for the database and the spool", false, 0, 0),
    OPT("node-id", CONFIG_STRING, node_id, "",
        "this node's name on a spool shared by several nimbusd ([A-Za-z0-9._-], 1-64 "
        "characters; default: the host name)",
        false, 0, 0),
    OPT("store", CONFIG_STRING, store_url, "",
        "database URL: sqlite:///path/nimbus.db or postgresql://... (default: "
        "state-dir/nimbus.db)",
        false, 0, 0),
    OPT("threads", CONFIG_INT, threads, "4", "HTTP event threads (epoll)", false, 1, 256),
    OPT("workers", CONFIG_INT, workers, "16", "worker threads for disk, database and hashing",
        false, 1, 256),
    OPT("tls-cert", CONFIG_STRING, tls_cert, "", "PEM certificate: serve HTTPS/IPPS", false, 0, 0),
    OPT("tls-key", CONFIG_STRING, tls_key, "", "PEM private key for --tls-cert", false, 0, 0),
    OPT("log-level", CONFIG_STRING, log_level, "info", "debug, info, warn or error", true, 0, 0),
    OPT("max-document-size", CONFIG_SIZE, max_document_size, "1G",
        "largest document a tenant may send unless it sets its own", false, 1,
        0x7fffffffffffffffLL),
    OPT("max-held-jobs", CONFIG_INT, max_held_jobs, "100",
        "most pending jobs per user unless the tenant sets its own", false, 1, 1000000),
    OPT("max-document-pages", CONFIG_INT, max_document_pages, "10000",
        "most pages in one document; more is refused (422)", false, 1, 100000000),
    OPT("max-pdf-inflate", CONFIG_SIZE, max_pdf_inflate, "16M",
        "most bytes a PDF's object streams may decompress to while its pages are counted", false,
        64 * 1024, 1024LL * 1024 * 1024),
    OPT("max-pdf-objects", CONFIG_INT, max_pdf_objects, "250000", "most objects in one PDF", false,
        16, 100000000),
    OPT("max-pdf-memory", CONFIG_SIZE, max_pdf_memory, "32M",
        "most memory qpdf may hold while counting one PDF's pages", false, 1024 * 1024,
        4096LL * 1024 * 1024),
    OPT("max-held-jobs-per-printer", CONFIG_INT, max_printer_jobs, "50",
        "most pending jobs submitted through one printer's listener (keep below max-held-jobs)",
        false, 1, 1000000),
    OPT("max-ipp-header", CONFIG_SIZE, max_ipp_header, "256k",
        "largest IPP attribute section of a request", false, 1024, 64 * 1024 * 1024),
    OPT("max-json-body", CONFIG_SIZE, max_json_body, "1M", "largest JSON request body", false, 1024,
        64 * 1024 * 1024),
    OPT("min-free-space", CONFIG_SIZE, min_free_space, "64M",
        "/healthz answers 503 when the spool or database disk has less free (0 = no check)", false,
        0, 0x7fffffffffffffffLL),
    OPT("max-connections", CONFIG_INT, max_connections, "20000",
        "most simultaneous client connections; as many long-polls may be held besides", false, 16,
        1000000),
    OPT("connection-memory", CONFIG_SIZE, connection_memory, "32k",
        "memory pool per connection (request headers, read buffer); idle keep-alive connections "
        "cost this",
        false, 8 * 1024, 1024 * 1024),
    OPT("connection-timeout", CONFIG_INT, connection_timeout, "120",
        "seconds before an idle connection is closed", false, 1, 86400),
    OPT("group-commit", CONFIG_INT, group_commit, "64",
        "most job inserts committed in one transaction (1 = off)", false, 1, 4096),
    OPT("store-readers", CONFIG_INT, store_readers, "8",
        "read connections to an SQLite database, so reads never wait for a write "
        "(0 = reads share the write connection)",
        false, 0, 256),
    OPT("auth-cache-seconds", CONFIG_INT, auth_cache_seconds, "300",
        "how long a verified password stays trusted in memory (0 = off)", false, 0, 86400),
    OPT("trust-proxy", CONFIG_BOOL, trust_proxy, "false",
        "believe a reverse proxy's X-Forwarded-Proto: https (advertise ipps:// URIs) and "
        "X-Forwarded-For (the client address for the sign-in throttle and logs)",
        false, 0, 0),
    OPT("login-failures", CONFIG_INT, login_failures, "10",
        "failed sign-ins per account within --login-window before further ones get 429", false, 1,
        1000000),
    OPT("login-failures-per-address", CONFIG_INT, login_failures_addr, "50",
        "failed sign-ins (passwords, tokens) per client address within --login-window before 429",
        false, 1, 1000000),
    OPT("panel-login-failures", CONFIG_INT, panel_login_failures, "5",
        "failed sign-ins per user at one printer's panel within --login-window before 429", false,
        1, 1000000),
    OPT("login-window", CONFIG_INT, login_window, "900",
        "seconds failed sign-ins are counted (from the first one) by the sign-in throttle", false,
        1, 86400),
    OPT("device-lease", CONFIG_INT, device_lease, "300",
        "seconds a silent printer keeps its jobs before they are offered again", false, 5, 86400),
    OPT("notify-wait", CONFIG_INT, notify_wait, "60",
        "longest a printer's Get-Notifications (notify-wait) is held, in seconds", false, 1, 3600),
    OPT("printer-online-window", CONFIG_INT, online_window, "0",
        "seconds since a printer was last heard from within which it shows as online (0: "
        "notify-wait + 30)",
        false, 0, 86400),
    OPT("pin-max-attempts", CONFIG_INT, pin_max_attempts, "5",
        "wrong job PINs before a job is locked", false, 1, 1000),
    OPT("pin-lockout", CONFIG_INT, pin_lockout, "900",
        "seconds a job stays locked after too many wrong PINs (also the counting window)", false, 1,
        86400 * 7),
    OPT("public-url", CONFIG_STRING, public_url, "",
        "this service's address as phones and payment providers reach it, e.g. "
        "https://print.example.com (payment confirm and webhook URLs; default: "
        "http://listen:port)",
        false, 0, 0),
    OPT("secrets-key", CONFIG_STRING, secrets_key, "",
        "32-byte key file sealing payment provider credentials at rest (created 0600 when "
        "missing; default: state-dir/secrets.key)",
        false, 0, 0),
    OPT("payment-timeout", CONFIG_INT, payment_timeout, "180",
        "seconds a user has to pay at the printer before the payment is checked and canceled",
        false, 5, 3600),
    OPT("account-link-check", CONFIG_INT, account_link_check, "600",
        "seconds between checks that a linked account's token on another print service "
        "still works",
        false, 1, 86400),
    OPT("charge-retry", CONFIG_INT, charge_retry, "60",
        "seconds before a declined private-purpose charge is tried again (later tries wait "
        "5, 30, 120 and 720 times as long)",
        false, 1, 86400),
    OPT("retention-hours", CONFIG_INT, retention_hours, "24",
        "hours an unreleased job is kept unless its tenant sets its own", false, 1, 24 * 365),
    OPT("panel-session-idle", CONFIG_INT, panel_session_idle, "120",
        "seconds a user stays signed in at a printer's panel without activity (as the "
        "connector's panel-session-idle)",
        false, 10, 86400),
    OPT("session-idle", CONFIG_INT, session_idle, "1800",
        "seconds a web console session may go unused before it ends", false, 1, 86400 * 7),
    OPT("session-max", CONFIG_INT, session_max, "43200",
        "seconds after sign-in a web console session ends, used or not", false, 1, 86400 * 30),
    OPT("console-dir", CONFIG_STRING, console_dir, NIMBUS_CONSOLE_DIR,
        "the web console's files, served at / and /assets/ (\"\" = no console)", false, 0, 0),
    /* the name before 0.2 (deprecated): still read, with a warning in the log */
    OPT("panel-session", CONFIG_ALIAS, panel_session_idle, "panel-session-idle", NULL, false, 0, 0),
    OPT("demo", CONFIG_BOOL, demo, "false", "create a demo tenant, user and queue on first start",
        false, 0, 0),
    OPT("fast-hashing", CONFIG_BOOL, fast_hashing, "false",
        "minimum argon2id cost (tests only, never production)", false, 0, 0),
    OPT("admin-password", CONFIG_STRING, admin_password, "",
        "operator 'admin@system' password on first start (default: random, written to "
        "state-dir/admin-password)",
        false, 0, 0),
    CONFIG_END};
