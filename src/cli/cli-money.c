//
// Money in nimbusctl's output and input: amounts are integers in the
// currency's minor unit on the wire (cents for EUR, yen for JPY) and are
// formatted and parsed only through money.h (src/server/billing/money.c,
// compiled into nimbusctl), exactly, never through floating point.
//
// Views print what is in a document, so before a job or payment is
// printed as a record the commands add "cli:" members holding the text of
// its amounts and times ("EUR 0.42 (print 0.20 + service 0.22)",
// "2026-12-04T22:10:00Z").  The --json output is the server's document,
// without them.
//

#include "cli-private.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "money.h"

// The payment of a job (GET /api/v1/jobs/ID/payment, after
// cli_money_decorate_payment()).
static const cli_field_t payment_fields[] = {{"id", NULL, "Payment id", NULL},
                                             {"state", NULL, "State", NULL},
                                             {"amount_text", NULL, "Amount", NULL},
                                             {"cli:print_fee", NULL, "Print fee", NULL},
                                             {"cli:service_fee", NULL, "Service fee", NULL},
                                             {"provider", NULL, "Provider", NULL},
                                             {"order_id", NULL, "Order id", NULL},
                                             {"attempt", NULL, "Attempt", NULL},
                                             {"payment_url", NULL, "Payment URL", NULL},
                                             {"cli:expires_at", NULL, "Expires", NULL},
                                             {"cli:paid_at", NULL, "Paid", NULL},
                                             {"refund_id", NULL, "Refund id", NULL},
                                             {"reason", NULL, "Reason", NULL},
                                             {"cli:created_at", NULL, "Created", NULL},
                                             {NULL, NULL, NULL, NULL}};

const cli_view_t cli_payment_view = {NULL, payment_fields};

//
// 'cli_money_text()' - Format an amount of minor units for people.
//
// "0.42" or, with_code, "EUR 0.42".  An amount in a currency money.h does
// not know is shown as "42 minor units of XYZ" (without a currency: "42
// minor units") rather than guessed.
// Returns false (buf empty) when amount is not a JSON integer or buf is
// too small.
//

bool cli_money_text(const json_t *amount, const char *currency, bool with_code, char *buf,
                    size_t size) {
  int64_t minor;
  int n;

  if (size > 0) buf[0] = '\0';

  if (!json_is_integer(amount) || size == 0) return (false);

  minor = (int64_t)json_integer_value(amount);

  if (currency && (with_code ? money_format_with_code(minor, currency, buf, size)
                             : money_format(minor, currency, buf, size)))
    return (true);

  if (currency && *currency)
    n = snprintf(buf, size, "%lld minor units of %s", (long long)minor, currency);
  else
    n = snprintf(buf, size, "%lld minor units", (long long)minor);

  if (n < 0 || (size_t)n >= size) {
    buf[0] = '\0';
    return (false);
  }

  return (true);
}

//
// 'money_set()' - Set member key of object to a string (sanitized later
//                 by the printer); a NULL or empty text sets nothing.
//

static cli_status_t money_set(cli_t *cli, json_t *object, const char *key, const char *text) {
  if (!text || !*text) return (CLI_STATUS_OK);

  if (json_object_set_new(object, key, json_string(text)))
    return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

  return (CLI_STATUS_OK);
}

//
// 'cli_money_set_text()' - Set member key of object to the text of an amount.
//
// Sets nothing when amount is missing or not an integer (the record then
// shows "-").
//

cli_status_t cli_money_set_text(cli_t *cli, json_t *object, const char *key, const json_t *amount,
                                const char *currency, bool with_code) {
  char text[96];

  if (!cli_money_text(amount, currency, with_code, text, sizeof(text))) return (CLI_STATUS_OK);

  return (money_set(cli, object, key, text));
}

//
// 'cli_money_set_time()' - Set member key of object to a UTC time in the
//                          API's format, from seconds since the epoch.
//
// 0, missing or non-integer values set nothing.
//

