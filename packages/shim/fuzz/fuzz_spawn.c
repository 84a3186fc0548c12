/*
 * libFuzzer target for spawn-proto.c: the input is read as the helper reads its stdin, a stream of request
 * frames. Besides "no crash, no out-of-bounds access, no UB" (ASan/UBSan) it checks, for every frame the
 * parser accepts: every string and the stdin bytes lie inside the frame; encoding the parsed request gives
 * back the same bytes; the same frame one byte shorter is refused (nothing is optional, nothing trails).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spawn-proto.h"

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static int inside(const void *p, const uint8_t *lo, size_t len) {
  const uint8_t *q = p;
  return q >= lo && q < lo + len;
}

static void check_accepted(const uint8_t *frame, size_t frame_len, const struct spawn_req *req) {
  const uint8_t *body = frame + 4;
  size_t len = frame_len - 4;
  CHECK(req->argc >= 1);
  CHECK(req->max_stdout <= SPAWN_OUTPUT_MAX && req->max_stderr <= SPAWN_OUTPUT_MAX);
  CHECK(inside(req->path, body, len) && inside(req->argv0, body, len));
  CHECK(req->stdin_data + req->stdin_len == body + len);

  char **argv = malloc(((size_t)req->argc + 1) * sizeof *argv);
  char **envp = malloc(((size_t)req->envc + 1) * sizeof *envp);
  CHECK(argv && envp);
  spawn_req_vectors(req, argv, envp);
  for (size_t i = 0; i < req->argc; i++) CHECK(inside(argv[i], body, len) && inside(argv[i] + strlen(argv[i]), body, len));
  for (size_t i = 0; i < req->envc; i++) CHECK(inside(envp[i], body, len) && inside(envp[i] + strlen(envp[i]), body, len));
  CHECK(argv[req->argc] == NULL && envp[req->envc] == NULL);
  free(argv);
  free(envp);

  uint8_t *again = malloc(frame_len);
  CHECK(again);
  CHECK(spawn_req_encode(again, frame_len, req) == frame_len);
  CHECK(memcmp(again, frame, frame_len) == 0);
  CHECK(spawn_req_encode(again, frame_len - 1, req) == 0);
  free(again);

  struct spawn_req shorter;
  const char *why = NULL;
  CHECK(spawn_req_parse(body, len - 1, &shorter, &why) == -1 && why != NULL);
}

static void check_result_head(const uint8_t *data, size_t size) {
  if (size < 14) return;
  uint32_t out_len = spawn_get_u32(data) % (SPAWN_OUTPUT_MAX + 1);
  uint32_t err_len = spawn_get_u32(data + 4) % (SPAWN_OUTPUT_MAX + 1);
  uint8_t head[SPAWN_RESULT_HEAD];
  spawn_result_head(head, spawn_get_u32(data + 8), data[12], (int32_t)spawn_get_u32(data + 9), data[13], out_len,
                    err_len);
  CHECK(spawn_get_u32(head) == SPAWN_RESULT_OVERHEAD - 4 + out_len + err_len);
  CHECK(spawn_get_u32(head + 4) == spawn_get_u32(data + 8) && head[8] == data[12] && head[13] == data[13]);
  CHECK(spawn_get_u32(head + 14) == out_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_result_head(data, size);
  size_t off = 0;
  for (;;) {
    uint32_t body_len = 0;
    const char *why = NULL;
    int rc = spawn_frame_len(data + off, size - off, &body_len, &why);
    if (rc == SPAWN_LEN_NEED_MORE) break;
    if (rc == SPAWN_LEN_BAD) {
      CHECK(why != NULL);
      break;
    }
    CHECK(body_len >= SPAWN_REQ_MIN && body_len <= SPAWN_FRAME_MAX);
    if (size - off - 4 < body_len) break;
    /* a private copy, so ASan sees any read past the frame even when more input follows it */
    uint8_t *frame = malloc((size_t)body_len + 4);
    CHECK(frame);
    memcpy(frame, data + off, (size_t)body_len + 4);
    struct spawn_req req;
    if (spawn_req_parse(frame + 4, body_len, &req, &why) == 0) {
      check_accepted(frame, (size_t)body_len + 4, &req);
    } else {
      CHECK(why != NULL);
    }
    free(frame);
    off += 4 + (size_t)body_len;
  }
  return 0;
}
