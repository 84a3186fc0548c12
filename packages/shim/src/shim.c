/*
 * multus-shim: the CNI binary the container runtime executes. It forwards the call (its whole environment
 * and stdin) to the multus daemon over <daemonSocketDir>/multus.sock and prints the daemon's answer.
 * All logic lives in the daemon; the shim only checks what a CNI plugin must check before doing any work.
 * See ../README.md for the behaviour and the reasons behind each choice.
 *
 * Memory: no heap at all. Every buffer is static with a fixed size, so the worst case is known at link
 * time and pages that a call does not touch cost nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#ifndef SHIM_VERSION
#define SHIM_VERSION "dev"
#endif

#define STDIN_MAX (1024u * 1024u)      /* larger configs are refused (code 7) */
#define REPLY_BODY_MAX (4u * 1024u * 1024u)
#define ENV_MAX 65536                  /* more variables than this are refused (code 4) */
#define DEFAULT_SOCKET_DIR "/run/multus/"
#define SOCKET_NAME "multus.sock"
#define DEFAULT_CNI_VERSION "1.1.0"
#define SUPPORTED_VERSIONS "\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\""
#define POLL_INTERVAL_MS 100

extern char **environ;

enum command { CMD_ADD, CMD_DEL, CMD_CHECK, CMD_GC, CMD_STATUS, CMD_VERSION, CMD_UNKNOWN };

struct env_entry {
  const unsigned char *key, *val;
  size_t klen, vlen, idx;
};

static unsigned char stdin_buf[STDIN_MAX + 1];
static size_t stdin_len;
static char reply_buf[HTTP_MAX_HEAD + REPLY_BODY_MAX + 8192];
static struct env_entry envs[ENV_MAX];
static size_t env_count;
static char cni_version[17] = DEFAULT_CNI_VERSION;
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int64_t overall_deadline;

/* ---- time --------------------------------------------------------------------------------------- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline) {
  int64_t left = deadline - now_ms();
  return left <= 0 ? 0 : (left > 1000000000 ? 1000000000 : (int)left);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static void sleep_until(int64_t when) {
  int ms = remaining_ms(when);
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* A timeout from the environment (tests shorten them); anything but 1-9 digits keeps the default. */
static int64_t env_ms(const char *name, int64_t fallback) {
  const char *v = getenv(name);
  size_t n = v ? strlen(v) : 0;
  if (n == 0 || n > 9) return fallback;
  int64_t ms = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return fallback;
    ms = ms * 10 + (v[i] - '0');
  }
  return ms;
}

/* ---- buffered output to stdout or the socket ------------------------------------------------------ */

struct sink {
  int fd;           /* -1: count only */
  int is_socket;    /* send() with MSG_NOSIGNAL rather than write() */
  int failed;       /* errno of the first failed write */
  size_t n, count;
  int64_t deadline;
  char buf[64 * 1024];
};

/* zero-initialised (bss, not file bytes): main() sets the descriptors */
static struct sink out, counter;

static int write_all(int fd, int is_socket, const char *p, size_t len, int64_t deadline) {
  while (len > 0) {
    ssize_t w = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
    if (w > 0) {
      p += w;
      len -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      int ms = remaining_ms(deadline);
      if (ms == 0 || poll(&pfd, 1, ms) == 0) return ETIMEDOUT;
      continue;
    }
    return w < 0 ? errno : EIO;
  }
  return 0;
}

static void sink_flush(struct sink *s) {
  if (s->fd >= 0 && s->n > 0 && !s->failed) s->failed = write_all(s->fd, s->is_socket, s->buf, s->n, s->deadline);
  s->n = 0;
}

static void sink_put(struct sink *s, const void *p, size_t len) {
  s->count += len;
  if (s->fd < 0) return;
  const char *c = p;
  while (len > 0) {
    if (s->n == sizeof s->buf) sink_flush(s);
    size_t k = sizeof s->buf - s->n < len ? sizeof s->buf - s->n : len;
    memcpy(s->buf + s->n, c, k);
    s->n += k;
    c += k;
    len -= k;
  }
}

static void sink_str(struct sink *s, const char *str) { sink_put(s, str, strlen(str)); }

