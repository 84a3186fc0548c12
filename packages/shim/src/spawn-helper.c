/*
 * multus-spawn: runs processes for the multus daemon, so the daemon never forks itself. Forking a Node.js
 * process copies its page tables on the main thread (milliseconds for a 100 MB daemon, per plugin run); this
 * process is small, so a fork costs a fraction of that, and the daemon only writes and reads pipes.
 *
 * Requests arrive as frames on stdin, results leave as frames on stdout (layouts in spawn-proto.h). One poll()
 * loop does everything: requests, every child's stdin/stdout/stderr, deadlines, reaping (SIGCHLD self-pipe)
 * and the result queue. Each child runs as the leader of its own session with default signal dispositions,
 * an empty signal mask, the caller's environment only, and no descriptor but its three pipes, which is what
 * Node's spawn with `detached: true` gives a child. When stdin ends (the daemon went away or closed it), the
 * helper stops taking requests, lets the running children finish under their own deadlines, flushes the
 * results it can and exits 0. Diagnostics go to stderr; a malformed request is a caller bug: exit 2.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <paths.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn-proto.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1u << 2)
#endif
#define READ_CHUNK 65536u
#define FINAL_FLUSH_MS 10000 /* after stdin EOF, how long undelivered results may wait for a reader */

struct bytes {
  uint8_t *p;
  size_t len, cap;
};

struct child {
  uint32_t id, max_out, max_err, drain_grace_ms;
  pid_t pid;
  int in_fd, out_fd, err_fd, exec_fd; /* -1 once closed */
  uint8_t *stdin_data;
  size_t stdin_len, stdin_off;
  struct bytes out, err;
  int64_t deadline;       /* timeout, from the fork */
  int64_t drain_deadline; /* set when reaped: stdout/stderr are closed after it */
  int reaped, status, exec_errno;
  uint8_t stopped;
};

static struct child **children;
static size_t nchildren, children_cap;
static struct bytes inq, outq;
static size_t inq_start, outq_start;
static int input_open = 1, output_dead;
static int sigchld_pipe[2] = {-1, -1};
static struct rlimit orig_nofile;
static int have_orig_nofile;

/* ---- small things --------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static _Noreturn void die(int status, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(2, line, (size_t)n);
  (void)w;
  exit(status);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) die(1, "multus-spawn: out of memory (%zu bytes)", n);
  return q;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes room for `need` bytes in total, never more than `limit`. */
static void reserve(struct bytes *b, size_t need, size_t limit) {
  if (need <= b->cap) return;
  size_t cap = b->cap < 4096 ? 4096 : b->cap * 2;
  if (cap < need) cap = need;
  if (cap > limit) cap = limit;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}

