/*
 * libFuzzer target for wire.c: the JSON scanner, string decoder and escaper, the identifier rules, base64
 * and the HTTP response parser. Besides "no crash, no out-of-bounds access, no UB" (ASan/UBSan) it checks
 * properties that must hold for every input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define MAX_BODY (64u * 1024u)
#define CHECK(c) \
  do {           \
    if (!(c)) abort(); \
  } while (0)

static char http_a[HTTP_MAX_HEAD + MAX_BODY + 8192];
static char http_b[HTTP_MAX_HEAD + MAX_BODY + 8192];
static char esc[6 * 8192 + 64];
static char dec[8192 * 3 + 64];

static int all_valid_utf8(const uint8_t *d, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t w = utf8_decode(d + i, n - i, &cp);
    if (w == 0) return 0;
    i += w;
  }
  return 1;
}

static void check_json(const uint8_t *data, size_t size) {
  struct json_member m[4] = {{.name = "daemonSocketDir"}, {.name = "cniVersion"}, {.name = "Result"}, {.name = "a"}};
  if (json_scan_object(data, size, m, 4) != 0) return;
  for (size_t i = 0; i < 4; i++) {
    if (m[i].type == JT_NONE) continue;
    CHECK(m[i].off < size && m[i].len > 0 && m[i].len <= size - m[i].off);
    if (m[i].type == JT_STRING) {
      char small[8];
      long n = json_string_decode(data + m[i].off, m[i].len, small, sizeof small);
      CHECK(n <= (long)sizeof small);
      n = json_string_decode(data + m[i].off, m[i].len, dec, sizeof dec);
      CHECK(n >= 0 && (size_t)n <= 3 * m[i].len); /* escapes never grow more than 3x */
    }
    if (m[i].type == JT_OBJECT) { /* a member's object is itself a well-formed object */
      struct json_member none[1] = {{.name = "x"}};
      CHECK(json_scan_object(data + m[i].off, m[i].len, none, 1) == 0);
    }
  }
}

static void check_escape(const uint8_t *data, size_t size) {
  if (size > 8192) return;
  size_t o = 0, used;
  esc[o++] = '"';
  for (size_t i = 0; i < size; i += used) {
    size_t k = json_escape_unit(data + i, size - i, &used, esc + o);
    CHECK(k >= 1 && k <= 6 && used >= 1 && used <= size - i);
    o += k;
  }
  CHECK(o - 1 == json_escaped_len(data, size));
  esc[o++] = '"';
  /* the escaped text is a valid JSON string, and it decodes back to the input when that was UTF-8 */
  long n = json_string_decode((const uint8_t *)esc, o, dec, sizeof dec);
  CHECK(n >= 0);
  if (all_valid_utf8(data, size)) CHECK((size_t)n == size && memcmp(dec, data, size) == 0);
  struct json_member m[1] = {{.name = "a"}};
  static char doc[6 * 8192 + 80];
  memcpy(doc, "{\"a\":", 5);
  memcpy(doc + 5, esc, o);
  doc[5 + o] = '}';
  CHECK(json_scan_object((const uint8_t *)doc, o + 6, m, 1) == 0 && m[0].type == JT_STRING && m[0].len == o);
}

static void check_identifiers(const uint8_t *data, size_t size) {
  size_t n = size < 40 ? size : 40;
  const char *details;
  (void)valid_container_id((const char *)data, n);
  const char *p = ifname_problem((const char *)data, n, &details);
  CHECK(details != NULL);
  if (n == 0 || n > 15) CHECK(p != NULL);
  char b64[BASE64_LEN(64)];
  size_t m = size < 64 ? size : 64;
  CHECK(base64_encode(b64, data, m) == BASE64_LEN(m));
}

static void check_http(const uint8_t *data, size_t size) {
  if (size > sizeof http_a - 1) return;
  /* one shot, with the close */
  struct http_response a = {0}, b = {0};
  size_t alen = size;
  memcpy(http_a, data, size);
  int ra = http_parse(http_a, &alen, 1, MAX_BODY, &a);
  CHECK(ra == HTTP_DONE || ra == HTTP_BAD || ra == HTTP_TOO_LARGE);
  if (ra == HTTP_DONE) CHECK(a.body_off <= alen && a.body_len <= alen - a.body_off && a.body_len <= MAX_BODY);
  /* the same bytes in two pieces, without then with the close: a finished parse must agree */
  size_t split = size ? (size_t)data[0] * 7 % (size + 1) : 0, blen = 0, given = 0;
  int rb = HTTP_NEED_MORE;
  for (int step = 0; step < 3 && rb == HTTP_NEED_MORE; step++) {
    /* append what was not handed over yet at blen: the parser may have compacted chunk framing */
    size_t upto = step == 0 ? split : size;
    memcpy(http_b + blen, data + given, upto - given);
    blen += upto - given;
    given = upto;
    rb = http_parse(http_b, &blen, step == 2, MAX_BODY, &b);
  }
  if (rb == HTTP_DONE) {
    CHECK(ra == HTTP_DONE && a.status == b.status && a.raw_output == b.raw_output && a.body_len == b.body_len);
    CHECK(memcmp(http_a + a.body_off, http_b + b.body_off, a.body_len) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_json(data, size);
  check_escape(data, size);
  check_identifiers(data, size);
  check_http(data, size);
  return 0;
}