/* A JSON string literal, quotes included. */
static void sink_json(struct sink *s, const void *p, size_t len) {
  const unsigned char *u = p;
  char tmp[6];
  size_t used;
  sink_put(s, "\"", 1);
  while (len > 0) {
    sink_put(s, tmp, json_escape_unit(u, len, &used, tmp));
    u += used;
    len -= used;
  }
  sink_put(s, "\"", 1);
}

/* ---- CNI errors --------------------------------------------------------------------------------- */

static void print_error(unsigned code, const void *msg, size_t mlen, const char *details) {
  char num[16];
  snprintf(num, sizeof num, "%u", code);
  sink_str(&out, "{\"cniVersion\":");
  sink_json(&out, cni_version, strlen(cni_version));
  sink_str(&out, ",\"code\":");
  sink_str(&out, num);
  sink_str(&out, ",\"msg\":");
  sink_json(&out, msg, mlen);
  if (details && *details) {
    sink_str(&out, ",\"details\":");
    sink_json(&out, details, strlen(details));
  }
  sink_str(&out, "}\n");
  sink_flush(&out);
}

__attribute__((format(printf, 3, 4))) static _Noreturn void fail(unsigned code, const char *msg,
                                                                  const char *fmt, ...) {
  char details[1024] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(details, sizeof details, fmt, ap);
    va_end(ap);
  }
  print_error(code, msg, strlen(msg), details);
  exit(1);
}

/* ---- the environment ----------------------------------------------------------------------------- */

static size_t leading_space(const unsigned char *s, size_t len) {
  uint32_t cp;
  size_t w = utf8_decode(s, len, &cp);
  return (w && rune_is_space(cp)) ? w : 0;
}

static size_t trailing_space(const unsigned char *s, size_t len) {
  for (size_t w = 1; w <= 4 && w <= len; w++) {
    uint32_t cp;
    if (utf8_decode(s + len - w, w, &cp) == w) return rune_is_space(cp) ? w : 0;
  }
  return 0;
}

static int env_cmp(const void *a, const void *b) {
  const struct env_entry *x = a, *y = b;
  size_t n = x->klen < y->klen ? x->klen : y->klen;
  int c = memcmp(x->key, y->key, n);
  if (c != 0) return c;
  if (x->klen != y->klen) return x->klen < y->klen ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Like upstream: every NAME=value with a non-empty NAME, the name trimmed of white space. Sorted by name
 * (as encoding/json orders map keys); of duplicate names the first is kept, the one getenv() sees. */
static void collect_env(void) {
  size_t n = 0;
  for (char **e = environ; e && *e; e++) {
    const unsigned char *kv = (const unsigned char *)*e;
    const unsigned char *eq = (const unsigned char *)strchr(*e, '=');
    if (!eq || eq == kv) continue;
    if (n == ENV_MAX) fail(4, "too many environment variables", "more than %d", ENV_MAX);
    size_t klen = (size_t)(eq - kv), w;
    while ((w = leading_space(kv, klen)) > 0) {
      kv += w;
      klen -= w;
    }
    while ((w = trailing_space(kv, klen)) > 0) klen -= w;
    envs[n] = (struct env_entry){kv, eq + 1, klen, strlen((const char *)eq + 1), n};
    n++;
  }
  qsort(envs, n, sizeof envs[0], env_cmp);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (kept > 0 && envs[kept - 1].klen == envs[i].klen && memcmp(envs[kept - 1].key, envs[i].key, envs[i].klen) == 0)
      continue;
    envs[kept++] = envs[i];
  }
  env_count = kept;
}

/* ---- the request -------------------------------------------------------------------------------- */