static void append(struct bytes *b, const void *p, size_t n) {
  if (n == 0) return;
  reserve(b, b->len + n, SIZE_MAX);
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- results -------------------------------------------------------------------------------------- */

static void emit_result(uint32_t id, uint8_t kind, int32_t value, uint8_t stopped, const struct bytes *out,
                        const struct bytes *err) {
  if (output_dead) return;
  uint32_t out_len = out ? (uint32_t)out->len : 0, err_len = err ? (uint32_t)err->len : 0;
  uint8_t head[SPAWN_RESULT_HEAD], len4[4];
  spawn_result_head(head, id, kind, value, stopped, out_len, err_len);
  spawn_put_u32(len4, err_len);
  append(&outq, head, sizeof head);
  if (out_len) append(&outq, out->p, out_len);
  append(&outq, len4, sizeof len4);
  if (err_len) append(&outq, err->p, err_len);
}

static void flush_results(void) {
  while (!output_dead && outq.len > outq_start) {
    ssize_t w = write(1, outq.p + outq_start, outq.len - outq_start);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    if (w <= 0) {
      /* nobody reads our results any more (EPIPE): the children still run to their ends */
      output_dead = 1;
      break;
    }
    outq_start += (size_t)w;
  }
  if (output_dead || outq_start == outq.len) {
    outq.len = outq_start = 0;
  } else if (outq_start > outq.len / 2) {
    memmove(outq.p, outq.p + outq_start, outq.len - outq_start);
    outq.len -= outq_start;
    outq_start = 0;
  }
}

/* ---- one child ------------------------------------------------------------------------------------ */

static _Noreturn void exec_child(const char *path, char **argv, char **envp, const int fds[3], int report) {
  /* Every disposition back to SIG_DFL through the raw system call: libc's sigaction refuses the numbers it
   * reserves (32-34 with musl), and an ancestor that ignored one of them would otherwise pass that on (exec keeps
   * ignored signals). A zeroed kernel sigaction is SIG_DFL, no flags, an empty mask, on every architecture. */
  unsigned long kernel_dfl[4] = {0, 0, 0, 0};
  for (int s = 1; s <= 64; s++) {
    if (s != SIGKILL && s != SIGSTOP) syscall(SYS_rt_sigaction, s, kernel_dfl, NULL, 8);
  }
  setsid();
  if (have_orig_nofile) setrlimit(RLIMIT_NOFILE, &orig_nofile);
  int e = 0;
  for (int i = 0; i < 3 && e == 0; i++) {
    if (dup2(fds[i], i) < 0) e = errno; /* fds[i] >= 3: the helper keeps 0-2 open, so no overlap */
  }
  /* Everything else is O_CLOEXEC already; this also covers anything inherited that was not. */
#ifdef SYS_close_range
  syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
#endif
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (e == 0) {
    execve(path, argv, envp);
    e = errno;
    if (e == ENOEXEC) {
      /* a script without #! runs under /bin/sh, as execvp (and so Node's spawn) does */
      size_t argc = 0;
      while (argv[argc]) argc++;
      char **sh = malloc((argc + 2) * sizeof *sh);
      if (sh) {
        sh[0] = (char *)_PATH_BSHELL;
        sh[1] = (char *)path;
        for (size_t i = 1; i <= argc; i++) sh[i + 1] = argv[i];
        execve(_PATH_BSHELL, sh, envp);
        e = errno;
      }
    }
  }
  ssize_t w = write(report, &e, sizeof e);
  (void)w;
  _exit(127);
}

static void start_child(const struct spawn_req *req) {
  char **argv = xrealloc(NULL, ((size_t)req->argc + 1) * sizeof *argv);
  char **envp = xrealloc(NULL, ((size_t)req->envc + 1) * sizeof *envp);
  spawn_req_vectors(req, argv, envp);
  int p_in[2] = {-1, -1}, p_out[2] = {-1, -1}, p_err[2] = {-1, -1}, p_exec[2] = {-1, -1};
  int e = 0;
  if (pipe2(p_in, O_CLOEXEC) || pipe2(p_out, O_CLOEXEC) || pipe2(p_err, O_CLOEXEC) || pipe2(p_exec, O_CLOEXEC))
    e = errno;
  pid_t pid = -1;
  if (e == 0) {
    /* Blocked across fork, so the child never runs the helper's SIGCHLD handler; it clears the mask itself. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) {
      int fds[3] = {p_in[0], p_out[1], p_err[1]};
      exec_child(req->path, argv, envp, fds, p_exec[1]);
    }
    if (pid < 0) e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
  }
  free(argv);
  free(envp);
  close_fd(&p_in[0]);
  close_fd(&p_out[1]);
  close_fd(&p_err[1]);
  close_fd(&p_exec[1]);
  if (e != 0) {
    close_fd(&p_in[1]);
    close_fd(&p_out[0]);
    close_fd(&p_err[0]);
    close_fd(&p_exec[0]);
    emit_result(req->id, SPAWN_EXEC_FAILED, e, SPAWN_STOP_NONE, NULL, NULL);
    return;
  }
  struct child *c = xrealloc(NULL, sizeof *c);
  memset(c, 0, sizeof *c);
  c->id = req->id;
  c->pid = pid;
  c->max_out = req->max_stdout;
  c->max_err = req->max_stderr;
  c->drain_grace_ms = req->drain_grace_ms;
  c->deadline = now_ms() + req->timeout_ms;
  c->in_fd = p_in[1];
  c->out_fd = p_out[0];
  c->err_fd = p_err[0];
  c->exec_fd = p_exec[0];
  set_nonblock(c->in_fd);
  set_nonblock(c->out_fd);
  set_nonblock(c->err_fd);
  if (req->stdin_len > 0) {
    c->stdin_data = xrealloc(NULL, req->stdin_len);
    memcpy(c->stdin_data, req->stdin_data, req->stdin_len);
    c->stdin_len = req->stdin_len;
  } else {
    close_fd(&c->in_fd);
  }
  if (nchildren == children_cap) {
    children_cap = children_cap ? children_cap * 2 : 64;
    children = xrealloc(children, children_cap * sizeof *children);
  }
  children[nchildren++] = c;
}

/* Kills the child's whole process group (its session); the child alone if the group is not there yet. */
static void kill_group(struct child *c) {
  if (kill(-c->pid, SIGKILL) != 0 && !c->reaped) kill(c->pid, SIGKILL);
}

static void stop_child(struct child *c, uint8_t why) {
  if (c->stopped) return;
  c->stopped = why;
  kill_group(c);
  close_fd(&c->out_fd);
  close_fd(&c->err_fd);
}

static void write_stdin(struct child *c) {
  size_t left = c->stdin_len - c->stdin_off;
  ssize_t w = left > 0 ? write(c->in_fd, c->stdin_data + c->stdin_off, left) : 0;
  if (w < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (w > 0) c->stdin_off += (size_t)w;
  /* EPIPE: the child does not read its stdin (VERSION, an early exit); that is not an error */
  if (w < 0 || c->stdin_off == c->stdin_len) {
    close_fd(&c->in_fd);
    free(c->stdin_data);
    c->stdin_data = NULL;
  }
}

static void read_output(struct child *c, int is_err) {
  int *fd = is_err ? &c->err_fd : &c->out_fd;
  struct bytes *b = is_err ? &c->err : &c->out;
  size_t max = is_err ? c->max_err : c->max_out;
  /* read up to one byte past the cap: that byte is what tells "exactly the cap" from "over it" */
  size_t want = max + 1 - b->len;
  if (want > READ_CHUNK) want = READ_CHUNK;
  reserve(b, b->len + want, max + 1);
  ssize_t n = read(*fd, b->p + b->len, want);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close_fd(fd);
    return;
  }
  b->len += (size_t)n;
  if (b->len > max) {
    b->len = max;
    stop_child(c, is_err ? SPAWN_STOP_STDERR : SPAWN_STOP_STDOUT);
  }
}

static struct child *find_child(pid_t pid) {
  for (size_t i = 0; i < nchildren; i++) {
    if (children[i]->pid == pid) return children[i];
  }
  return NULL;
}

static void reap_children(void) {
  char drain[64];
  while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    struct child *c = find_child(pid);
    if (!c) continue;
    c->reaped = 1;
    c->status = status;
    /* The child is gone, so its end of the exec pipe is closed: this read cannot block. EOF = exec worked. */
    int e;
    if (read(c->exec_fd, &e, sizeof e) == (ssize_t)sizeof e) c->exec_errno = e;
    close_fd(&c->exec_fd);
    c->drain_deadline = now_ms() + c->drain_grace_ms;
  }
}

static void finish_child(struct child *c) {
  if (c->exec_errno != 0) {
    emit_result(c->id, SPAWN_EXEC_FAILED, c->exec_errno, c->stopped, NULL, NULL);
  } else if (WIFSIGNALED(c->status)) {
    emit_result(c->id, SPAWN_SIGNALED, WTERMSIG(c->status), c->stopped, &c->out, &c->err);
  } else {
    emit_result(c->id, SPAWN_EXITED, WEXITSTATUS(c->status), c->stopped, &c->out, &c->err);
  }
  close_fd(&c->in_fd);
  free(c->stdin_data);
  free(c->out.p);
  free(c->err.p);
  free(c);
}

/* Applies deadlines and hands every finished child's result to the queue. */
static void settle_children(int64_t now) {
  size_t kept = 0;
  for (size_t i = 0; i < nchildren; i++) {
    struct child *c = children[i];
    if (now >= c->deadline) stop_child(c, SPAWN_STOP_TIMEOUT);
    if (c->reaped && now >= c->drain_deadline) {
      /* something the child started still holds its pipes: the output so far is all there is */
      close_fd(&c->out_fd);
      close_fd(&c->err_fd);
    }
    if (c->reaped && c->out_fd < 0 && c->err_fd < 0) {
      finish_child(c);
    } else {
      children[kept++] = c;
    }
  }
  nchildren = kept;
}

/* ---- requests ------------------------------------------------------------------------------------- */

static void read_requests(void) {
  uint32_t frame_len = 0;
  const char *why = "";
  size_t avail = inq.len - inq_start;
  /* read at least what the frame at hand still lacks, so a large stdin arrives in few reads */
  size_t want = READ_CHUNK;
  reserve(&inq, inq.len + want, SIZE_MAX);
  if (spawn_frame_len(inq.p + inq_start, avail, &frame_len, &why) == SPAWN_LEN_OK &&
      (size_t)frame_len + 4 > avail + want)
    want = (size_t)frame_len + 4 - avail;
  reserve(&inq, inq.len + want, SIZE_MAX);
  ssize_t n = read(0, inq.p + inq.len, want);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    input_open = 0;
    if (inq.len > inq_start) die(2, "multus-spawn: malformed request frame: input ends inside a frame");
    return;
  }
  inq.len += (size_t)n;
  for (;;) {
    avail = inq.len - inq_start;
    int rc = spawn_frame_len(inq.p + inq_start, avail, &frame_len, &why);
    if (rc == SPAWN_LEN_NEED_MORE) break;
    if (rc == SPAWN_LEN_BAD) die(2, "multus-spawn: malformed request frame: %s", why);
    if (avail - 4 < frame_len) break;
    struct spawn_req req;
    if (spawn_req_parse(inq.p + inq_start + 4, frame_len, &req, &why) != 0)
      die(2, "multus-spawn: malformed request frame: %s", why);
    start_child(&req);
    inq_start += 4 + (size_t)frame_len;
  }
  if (inq_start == inq.len) {
    inq.len = inq_start = 0;
  } else if (inq_start > 0) {
    memmove(inq.p, inq.p + inq_start, inq.len - inq_start);
    inq.len -= inq_start;
    inq_start = 0;
  }
}

/* ---- setup and the loop --------------------------------------------------------------------------- */

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t w = write(sigchld_pipe[1], "c", 1);
  (void)w;
  errno = saved;
}

