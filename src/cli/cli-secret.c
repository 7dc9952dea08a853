//
// Secrets for nimbusctl: passwords and PINs from the command line, from a
// file, or typed at the terminal without echo.
//
// Promise: a secret is only ever copied into a caller-supplied fixed-size
// buffer, never printed, and the command-line copy is blanked so that it
// no longer shows in ps(1) once nimbusctl has started.  Callers wipe their
// buffers with cli_secret_wipe() when done.
//

#include "cli-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

//
// 'cli_secret_wipe()' - Erase a secret so the compiler cannot skip it.
//

void cli_secret_wipe(void *secret, size_t size) {
  explicit_bzero(secret, size);
}

//
// 'cli_secret_from_arg()' - Copy a secret given on the command line.
//
// Copies arg into secret (size bytes incl. NUL) and blanks arg in place.
// Fails with CLI_STATUS_USAGE when arg is empty or too long.
//

cli_status_t cli_secret_from_arg(cli_t *cli, char *arg, char *secret, size_t size) {
  size_t len = strlen(arg);

  if (len == 0 || len >= size) {
    cli_secret_wipe(arg, len);
    return (cli_fail(cli, CLI_STATUS_USAGE, "secret must be 1 to %zu bytes long", size - 1));
  }

  memcpy(secret, arg, len + 1);
  cli_secret_wipe(arg, len);

  return (CLI_STATUS_OK);
}

//
// 'cli_secret_from_file()' - Read a secret from the first line of a file.
//
// path "-" means standard input.  The trailing newline (and CR) is removed.
// Reads byte by byte with read(2): no stdio buffer keeps a copy, and a
// later reader of standard input finds the following line untouched.
// Fails with CLI_STATUS_FAILED when the file cannot be read, its first
// line is empty, or it does not fit in size - 1 bytes.
//

cli_status_t cli_secret_from_file(cli_t *cli, const char *path, char *secret, size_t size) {
  cli_status_t status = CLI_STATUS_FAILED;
  int fd;
  size_t len = 0;
  char ch;

  fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
  if (fd < 0) return (cli_fail(cli, CLI_STATUS_FAILED, "%s: %s", path, strerror(errno)));

  for (;;) {
    ssize_t n = read(fd, &ch, 1);

    if (n < 0 && errno == EINTR) continue;

    if (n < 0) {
      cli_fail(cli, CLI_STATUS_FAILED, "%s: %s", path, strerror(errno));
      goto done;
    }

    if (n == 0 || ch == '\n') break;

    if (len + 1 >= size) {
      cli_fail(cli, CLI_STATUS_FAILED, "%s: secret is longer than %zu bytes", path, size - 1);
      goto done;
    }

    secret[len++] = ch;
  }

  if (len > 0 && secret[len - 1] == '\r') len--;

  secret[len] = '\0';

  if (len == 0) {
    cli_fail(cli, CLI_STATUS_FAILED, "%s: no secret on the first line", path);
    goto done;
  }

  status = CLI_STATUS_OK;

done:
  if (status != CLI_STATUS_OK) cli_secret_wipe(secret, size);

  if (fd != STDIN_FILENO) close(fd);

  return (status);
}

//
// 'secret_read_tty()' - Prompt on the terminal and read one line without echo.
//
// Returns the length read, or -1 on error or when the line is too long.
//

static ssize_t secret_read_tty(int tty, const char *prompt, char *secret, size_t size) {
  struct termios saved, quiet;
  bool restore = false;
  ssize_t result = -1;
  size_t len = 0;
  char ch;

  if (write(tty, prompt, strlen(prompt)) < 0) return (-1);

  if (tcgetattr(tty, &saved) == 0) {
    quiet = saved;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    restore = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
  }

  for (;;) {
    ssize_t n = read(tty, &ch, 1);

    if (n < 0 && errno == EINTR) continue;

    if (n <= 0 || ch == '\n') break;

    if (len + 1 >= size) {
      // Too long: keep draining the line but report an error.
      len = size;
      continue;
    }

    secret[len++] = ch;
  }

  if (len < size) {
    secret[len] = '\0';
    result = (ssize_t)len;
  }

  if (restore) tcsetattr(tty, TCSAFLUSH, &saved);

  if (write(tty, "\n", 1) < 0) result = -1;

  return (result);
}

//
// 'cli_secret_prompt()' - Ask for a secret on the controlling terminal.
//
// With confirm, asks twice and requires both answers to match.  Fails with
// CLI_STATUS_USAGE when there is no terminal, the answer is empty or too
// long, or the two answers differ.
//

cli_status_t cli_secret_prompt(cli_t *cli, const char *prompt, bool confirm, char *secret,
                               size_t size) {
  cli_status_t status = CLI_STATUS_USAGE;
  char again[CLI_SECRET_MAX];
  ssize_t len;
  int tty;

  if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
    return (cli_fail(cli, CLI_STATUS_USAGE, "%s: not given, and there is no terminal to ask on",
                     prompt));

  char text[128];

  snprintf(text, sizeof(text), "%s: ", prompt);

  if ((len = secret_read_tty(tty, text, secret, size)) <= 0) {
    cli_fail(cli, CLI_STATUS_USAGE, "%s: must be 1 to %zu bytes long", prompt, size - 1);
    goto done;
  }

  if (confirm) {
    snprintf(text, sizeof(text), "%s (again): ", prompt);

    if (secret_read_tty(tty, text, again, sizeof(again)) != len ||
        memcmp(again, secret, (size_t)len)) {
      cli_fail(cli, CLI_STATUS_USAGE, "%s: the two entries differ", prompt);
      goto done;
    }
  }

  status = CLI_STATUS_OK;

done:
  cli_secret_wipe(again, sizeof(again));

  if (status != CLI_STATUS_OK) cli_secret_wipe(secret, size);

  close(tty);

  return (status);
}