/* {"env":{...},"config":"<base64>"}, both omitted when empty, exactly as upstream's encoding/json does. */
static void emit_cni_body(struct sink *s) {
  sink_put(s, "{", 1);
  if (env_count > 0) {
    sink_str(s, "\"env\":{");
    for (size_t i = 0; i < env_count; i++) {
      if (i > 0) sink_put(s, ",", 1);
      sink_json(s, envs[i].key, envs[i].klen);
      sink_put(s, ":", 1);
      sink_json(s, envs[i].val, envs[i].vlen);
    }
    sink_put(s, "}", 1);
  }
  if (stdin_len > 0) {
    if (env_count > 0) sink_put(s, ",", 1);
    sink_str(s, "\"config\":\"");
    char enc[4096];
    for (size_t i = 0; i < stdin_len; i += 3072) {
      size_t k = stdin_len - i < 3072 ? stdin_len - i : 3072;
      sink_put(s, enc, base64_encode(enc, stdin_buf + i, k));
    }
    sink_put(s, "\"", 1);
  }
  sink_put(s, "}", 1);
}

static void emit_request(struct sink *s, const char *path, int cni) {
  size_t length = 4; /* "null", what upstream sends to /readyz and /healthz */
  if (cni) {
    counter.count = 0;
    emit_cni_body(&counter);
    length = counter.count;
  }
  char head[256];
  snprintf(head, sizeof head,
           "POST %s HTTP/1.1\r\nHost: dummy\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
           "Connection: close\r\nX-Multus-Ts-Output: raw\r\n\r\n",
           path, length);
  sink_str(s, head);
  if (cni)
    emit_cni_body(s);
  else
    sink_str(s, "null");
  sink_flush(s);
}

/* ---- one HTTP exchange on the unix socket --------------------------------------------------------- */

enum outcome { XCH_OK, XCH_NO_SOCKET, XCH_REFUSED, XCH_TIMEOUT, XCH_CLOSED, XCH_BAD, XCH_TOO_LARGE };

static char why[512];
static struct sink conn;

static enum outcome exchange(const char *path, int cni, int64_t deadline, struct http_response *r) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(why, sizeof why, "socket: %s", strerror(errno));
    return XCH_REFUSED;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(fd);
    snprintf(why, sizeof why, "connect %s: %s", socket_path, strerror(e));
    return (e == ENOENT || e == ENOTDIR) ? XCH_NO_SOCKET : XCH_REFUSED;
  }
  conn.fd = fd;
  conn.is_socket = 1;
  conn.failed = 0;
  conn.n = conn.count = 0;
  conn.deadline = deadline;
  emit_request(&conn, path, cni);
  /* A daemon may answer and close before reading everything (EPIPE): its answer still counts. */
  if (conn.failed == ETIMEDOUT) {
    close(fd);
    snprintf(why, sizeof why, "timed out sending POST %s to %s", path, socket_path);
    return XCH_TIMEOUT;
  }
  size_t len = 0;
  int eof = 0;
  memset(r, 0, sizeof *r);
  for (;;) {
    if (len == sizeof reply_buf) {
      close(fd);
      snprintf(why, sizeof why, "reply to POST %s is larger than %u bytes", path, REPLY_BODY_MAX);
      return XCH_TOO_LARGE;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int ms = remaining_ms(deadline);
    if (ms == 0 || poll(&pfd, 1, ms) == 0) {
      close(fd);
      snprintf(why, sizeof why, "no complete reply to POST %s from %s in time", path, socket_path);
      return XCH_TIMEOUT;
    }
    ssize_t got = read(fd, reply_buf + len, sizeof reply_buf - len);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      eof = 1; /* a reset counts as a close: whatever arrived before it is judged the same way */
    } else {
      len += (size_t)got;
    }
    int rc = http_parse(reply_buf, &len, eof, REPLY_BODY_MAX, r);
    if (rc == HTTP_NEED_MORE) continue;
    close(fd);
    if (rc == HTTP_DONE) return XCH_OK;
    snprintf(why, sizeof why, "reply to POST %s: %s", path, r->why ? r->why : "invalid");
    if (rc == HTTP_TOO_LARGE) return XCH_TOO_LARGE;
    /* the same bytes without the close were fine: the daemon went away mid-answer, which is transient */
    return eof ? XCH_CLOSED : XCH_BAD;
  }
}

