//
// Output for nimbusctl: aligned tables for lists, "Label: value" blocks for
// single resources, and the server's JSON document for --json.
//
// Which members are shown is declared per resource as a cli_view_t (see
// cli-commands-*.c); values are formatted from their JSON type, so the
// views need no per-field code (amounts of money and times the server
// sends as integers are formatted by the commands beforehand, as "cli:"
// members; see cli-money.c).  Every string from the server passes
// through cli_output_sanitize() so it cannot drive the terminal.
//

#include "cli-private.h"

#include <stdlib.h>
#include <string.h>

#define OUTPUT_GAP 2  // spaces between table columns

//
// 'cli_output_sanitize()' - Replace terminal control characters in place.
//
// C0 controls, DEL and the UTF-8 encodings of C1 controls (U+0080..U+009F,
// which some terminals honour as escape sequences) become '?'.
//

void cli_output_sanitize(char *text) {
  unsigned char *s = (unsigned char *)text;

  for (; *s; s++) {
    if (*s < 0x20 || *s == 0x7f)
      *s = '?';
    else if (*s == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
      s[0] = '?';
      s[1] = '?';
      s++;
    }
  }
}

//
// 'output_width()' - Display width of a UTF-8 string, one column per code point.
//

static size_t output_width(const char *text) {
  size_t width = 0;

  for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
    if ((*s & 0xc0) != 0x80) width++;
  }

  return (width);
}

//
// 'output_format_value()' - Format one JSON value for humans.
//
// Strings as-is, numbers in decimal, booleans as yes/no, null, missing and
// empty values as "-", arrays of scalars comma-separated.  Returns a newly
// allocated, sanitized string (caller frees) or NULL when out of memory.
//

static char *output_format_value(const json_t *value) {
  char *text = NULL;
  size_t i;

  if (!value) return (strdup("-"));  // missing member (json_typeof() needs a value)

  switch (json_typeof(value)) {
    case JSON_STRING:
      text = strdup(*json_string_value(value) ? json_string_value(value) : "-");
      break;

    case JSON_INTEGER:
      if (asprintf(&text, "%" JSON_INTEGER_FORMAT, json_integer_value(value)) < 0) text = NULL;
      break;

    case JSON_REAL:
      if (asprintf(&text, "%g", json_real_value(value)) < 0) text = NULL;
      break;

    case JSON_TRUE:
      text = strdup("yes");
      break;

    case JSON_FALSE:
      text = strdup("no");
      break;

    case JSON_ARRAY:
      if (json_array_size(value) == 0) {
        text = strdup("-");
        break;
      }

      {
        size_t len = 0;

        text = strdup("");

        for (i = 0; text && i < json_array_size(value); i++) {
          char *item = output_format_value(json_array_get(value, i));
          char *grown;

          if (!item || !(grown = realloc(text, len + strlen(item) + 3))) {
            free(item);
            free(text);
            text = NULL;
            break;
          }

          text = grown;
          len += (size_t)snprintf(text + len, strlen(item) + 3, "%s%s", i ? ", " : "", item);
          free(item);
        }
      }
      break;

    case JSON_OBJECT:
      text = json_dumps(value, JSON_COMPACT);
      break;

    default:  // JSON_NULL or missing member
      text = strdup("-");
      break;
  }

  if (text) cli_output_sanitize(text);

  return (text);
}

//
// 'cli_output_member()' - A view key's value in a record.
//
// "a.b" descends into the object in member a; NULL when a member on the
// way is missing or not an object.
//

const json_t *cli_output_member(const json_t *record, const char *key) {
  const char *dot;

  while (record && (dot = strchr(key, '.')) != NULL) {
    char part[128];
    size_t len = (size_t)(dot - key);

    if (len >= sizeof(part)) return (NULL);

    memcpy(part, key, len);
    part[len] = '\0';
    record = json_object_get(record, part);
    key = dot + 1;
  }

  return (json_object_get(record, key));
}

//
// 'cli_output_json()' - Print a JSON document for scripts.
//
// The document is printed indented; NULL (an empty response) prints nothing.
//

