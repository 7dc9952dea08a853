/*
 * provision-install.c: runs the installer command (PROVISIONING.md §9).
 * fork + execve, never a shell: the arguments reach the program as they
 * are.  stdin is /dev/null, stdout and stderr are pipes read here (stdout
 * for "version=<v>", stderr's first line as a failure's reason), every
 * other descriptor is closed in the child.  The child leads its own
 * process group so that a timeout kills it and whatever it started.
 * An install holds an flock on DIR/install-<step>.lock as descriptor 3
 * for as long as the installer and what it started run, so a connector
 * restarted (kill -9) while it ran waits for that run to end before it
 * asks `query` (pi_wait_previous): the installer is never started twice
 * over a run still going.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provision.h"

extern char **environ;

#define PI_OUT_MAX 65536 /* stdout bytes kept (version= is looked for in them) */
#define PI_REASON_MAX 200

/* environ with NIMBUS_STEP_ID and NIMBUS_PRINTER_URI set (caller frees the array and [0], [1]). */
static char **pi_env(int64_t step_id, const char *printer_uri) {
  size_t n = 0;
  while (environ && environ[n]) n++;
  char **env = calloc(n + 3, sizeof *env);
  if (!env) return NULL;
  size_t k = 0;
  if (asprintf(&env[k++], "NIMBUS_STEP_ID=%lld", (long long)step_id) < 0) env[k - 1] = NULL;
  if (asprintf(&env[k++], "NIMBUS_PRINTER_URI=%s", printer_uri ? printer_uri : "") < 0)
    env[k - 1] = NULL;
  if (!env[0] || !env[1]) {
    free(env[0]);
    free(env[1]);
    free(env);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "NIMBUS_STEP_ID=", 15) &&
        strncmp(environ[i], "NIMBUS_PRINTER_URI=", 19))
      env[k++] = environ[i];
  env[k] = NULL;
  return env;
}

static double pi_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of the last "version=<v>" line of out into version. */
static void pi_version(const char *out, char *version, size_t len) {
  const char *p = out;
  while (p && *p) {
    const char *eol = strchr(p, '\n');
    size_t l = eol ? (size_t)(eol - p) : strlen(p);
    if (l > 8 && !strncmp(p, "version=", 8)) {
      size_t vl = l - 8;
      while (vl > 0 && (p[8 + vl - 1] == '\r' || p[8 + vl - 1] == ' ')) vl--;
      if (vl > 0 && vl < len) {
        memcpy(version, p + 8, vl);
        version[vl] = '\0';
        for (char *q = version; *q; q++)
          if ((unsigned char)*q < 0x20) *q = '?';
      }
    }
    p = eol ? eol + 1 : NULL;
  }
}