cli_status_t cli_money_set_time(cli_t *cli, json_t *object, const char *key, const json_t *epoch) {
  char text[32];
  struct tm tm;
  time_t t;

  if (!json_is_integer(epoch) || json_integer_value(epoch) <= 0) return (CLI_STATUS_OK);

  t = (time_t)json_integer_value(epoch);

  if (!gmtime_r(&t, &tm) || !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm))
    return (CLI_STATUS_OK);

  return (money_set(cli, object, key, text));
}

//
// 'cli_money_decorate_payment()' - Add the "cli:" texts of a payment.
//
// payment may be NULL or not an object (nothing to do).
//

cli_status_t cli_money_decorate_payment(cli_t *cli, json_t *payment) {
  const char *currency = json_string_value(json_object_get(payment, "currency"));
  cli_status_t status;

  if (!json_is_object(payment)) return (CLI_STATUS_OK);

  if ((status = cli_money_set_text(cli, payment, "cli:print_fee",
                                   json_object_get(payment, "print_fee"), currency, true)) !=
          CLI_STATUS_OK ||
      (status = cli_money_set_text(cli, payment, "cli:service_fee",
                                   json_object_get(payment, "service_fee"), currency, true)) !=
          CLI_STATUS_OK ||
      (status = cli_money_set_time(cli, payment, "cli:expires_at",
                                   json_object_get(payment, "expires_at"))) != CLI_STATUS_OK ||
      (status = cli_money_set_time(cli, payment, "cli:paid_at",
                                   json_object_get(payment, "paid_at"))) != CLI_STATUS_OK ||
      (status = cli_money_set_time(cli, payment, "cli:created_at",
                                   json_object_get(payment, "created_at"))) != CLI_STATUS_OK)
    return (status);

  // Without money.h's help (unknown currency) the server's text is used.
  if (!json_object_get(payment, "amount_text"))
    status = cli_money_set_text(cli, payment, "amount_text", json_object_get(payment, "amount"),
                                currency, true);

  return (status);
}

//
// 'money_charge_text()' - "EUR 0.42 (print 0.20 + service 0.22)" for a
//                         job's charge object.
//
// Returns false (buf empty) when the charge lacks an integer amount.
//

static bool money_charge_text(const json_t *charge, char *buf, size_t size) {
  const char *currency = json_string_value(json_object_get(charge, "currency"));
  char total[96], print[96], service[96];
  int n;

  buf[0] = '\0';

  if (!cli_money_text(json_object_get(charge, "total"), currency, true, total, sizeof(total)) ||
      !cli_money_text(json_object_get(charge, "print_fee"), currency, false, print,
                      sizeof(print)) ||
      !cli_money_text(json_object_get(charge, "service_fee"), currency, false, service,
                      sizeof(service)))
    return (false);

  n = snprintf(buf, size, "%s (print %s + service %s)", total, print, service);

  if (n < 0 || (size_t)n >= size) {
    buf[0] = '\0';
    return (false);
  }

  return (true);
}

//
// 'cli_money_decorate_job()' - Add the "cli:" members a job record shows.
//
//   cli:charge       "EUR 0.42 (print 0.20 + service 0.22)"
//   cli:price_table  the table that priced it
//   cli:charge_lines the breakdown by tier, units and subtotals as text
//   cli:payment      "pending, EUR 0.42" (state and amount of the latest payment)
//   cli:payment_url  where to pay (while the payment is pending)
//   cli:purpose      "work (account CORP): charged, EUR 0.35" (billing by purpose)
//
// Also decorates the job's "payment" object (cli_money_decorate_payment()).
//

