/* spawn-proto.c: see spawn-proto.h for the frame layouts. */
#include "spawn-proto.h"

#include <string.h>

void spawn_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

uint32_t spawn_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

int spawn_frame_len(const uint8_t *buf, size_t avail, uint32_t *frame_len, const char **why) {
  if (avail < 4) return SPAWN_LEN_NEED_MORE;
  uint32_t n = spawn_get_u32(buf);
  if (n < SPAWN_REQ_MIN) {
    *why = "frameLen is shorter than the smallest request";
    return SPAWN_LEN_BAD;
  }
  if (n > SPAWN_FRAME_MAX) {
    *why = "frameLen is over the 64 MiB limit";
    return SPAWN_LEN_BAD;
  }
  *frame_len = n;
  return SPAWN_LEN_OK;
}

/* Skips `count` NUL-terminated strings starting at body[*off]; -1 when one runs past len. */
static int skip_strings(const uint8_t *body, size_t len, size_t *off, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *nul = *off < len ? memchr(body + *off, 0, len - *off) : NULL;
    if (!nul) return -1;
    *off = (size_t)(nul - body) + 1;
  }
  return 0;
}

int spawn_req_parse(const uint8_t *body, size_t len, struct spawn_req *req, const char **why) {
  if (len < SPAWN_REQ_MIN || len > SPAWN_FRAME_MAX) {
    *why = "frame length out of range";
    return -1;
  }
  req->id = spawn_get_u32(body);
  req->timeout_ms = spawn_get_u32(body + 4);
  req->max_stdout = spawn_get_u32(body + 8);
  req->max_stderr = spawn_get_u32(body + 12);
  req->drain_grace_ms = spawn_get_u32(body + 16);
  req->argc = get_u16(body + 20);
  req->envc = get_u16(body + 22);
  if (req->argc == 0) {
    *why = "argc is 0 (argv[0] is required)";
    return -1;
  }
  if (req->max_stdout > SPAWN_OUTPUT_MAX || req->max_stderr > SPAWN_OUTPUT_MAX) {
    *why = "maxStdout or maxStderr is over the 256 MiB limit";
    return -1;
  }
  size_t off = SPAWN_REQ_FIXED;
  req->path = (const char *)body + off;
  if (skip_strings(body, len, &off, 1) != 0) {
    *why = "path is not NUL-terminated within the frame";
    return -1;
  }
  req->argv0 = (const char *)body + off;
  if (skip_strings(body, len, &off, req->argc) != 0) {
    *why = "argv runs past the end of the frame";
    return -1;
  }
  req->env0 = (const char *)body + off;
  if (skip_strings(body, len, &off, req->envc) != 0) {
    *why = "env runs past the end of the frame";
    return -1;
  }
  if (len - off < 4) {
    *why = "stdinLen is missing";
    return -1;
  }
  req->stdin_len = spawn_get_u32(body + off);
  off += 4;
  if (req->stdin_len > len - off) {
    *why = "stdin runs past the end of the frame";
    return -1;
  }
  if (req->stdin_len < len - off) {
    *why = "trailing bytes after stdin";
    return -1;
  }
  req->stdin_data = body + off;
  return 0;
}

void spawn_req_vectors(const struct spawn_req *req, char **argv, char **envp) {
  /* The frame was validated: every string is NUL-terminated inside it. execve takes non-const pointers. */
  char *p = (char *)(uintptr_t)req->argv0;
  for (uint32_t i = 0; i < req->argc; i++, p += strlen(p) + 1) argv[i] = p;
  argv[req->argc] = NULL;
  p = (char *)(uintptr_t)req->env0;
  for (uint32_t i = 0; i < req->envc; i++, p += strlen(p) + 1) envp[i] = p;
  envp[req->envc] = NULL;
}

static size_t strings_len(const char *first, uint32_t count) {
  size_t n = 0;
  for (uint32_t i = 0; i < count; i++) n += strlen(first + n) + 1;
  return n;
}

size_t spawn_req_encode(uint8_t *out, size_t cap, const struct spawn_req *req) {
  size_t path_len = strlen(req->path) + 1;
  size_t argv_len = strings_len(req->argv0, req->argc);
  size_t env_len = strings_len(req->env0, req->envc);
  size_t body = SPAWN_REQ_FIXED + path_len + argv_len + env_len + 4 + (size_t)req->stdin_len;
  if (req->argc == 0 || body > SPAWN_FRAME_MAX || body + 4 > cap) return 0;
  spawn_put_u32(out, (uint32_t)body);
  spawn_put_u32(out + 4, req->id);
  spawn_put_u32(out + 8, req->timeout_ms);
  spawn_put_u32(out + 12, req->max_stdout);
  spawn_put_u32(out + 16, req->max_stderr);
  spawn_put_u32(out + 20, req->drain_grace_ms);
  put_u16(out + 24, req->argc);
  put_u16(out + 26, req->envc);
  size_t off = 28;
  memcpy(out + off, req->path, path_len);
  off += path_len;
  memcpy(out + off, req->argv0, argv_len);
  off += argv_len;
  memcpy(out + off, req->env0, env_len);
  off += env_len;
  spawn_put_u32(out + off, req->stdin_len);
  off += 4;
  if (req->stdin_len > 0) memcpy(out + off, req->stdin_data, req->stdin_len);
  return off + req->stdin_len;
}

void spawn_result_head(uint8_t head[SPAWN_RESULT_HEAD], uint32_t id, uint8_t kind, int32_t value, uint8_t stopped,
                       uint32_t stdout_len, uint32_t stderr_len) {
  spawn_put_u32(head, SPAWN_RESULT_OVERHEAD - 4 + stdout_len + stderr_len);
  spawn_put_u32(head + 4, id);
  head[8] = kind;
  spawn_put_u32(head + 9, (uint32_t)value);
  head[13] = stopped;
  spawn_put_u32(head + 14, stdout_len);
}