/* Anything the helper inherited beyond 0-2 must not reach the children. */
static void cloexec_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) return; /* every descriptor the helper itself opens is O_CLOEXEC anyway */
  int self = dirfd(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end == '\0' && fd >= 3 && fd != self) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
}

static void setup(void) {
  for (int fd = 0; fd < 3; fd++) {
    /* keep 0-2 taken, so no pipe of ours can land there and be clobbered by a child's dup2 */
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) die(1, "multus-spawn: cannot open /dev/null");
  }
  cloexec_inherited();
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) die(1, "multus-spawn: pipe: %s", strerror(errno));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, NULL) != 0) die(1, "multus-spawn: sigaction: %s", strerror(errno));
  /* Four descriptors per running child: take the hard limit, and give children back the limit we got. */
  if (getrlimit(RLIMIT_NOFILE, &orig_nofile) == 0) {
    have_orig_nofile = 1;
    struct rlimit raised = orig_nofile;
    raised.rlim_cur = raised.rlim_max;
    setrlimit(RLIMIT_NOFILE, &raised);
  }
  set_nonblock(0);
  set_nonblock(1);
}

enum slot_kind { SLOT_SIGCHLD, SLOT_REQUESTS, SLOT_RESULTS, SLOT_STDIN, SLOT_STDOUT, SLOT_STDERR };
struct slot {
  struct child *c;
  enum slot_kind kind;
};