cli_status_t cli_money_decorate_job(cli_t *cli, json_t *job) {
  json_t *charge = json_object_get(job, "charge");
  json_t *payment = json_object_get(job, "payment");
  const char *currency = json_string_value(json_object_get(charge, "currency"));
  cli_status_t status = CLI_STATUS_OK;
  char text[320];

  if (!json_is_object(job)) return (CLI_STATUS_OK);

  if (json_is_object(charge)) {
    json_t *lines = json_object_get(charge, "lines");
    json_t *rows = json_array();
    size_t i;
    json_t *line;

    if (!rows || json_object_set_new(job, "cli:charge_lines", rows))
      return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

    if (money_charge_text(charge, text, sizeof(text)) &&
        (status = money_set(cli, job, "cli:charge", text)) != CLI_STATUS_OK)
      return (status);

    if ((status = money_set(cli, job, "cli:price_table",
                            json_string_value(json_object_get(charge, "price_table")))) !=
        CLI_STATUS_OK)
      return (status);

    json_array_foreach(lines, i, line) {
      json_t *row = json_copy(line);

      if (!row || json_array_append_new(rows, row))
        return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

      if ((status = cli_money_set_text(cli, row, "cli:unit", json_object_get(line, "unit"),
                                       currency, false)) != CLI_STATUS_OK ||
          (status = cli_money_set_text(cli, row, "cli:subtotal", json_object_get(line, "subtotal"),
                                       currency, false)) != CLI_STATUS_OK)
        return (status);
    }
  }

  json_t *purpose = json_object_get(job, "purpose");
  if (json_is_object(purpose)) {
    // "work (account CORP): charged, EUR 0.35" / "own (private): charge-failed, ..."
    json_t *pc = json_object_get(purpose, "charge");
    const char *account = json_string_value(json_object_get(purpose, "account"));
    char amount[96] = "", head[160];

    snprintf(head, sizeof(head), "%s (%s%s)",
             json_string_value(json_object_get(purpose, "name"))
                 ? json_string_value(json_object_get(purpose, "name"))
                 : "?",
             account ? "account " : "private", account ? account : "");
    if (json_is_object(pc)) {
      const char *reason = json_string_value(json_object_get(pc, "reason"));

      cli_money_text(json_object_get(pc, "total"),
                     json_string_value(json_object_get(pc, "currency")), true, amount,
                     sizeof(amount));
      snprintf(text, sizeof(text), "%s: %s%s%s%s%s", head,
               json_string_value(json_object_get(pc, "state")), amount[0] ? ", " : "", amount,
               reason ? " - " : "", reason ? reason : "");
    } else {
      snprintf(text, sizeof(text), "%s", head);
    }
    if ((status = money_set(cli, job, "cli:purpose", text)) != CLI_STATUS_OK) return (status);
  }

  if (json_is_object(payment)) {
    const char *state = json_string_value(json_object_get(payment, "state"));
    char amount[96];

    if ((status = cli_money_decorate_payment(cli, payment)) != CLI_STATUS_OK) return (status);

    cli_money_text(json_object_get(payment, "amount"),
                   json_string_value(json_object_get(payment, "currency")), true, amount,
                   sizeof(amount));
    snprintf(text, sizeof(text), "%s%s%s", state ? state : "?", amount[0] ? ", " : "", amount);

    if ((status = money_set(cli, job, "cli:payment", text)) != CLI_STATUS_OK ||
        (status = money_set(cli, job, "cli:payment_url",
                            json_string_value(json_object_get(payment, "payment_url")))) !=
            CLI_STATUS_OK)
      return (status);
  }

  return (status);
}

//
// 'cli_money_parse()' - Convert an option's decimal amount ("0.20", "12",
//                       "150" for JPY) to minor units of currency, exactly.
//
// Refuses (CLI_STATUS_USAGE, naming --option) a sign, more decimals than
// the currency has, or anything money_parse() refuses.
//

cli_status_t cli_money_parse(cli_t *cli, const char *option, const char *text, const char *currency,
                             long long *minor) {
  int64_t value;
  int exponent = money_exponent(currency);

  if (exponent < 0)
    return (cli_fail(cli, CLI_STATUS_USAGE, "--%s: '%s' is not a currency nimbusctl knows", option,
                     currency));

  if (!text[0] || text[0] == '-' || text[0] == '+' || !money_parse(text, currency, &value))
    return (cli_fail(cli, CLI_STATUS_USAGE,
                     "--%s: '%s' is not an amount of %s (digits, at most %d after the '.')", option,
                     text, currency, exponent));

  *minor = (long long)value;

  return (CLI_STATUS_OK);
}