/* Polls `path` every 100 ms until it answers 200 or `deadline`. Returns XCH_OK or the last failure. */
static enum outcome wait_for(const char *path, int64_t deadline, int give_up_without_socket) {
  struct http_response r;
  for (;;) {
    int64_t attempt = now_ms();
    enum outcome o = exchange(path, 0, deadline, &r);
    if (o == XCH_OK && r.status == 200) return XCH_OK;
    if (o == XCH_OK) snprintf(why, sizeof why, "POST %s answered HTTP %d", path, r.status);
    if (o == XCH_NO_SOCKET && give_up_without_socket) return o;
    sleep_until(min64(attempt + POLL_INTERVAL_MS, deadline));
    if (now_ms() >= deadline) return o == XCH_OK ? XCH_BAD : o;
  }
}

/* ---- reading the config ------------------------------------------------------------------------- */

static void read_stdin(void) {
  for (;;) {
    struct pollfd pfd = {0, POLLIN, 0};
    int ms = remaining_ms(overall_deadline);
    if (ms == 0 || poll(&pfd, 1, ms) == 0) fail(5, "error reading from stdin", "timed out");
    ssize_t n = read(0, stdin_buf + stdin_len, sizeof stdin_buf - stdin_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) fail(5, "error reading from stdin", "%s", strerror(errno));
    if (n == 0) break;
    stdin_len += (size_t)n;
    if (stdin_len > STDIN_MAX)
      fail(7, "network configuration too large", "stdin is larger than %u bytes", STDIN_MAX);
  }
}

/* Only two top-level keys matter here. A config that is not one well-formed JSON object is still
 * forwarded untouched (with the defaults): the daemon reports the decode error, in one place. */
static void scan_config(void) {
  struct json_member m[2] = {{.name = "daemonSocketDir"}, {.name = "cniVersion"}};
  char dir[4096];
  long dlen = 0;
  if (json_scan_object(stdin_buf, stdin_len, m, 2) == 0) {
    if (m[1].type == JT_STRING) {
      char v[sizeof cni_version];
      long n = json_string_decode(stdin_buf + m[1].off, m[1].len, v, sizeof v - 1);
      int ok = n > 0;
      for (long i = 0; ok && i < n; i++) ok = (v[i] >= '0' && v[i] <= '9') || v[i] == '.';
      if (ok) {
        memcpy(cni_version, v, (size_t)n);
        cni_version[n] = 0;
      }
    }
    if (m[0].type == JT_STRING) {
      dlen = json_string_decode(stdin_buf + m[0].off, m[0].len, dir, sizeof dir);
      if (dlen < 0 || memchr(dir, 0, (size_t)dlen))
        fail(7, "invalid CNI configuration passed to multus-shim", "daemonSocketDir is not a usable path");
    } else if (m[0].type != JT_NONE && m[0].type != JT_NULL) {
      fail(7, "invalid CNI configuration passed to multus-shim", "daemonSocketDir must be a string");
    }
  }
  if (dlen == 0) {
    dlen = (long)strlen(DEFAULT_SOCKET_DIR);
    memcpy(dir, DEFAULT_SOCKET_DIR, (size_t)dlen);
  }
  int slash = dir[dlen - 1] != '/';
  if ((size_t)dlen + (size_t)slash + strlen(SOCKET_NAME) >= sizeof socket_path)
    fail(7, "invalid CNI configuration passed to multus-shim",
         "daemonSocketDir is too long for a unix socket path (at most %zu bytes with /" SOCKET_NAME ")",
         sizeof socket_path - 1);
  memcpy(socket_path, dir, (size_t)dlen);
  snprintf(socket_path + dlen, sizeof socket_path - (size_t)dlen, "%s" SOCKET_NAME, slash ? "/" : "");
}

/* ---- checks a CNI plugin owes before doing work --------------------------------------------------- */