static struct pollfd *pfds;
static struct slot *slots;
static size_t pfds_cap;

static void add_poll(size_t *n, int fd, short events, struct child *c, enum slot_kind kind) {
  if (*n == pfds_cap) {
    pfds_cap = pfds_cap ? pfds_cap * 2 : 64;
    pfds = xrealloc(pfds, pfds_cap * sizeof *pfds);
    slots = xrealloc(slots, pfds_cap * sizeof *slots);
  }
  pfds[*n] = (struct pollfd){fd, events, 0};
  slots[*n] = (struct slot){c, kind};
  (*n)++;
}

static int poll_timeout(int64_t now, int64_t final_deadline) {
  int64_t next = final_deadline;
  for (size_t i = 0; i < nchildren; i++) {
    struct child *c = children[i];
    if (!c->stopped && (next < 0 || c->deadline < next)) next = c->deadline;
    if (c->reaped && (next < 0 || c->drain_deadline < next)) next = c->drain_deadline;
  }
  if (next < 0) return -1;
  int64_t ms = next - now;
  return ms <= 0 ? 0 : (ms > INT_MAX ? INT_MAX : (int)ms);
}

int main(void) {
  setup();
  int64_t final_deadline = -1;
  for (;;) {
    int64_t now = now_ms();
    settle_children(now);
    flush_results();
    if (!input_open && nchildren == 0) {
      if (output_dead || outq.len == outq_start) return 0;
      if (final_deadline < 0) final_deadline = now + FINAL_FLUSH_MS;
      if (now >= final_deadline) die(0, "multus-spawn: gave up delivering results after stdin closed");
    }
    size_t n = 0;
    add_poll(&n, sigchld_pipe[0], POLLIN, NULL, SLOT_SIGCHLD);
    if (input_open) add_poll(&n, 0, POLLIN, NULL, SLOT_REQUESTS);
    if (!output_dead && outq.len > outq_start) add_poll(&n, 1, POLLOUT, NULL, SLOT_RESULTS);
    for (size_t i = 0; i < nchildren; i++) {
      struct child *c = children[i];
      if (c->in_fd >= 0) add_poll(&n, c->in_fd, POLLOUT, c, SLOT_STDIN);
      if (c->out_fd >= 0) add_poll(&n, c->out_fd, POLLIN, c, SLOT_STDOUT);
      if (c->err_fd >= 0) add_poll(&n, c->err_fd, POLLIN, c, SLOT_STDERR);
    }
    int ready = poll(pfds, (nfds_t)n, poll_timeout(now, final_deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      die(1, "multus-spawn: poll: %s", strerror(errno));
    }
    int requests_ready = 0;
    for (size_t i = 0; i < n; i++) {
      if (!pfds[i].revents) continue;
      struct child *c = slots[i].c;
      /* an earlier event of this round may have closed a descriptor (a cap stops both streams) */
      switch (slots[i].kind) {
        case SLOT_SIGCHLD: reap_children(); break;
        case SLOT_REQUESTS: requests_ready = 1; break;
        case SLOT_RESULTS: break; /* flushed at the top of the loop */
        case SLOT_STDIN:
          if (c->in_fd == pfds[i].fd) write_stdin(c);
          break;
        case SLOT_STDOUT:
          if (c->out_fd == pfds[i].fd) read_output(c, 0);
          break;
        case SLOT_STDERR:
          if (c->err_fd == pfds[i].fd) read_output(c, 1);
          break;
      }
    }
    /* last: new children must not be confused with the descriptors polled this round */
    if (requests_ready) read_requests();
  }
}

#ifdef SPAWN_SANITIZE
/* Sanitizer reports get their own exit codes, so one can never pass for a refused frame (exit 2). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "exitcode=86:detect_leaks=1"; }
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:exitcode=87:print_stacktrace=1"; }
#endif