void cli_output_json(const json_t *document) {
  if (!document) return;

  json_dumpf(document, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
  putchar('\n');
}

//
// 'cli_output_table()' - Print an array of objects as an aligned table.
//
// Columns are the view's fields that have a header; each line is prefixed
// by indent spaces; the last column is not padded.  Returns
// CLI_STATUS_FAILED when rows is not an array or memory runs out.
//

cli_status_t cli_output_table(cli_t *cli, const json_t *rows, const cli_view_t *view, int indent) {
  cli_status_t status = CLI_STATUS_FAILED;
  const cli_field_t *columns[CLI_OPTION_MAX * 2];
  size_t widths[CLI_OPTION_MAX * 2];
  size_t ncolumns = 0, nrows, nitems = 0, row, col;
  char **cells = NULL;

  if (!json_is_array(rows))
    return (cli_fail(cli, CLI_STATUS_FAILED, "server response has no list of %s",
                     view->list_key ? view->list_key : "items"));

  for (const cli_field_t *field = view->fields; field->key; field++) {
    if (field->header && ncolumns < sizeof(columns) / sizeof(columns[0])) {
      widths[ncolumns] = output_width(field->header);
      columns[ncolumns++] = field;
    }
  }

  nrows = json_array_size(rows);

  if (nrows > 0 && !(cells = calloc(nrows * ncolumns, sizeof(char *)))) goto oom;

  for (row = 0; row < nrows; row++) {
    const json_t *item = json_array_get(rows, row);

    for (col = 0; col < ncolumns; col++, nitems++) {
      if (!(cells[nitems] = output_format_value(cli_output_member(item, columns[col]->key))))
        goto oom;

      size_t width = output_width(cells[nitems]);

      if (width > widths[col]) widths[col] = width;
    }
  }

  for (row = 0; row <= nrows; row++) {
    printf("%*s", indent, "");

    for (col = 0; col < ncolumns; col++) {
      const char *text = row ? cells[(row - 1) * ncolumns + col] : columns[col]->header;

      if (col + 1 < ncolumns)
        printf("%s%*s", text, (int)(widths[col] - output_width(text) + OUTPUT_GAP), "");
      else
        printf("%s\n", text);
    }
  }

  status = CLI_STATUS_OK;
  goto done;

oom:
  cli_fail(cli, CLI_STATUS_FAILED, "out of memory");

done:
  for (size_t i = 0; i < nitems; i++) free(cells[i]);

  free(cells);

  return (status);
}

//
// 'cli_output_record()' - Print one object as aligned "Label: value" lines.
//
// Fields with a nested view print their array of objects as an indented
// table under the label.  Returns CLI_STATUS_FAILED when record is not an
// object or memory runs out.
//

cli_status_t cli_output_record(cli_t *cli, const json_t *record, const cli_view_t *view) {
  size_t width = 0;

  if (!json_is_object(record))
    return (cli_fail(cli, CLI_STATUS_FAILED, "server response is not a JSON object"));

  for (const cli_field_t *field = view->fields; field->key; field++) {
    if (strlen(field->label) > width) width = strlen(field->label);
  }

  for (const cli_field_t *field = view->fields; field->key; field++) {
    const json_t *value = cli_output_member(record, field->key);

    if (field->nested && json_array_size(value) > 0) {
      printf("%s:\n", field->label);

      if (cli_output_table(cli, value, field->nested, 2) != CLI_STATUS_OK)
        return (CLI_STATUS_FAILED);

      continue;
    }

    char *text = output_format_value(value);

    if (!text) return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));

    printf("%s:%*s%s\n", field->label, (int)(width - strlen(field->label) + 1), "", text);
    free(text);
  }

  return (CLI_STATUS_OK);
}

//
// 'cli_output_members()' - Print every member of an object as aligned
//                          "key: value" lines.
//
// For documents whose members the server decides (a payment provider's
// credential description): member first (if present) comes first, the
// rest in the server's order.  Returns CLI_STATUS_FAILED when record is
// not an object or memory runs out.
//

cli_status_t cli_output_members(cli_t *cli, const json_t *record, const char *first) {
  size_t width = 0;
  const char *key;
  const json_t *value;

  if (!json_is_object(record))
    return (cli_fail(cli, CLI_STATUS_FAILED, "server response is not a JSON object"));

  json_object_foreach((json_t *)record, key, value) {
    if (strlen(key) > width) width = strlen(key);
  }

  for (int pass = 0; pass < 2; pass++) {
    json_object_foreach((json_t *)record, key, value) {
      bool is_first = first && !strcmp(key, first);

      if (is_first != (pass == 0)) continue;

      char *name = strdup(key);
      char *text = output_format_value(value);

      if (!name || !text) {
        free(name);
        free(text);
        return (cli_fail(cli, CLI_STATUS_FAILED, "out of memory"));
      }

      cli_output_sanitize(name);
      printf("%s:%*s%s\n", name, (int)(width - strlen(name) + 1), "", text);
      free(name);
      free(text);
    }
  }

  return (CLI_STATUS_OK);
}