bool pi_wait_previous(const char *lock_path, int timeout_s) {
  int fd = open(lock_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return true; /* never started */
  double deadline = pi_now() + timeout_s;
  bool free_now;
  while (!(free_now = flock(fd, LOCK_EX | LOCK_NB) == 0) && pi_now() < deadline) usleep(100000);
  close(fd);
  return free_now;
}

void pi_run(const char *installer, const char *const *args, bool is_query, int64_t step_id,
            const char *printer_uri, int timeout_s, const char *lock_path, pi_outcome_t *out) {
  memset(out, 0, sizeof *out);
  out->exit_code = -1;
  out->result = PI_TRANSIENT;
  if (!installer || !*installer) {
    out->result = PI_FAILED;
    snprintf(out->reason, sizeof out->reason, "no installer configured");
    return;
  }
  size_t na = 0;
  while (args[na]) na++;
  const char **argv = calloc(na + 2, sizeof *argv);
  char **env = pi_env(step_id, printer_uri);
  int opipe[2] = {-1, -1}, epipe[2] = {-1, -1}, lockfd = -1;
  if (lock_path) { /* held by the installer (and what it starts) until they end */
    lockfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
      snprintf(out->reason, sizeof out->reason, "an earlier installer run still holds %s",
               lock_path);
      goto done;
    }
  }
  if (!argv || !env || pipe2(opipe, O_CLOEXEC) != 0 || pipe2(epipe, O_CLOEXEC) != 0) {
    snprintf(out->reason, sizeof out->reason, "cannot start the installer: %s", strerror(errno));
    goto done;
  }
  argv[0] = installer;
  for (size_t i = 0; i < na; i++) argv[i + 1] = args[i];

  pid_t pid = fork();
  if (pid < 0) {
    snprintf(out->reason, sizeof out->reason, "cannot start the installer: %s", strerror(errno));
    goto done;
  }
  if (pid == 0) { /* the child: only async-signal-safe calls from here */
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(opipe[1], 1) < 0 || dup2(epipe[1], 2) < 0)
      _exit(127);
    if (lockfd >= 0 && (lockfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lockfd, 3)) < 0)
      _exit(127); /* the lock stays with the installer (descriptor 3, not close-on-exec) */
    close_range(lockfd >= 0 ? 4 : 3, ~0U, 0);
    execve(installer, (char *const *)argv, env);
    static const char msg[] = "cannot run the installer\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(127);
  }
  close(opipe[1]);
  close(epipe[1]);
  opipe[1] = epipe[1] = -1;
  if (lockfd >= 0) close(lockfd); /* only the installer's copy holds the lock now */
  lockfd = -1;

  char *obuf = calloc(1, PI_OUT_MAX + 1), ebuf[PI_REASON_MAX + 1] = "";
  size_t olen = 0, elen = 0;
  bool eline_done = false, timed_out = false;
  double deadline = pi_now() + timeout_s;
  struct pollfd pf[2] = {{opipe[0], POLLIN, 0}, {epipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    double left = deadline - pi_now();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int r = poll(pf, 2, left > 1 ? 1000 : (int)(left * 1000) + 1);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char tmp[4096];
      ssize_t n = read(pf[i].fd, tmp, sizeof tmp);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(pf[i].fd);
        pf[i].fd = -1;
        open_fds--;
        continue;
      }
      if (i == 0 && obuf) {
        size_t k = (size_t)n < PI_OUT_MAX - olen ? (size_t)n : PI_OUT_MAX - olen;
        memcpy(obuf + olen, tmp, k);
        olen += k;
      } else if (i == 1 && !eline_done) {
        for (ssize_t j = 0; j < n && !eline_done; j++) {
          if (tmp[j] == '\n' || elen == PI_REASON_MAX)
            eline_done = true;
          else
            ebuf[elen++] = (unsigned char)tmp[j] < 0x20 ? ' ' : tmp[j];
        }
      }
    }
  }
  int status = 0;
  if (timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  } else {
    /* the pipes closed: the installer is ending; wait for it within the limit */
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (pi_now() >= deadline) {
        timed_out = true;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        break;
      }
      usleep(20000);
    }
  }
  if (timed_out) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    kill(-pid, SIGKILL); /* anything it left behind in its group */
  }
  for (int i = 0; i < 2; i++)
    if (pf[i].fd >= 0) close(pf[i].fd);
  opipe[0] = epipe[0] = -1;
  ebuf[elen] = '\0';
  if (obuf) {
    obuf[olen] = '\0';
    pi_version(obuf, out->version, sizeof out->version);
  }
  free(obuf);

  if (timed_out) {
    out->result = PI_TRANSIENT;
    snprintf(out->reason, sizeof out->reason, "installer timed out after %d s", timeout_s);
  } else if (WIFEXITED(status)) {
    out->exit_code = WEXITSTATUS(status);
    if (out->exit_code == 0)
      out->result = PI_OK;
    else if (is_query && out->exit_code == 1)
      out->result = PI_NOT_INSTALLED;
    else if (!is_query && out->exit_code == 75)
      out->result = PI_TRANSIENT;
    else
      out->result = PI_FAILED;
    if (out->result == PI_TRANSIENT || out->result == PI_FAILED)
      snprintf(out->reason, sizeof out->reason, "%s",
               elen                          ? ebuf
               : out->result == PI_TRANSIENT ? "installer: temporary failure"
                                             : "installer failed");
    if (out->result == PI_FAILED && !elen)
      snprintf(out->reason, sizeof out->reason, "installer exited with %d", out->exit_code);
  } else {
    out->result = PI_TRANSIENT;
    snprintf(out->reason, sizeof out->reason, "installer killed by signal %d",
             WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }

done:
  if (lockfd >= 0) close(lockfd);
  for (int i = 0; i < 2; i++) {
    if (opipe[i] >= 0) close(opipe[i]);
    if (epipe[i] >= 0) close(epipe[i]);
  }
  if (env) {
    free(env[0]);
    free(env[1]);
  }
  free(env);
  free(argv);
}
