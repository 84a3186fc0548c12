/*
 * spawn-proto.h: the frames multus-spawn exchanges with the daemon, as pure functions on caller-owned
 * buffers (no I/O, no allocation), so the request parser can be fuzzed on its own (fuzz/fuzz_spawn.c).
 *
 * All integers are little-endian. Every frame starts with u32 frameLen: the number of bytes that follow it.
 *
 * Request (daemon -> helper, on the helper's stdin):
 *   u32 frameLen
 *   u32 id            chosen by the daemon; echoed in the result
 *   u32 timeoutMs     from the fork; when it passes, SIGKILL to the child's whole process group
 *   u32 maxStdout     bytes kept from the child's stdout; one more byte => SIGKILL to the group
 *   u32 maxStderr     the same for stderr
 *   u32 drainGraceMs  how long stdout/stderr may stay open after the child itself has exited
 *   u16 argc          >= 1 (argv[0] included)
 *   u16 envc
 *   path\0            the file to execve (empty is allowed: execve reports ENOENT)
 *   argv[0..argc)\0   each NUL-terminated
 *   env[0..envc)\0    each NUL-terminated ("NAME=value"; the helper passes them to execve as they are)
 *   u32 stdinLen
 *   stdin bytes       exactly stdinLen, and nothing after them (trailing bytes are an error)
 * Limits: frameLen <= SPAWN_FRAME_MAX; maxStdout, maxStderr <= SPAWN_OUTPUT_MAX.
 *
 * Result (helper -> daemon, on the helper's stdout), one per request, in completion order:
 *   u32 frameLen
 *   u32 id
 *   u8  kind          0 exec failed, 1 exited, 2 killed by a signal
 *   i32 value         errno (kind 0), exit status (kind 1) or signal number (kind 2)
 *   u8  stopped       0 none, 1 timeout, 2 stdout over its cap, 3 stderr over its cap
 *   u32 stdoutLen, stdout bytes (at most maxStdout)
 *   u32 stderrLen, stderr bytes (at most maxStderr)
 *
 * A malformed request is a bug in the daemon: the helper writes one line to stderr and exits with status 2.
 */
#ifndef MULTUS_SPAWN_PROTO_H
#define MULTUS_SPAWN_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SPAWN_FRAME_MAX (64u * 1024u * 1024u)
#define SPAWN_OUTPUT_MAX (256u * 1024u * 1024u)
/* id, timeoutMs, maxStdout, maxStderr, drainGraceMs, argc, envc */
#define SPAWN_REQ_FIXED 24u
/* the fixed part, an empty path, one empty argv string and stdinLen */
#define SPAWN_REQ_MIN (SPAWN_REQ_FIXED + 1u + 1u + 4u)
/* frameLen, id, kind, value, stopped, stdoutLen: what comes before the stdout bytes */
#define SPAWN_RESULT_HEAD 18u
/* the head plus stderrLen: a result frame is this plus the two byte strings */
#define SPAWN_RESULT_OVERHEAD 22u

enum spawn_kind { SPAWN_EXEC_FAILED = 0, SPAWN_EXITED = 1, SPAWN_SIGNALED = 2 };
enum spawn_stop { SPAWN_STOP_NONE = 0, SPAWN_STOP_TIMEOUT = 1, SPAWN_STOP_STDOUT = 2, SPAWN_STOP_STDERR = 3 };

/* A parsed request. The strings point into the frame the parser was given (they are NUL-terminated there). */
struct spawn_req {
  uint32_t id, timeout_ms, max_stdout, max_stderr, drain_grace_ms;
  uint16_t argc, envc;
  const char *path;
  const char *argv0; /* first of argc consecutive NUL-terminated strings */
  const char *env0;  /* first of envc consecutive NUL-terminated strings */
  const uint8_t *stdin_data;
  uint32_t stdin_len;
};

enum spawn_len_rc { SPAWN_LEN_OK = 0, SPAWN_LEN_NEED_MORE = 1, SPAWN_LEN_BAD = -1 };

/* Reads the frameLen prefix at buf[0..avail). OK: *frame_len holds it (the whole frame is 4 + *frame_len
 * bytes); NEED_MORE: fewer than 4 bytes; BAD: below SPAWN_REQ_MIN or above SPAWN_FRAME_MAX (*why says which). */
int spawn_frame_len(const uint8_t *buf, size_t avail, uint32_t *frame_len, const char **why);

/* Parses a request body (the frameLen bytes after the prefix). Returns 0, or -1 with *why set. */
int spawn_req_parse(const uint8_t *body, size_t len, struct spawn_req *req, const char **why);

/* Fills argv[0..argc] and envp[0..envc] (NULL-terminated) from a parsed request. */
void spawn_req_vectors(const struct spawn_req *req, char **argv, char **envp);

/* Encodes a request (the inverse of spawn_req_parse, for tests and the fuzzer). Returns the whole frame's
 * length including the prefix, or 0 when it does not fit in out[0..cap) or breaks a limit. */
size_t spawn_req_encode(uint8_t *out, size_t cap, const struct spawn_req *req);

/* Writes the head of a result frame for the given lengths (frameLen | id | kind | value | stopped |
 * stdoutLen); the caller then appends stdout, the u32 stderrLen (spawn_put_u32) and stderr. The lengths must
 * be at most SPAWN_OUTPUT_MAX each, so frameLen cannot overflow. */
void spawn_result_head(uint8_t head[SPAWN_RESULT_HEAD], uint32_t id, uint8_t kind, int32_t value, uint8_t stopped,
                       uint32_t stdout_len, uint32_t stderr_len);

void spawn_put_u32(uint8_t *p, uint32_t v);
uint32_t spawn_get_u32(const uint8_t *p);

#endif
