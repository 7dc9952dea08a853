/*
 * console-static.h: the web console's static files (docs/CONSOLE.md §1.2):
 * GET/HEAD / answers <console-dir>/index.html, GET/HEAD /assets/<file>
 * answers <console-dir>/<file>, with the console's security headers, an
 * ETag and 304 on If-None-Match.  <file> is one path segment of
 * [A-Za-z0-9._-] not starting with '.'; files are opened without
 * following a symbolic link, must be regular and at most
 * CONSOLE_FILE_MAX bytes.  Without a console directory (--console-dir ""
 * or missing) the answer is a 404 problem "the web console is not
 * installed".
 */
#ifndef NIMBUS_CONSOLE_STATIC_H
#define NIMBUS_CONSOLE_STATIC_H

#include <stdbool.h>

#include "http.h"

#define CONSOLE_FILE_MAX (16 * 1024 * 1024)

/* The handler routes.c gives "/" and "/assets/..." to. */
extern const http_handler_t console_static_handler;

/* Whether path is one the console serves ("/" or "/assets/" + anything:
 * a bad file name there is the console's 404). */
bool console_static_path(const char *path);

/* Whether name is a file name the console serves: one segment of
 * [A-Za-z0-9._-], not starting with '.', at most 128 characters. */
bool console_static_name_valid(const char *name);

/* The Content-Type for a file name, by extension. */
const char *console_static_content_type(const char *name);

#endif