static void check_env(enum command cmd) {
  /* the CNI spec's required variables per verb, reported in skel's order and wording; "" is missing */
  static const struct {
    const char *name;
    unsigned char needed_by; /* bit per enum command */
  } vars[] = {
      {"CNI_CONTAINERID", 1 << CMD_ADD | 1 << CMD_DEL | 1 << CMD_CHECK},
      {"CNI_NETNS", 1 << CMD_ADD | 1 << CMD_CHECK},
      {"CNI_IFNAME", 1 << CMD_ADD | 1 << CMD_DEL | 1 << CMD_CHECK},
      {"CNI_PATH", 1 << CMD_GC},
  };
  char missing[128] = "";
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i].name);
    if ((vars[i].needed_by >> cmd & 1) && (!v || !*v)) {
      if (*missing) strcat(missing, ",");
      strcat(missing, vars[i].name);
    }
  }
  if (*missing) {
    char msg[192];
    snprintf(msg, sizeof msg, "required env variables [%s] missing", missing);
    fail(4, msg, NULL);
  }
  if (cmd != CMD_ADD && cmd != CMD_DEL && cmd != CMD_CHECK) return;
  const char *id = getenv("CNI_CONTAINERID"), *ifname = getenv("CNI_IFNAME"), *details;
  if (!valid_container_id(id, strlen(id))) {
    print_error(4, "invalid characters in containerID", strlen("invalid characters in containerID"), id);
    exit(1);
  }
  const char *problem = ifname_problem(ifname, strlen(ifname), &details);
  if (problem) fail(4, problem, "%s", details);
}

/* ---- printing the daemon's answer ----------------------------------------------------------------- */

static _Noreturn void print_bytes_and_exit(const char *p, size_t len, int status) {
  sink_put(&out, p, len);
  sink_flush(&out);
  exit(status);
}

static _Noreturn void answer(enum command cmd, const struct http_response *r) {
  const char *body = reply_buf + r->body_off;
  size_t blen = r->body_len;
  if (r->raw_output) { /* our daemon: the body is exactly what the runtime must see */
    if (r->status != 200 && blen == 0)
      fail(999, "invalid reply from the multus daemon", "HTTP %d with an empty body", r->status);
    print_bytes_and_exit(body, blen, r->status == 200 ? 0 : 1);
  }
  /* upstream's daemon: {"Result":{...}} at cniVersion 1.1.0, or an error */
  if (r->status == 200) {
    if (cmd != CMD_ADD) exit(0);
    struct json_member m[1] = {{.name = "Result"}};
    if (json_scan_object((const unsigned char *)body, blen, m, 1) != 0 || m[0].type != JT_OBJECT)
      fail(999, "invalid reply from the multus daemon", "HTTP 200 without a \"Result\" object");
    sink_put(&out, body + m[0].off, m[0].len);
    print_bytes_and_exit("\n", 1, 0);
  }
  struct json_member m[3] = {{.name = "code"}, {.name = "msg"}, {.name = "cniVersion"}};
  int typed = json_scan_object((const unsigned char *)body, blen, m, 3) == 0 && m[0].type == JT_NUMBER &&
              m[1].type == JT_STRING && m[1].len > 2;
  for (size_t i = 0; typed && i < m[0].len; i++) typed = body[m[0].off + i] >= '0' && body[m[0].off + i] <= '9';
  while (blen > 0 && (body[blen - 1] == ' ' || body[blen - 1] == '\t' || body[blen - 1] == '\n' || body[blen - 1] == '\r'))
    blen--;
  if (typed) { /* a CNI error: keep every field, add the cniVersion the spec asks for */
    if (m[2].type == JT_NONE) {
      const char *brace = memchr(body, '{', blen);
      sink_str(&out, "{\"cniVersion\":");
      sink_json(&out, cni_version, strlen(cni_version));
      sink_put(&out, ",", 1);
      blen -= (size_t)(brace + 1 - body);
      body = brace + 1;
    }
    sink_put(&out, body, blen);
    print_bytes_and_exit("\n", 1, 1);
  }
  char details[64];
  snprintf(details, sizeof details, "the multus daemon answered HTTP %d", r->status);
  if (blen == 0) fail(999, details, NULL);
  print_error(999, body, blen, details);
  exit(1);
}

/* ---- main --------------------------------------------------------------------------------------- */

static enum command parse_command(const char *s) {
  static const char *names[] = {"ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"};
  for (int i = 0; i < CMD_UNKNOWN; i++)
    if (strcmp(s, names[i]) == 0) return (enum command)i;
  return CMD_UNKNOWN;
}

/* The runtime may start us with 0-2 closed; a socket must never land on the stdout descriptor. */
static void ensure_std_fds(void) {
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF && open("/dev/null", O_RDWR) != fd) _exit(1);
}

int main(int argc, char **argv) {
  ensure_std_fds();
  signal(SIGPIPE, SIG_IGN);
  int64_t start = now_ms();
  overall_deadline = start + env_ms("MULTUS_SHIM_TIMEOUT_MS", 200000);
  out.fd = 1;
  out.deadline = overall_deadline;
  counter.fd = -1;

  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--v") == 0 ||
                   strcmp(argv[1], "-version") == 0 || strcmp(argv[1], "--version") == 0)) {
    sink_str(&out, "multus-shim: " SHIM_VERSION "\n");
    sink_flush(&out);
    return 0;
  }
  const char *cmd_name = getenv("CNI_COMMAND");
  if (!cmd_name || !*cmd_name) {
    static const char about[] =
        "multus-shim " SHIM_VERSION ": forwards CNI calls to the multus daemon (multus-ts thick plugin)\n"
        "CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n";
    return write_all(2, 0, about, sizeof about - 1, overall_deadline) == 0 ? 0 : 1;
  }
  enum command cmd = parse_command(cmd_name);
  if (cmd == CMD_VERSION) {
    sink_str(&out, "{\"cniVersion\":\"" DEFAULT_CNI_VERSION "\",\"supportedVersions\":[" SUPPORTED_VERSIONS "]}\n");
    sink_flush(&out);
    return out.failed ? 1 : 0;
  }
  read_stdin();
  scan_config();
  if (cmd == CMD_UNKNOWN) {
    char msg[128];
    snprintf(msg, sizeof msg, "unknown CNI_COMMAND: %.100s", cmd_name);
    fail(4, msg, NULL);
  }
  check_env(cmd);
  collect_env();

  struct http_response r;
  enum outcome o;
  /* No socket at all on DEL: multus is gone from this node and there is nothing left to tear down through it;
   * succeed so pods can still be deleted. */
  struct stat st;
  if (cmd == CMD_DEL && lstat(socket_path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return 0;
  /* Optimistic: the request goes straight to /cni, saving a round trip on every call. Only when nobody answers,
   * or our daemon says it is draining (503; it refuses everything but DEL then), do we wait as upstream's shim
   * always does: ADD, CHECK, GC and STATUS on /readyz, DEL on /healthz within its own bound. */
  o = exchange("/cni", 1, overall_deadline, &r);
  if (o == XCH_NO_SOCKET || o == XCH_REFUSED || (o == XCH_OK && r.status == 503)) {
    if (cmd == CMD_DEL) {
      int64_t wait = env_ms("MULTUS_SHIM_DEL_WAIT_MS", 5000);
      o = wait_for("/healthz", min64(now_ms() + wait, overall_deadline), 1);
      if (o == XCH_NO_SOCKET) return 0;
      if (o != XCH_OK) fail(11, "multus daemon is not answering, try again later", "%s", why);
    } else {
      int64_t wait = env_ms("MULTUS_SHIM_READY_TIMEOUT_MS", 60000);
      o = wait_for("/readyz", min64(now_ms() + wait, overall_deadline), 0);
      if (o != XCH_OK) fail(11, "multus daemon is not ready, try again later", "%s", why);
    }
    o = exchange("/cni", 1, overall_deadline, &r);
  }
  switch (o) {
    case XCH_OK: answer(cmd, &r);
    case XCH_NO_SOCKET:
      if (cmd == CMD_DEL) return 0;
      fail(11, "multus daemon went away, try again later", "%s", why);
    case XCH_REFUSED:
    case XCH_CLOSED: fail(11, "multus daemon went away, try again later", "%s", why);
    case XCH_TIMEOUT: fail(11, "timed out waiting for the multus daemon", "%s", why);
    case XCH_TOO_LARGE: fail(999, "reply from the multus daemon is too large", "%s", why);
    case XCH_BAD: fail(999, "invalid reply from the multus daemon", "%s", why);
  }
  return 1;
}

#ifdef SHIM_SANITIZE
/* Sanitizer reports get their own exit codes, so one can never pass for a CNI error (exit 1). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "exitcode=86:detect_leaks=1"; }
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:exitcode=87:print_stacktrace=1"; }
#endif
